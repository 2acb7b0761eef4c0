package io.freshcache.testcontainers;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.testcontainers.containers.ContainerLaunchException;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;

/**
 * Waits until {@code GET http://host:port/path} answers 200. Testcontainers' own HTTP wait uses
 * mapped ports, which a container on the host's network does not have.
 */
final class HostHttpWaitStrategy extends AbstractWaitStrategy {
  private final URI uri;

  HostHttpWaitStrategy(String host, int port, String path) {
    this.uri = URI.create("http://" + host + ":" + port + path);
  }

  @Override
  protected void waitUntilReady() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + startupTimeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!waitStrategyTarget.isRunning()) {
        throw new ContainerLaunchException("container stopped before " + uri + " answered 200 (last: " + last + ")");
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
        last = r.statusCode() + " " + r.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ContainerLaunchException("interrupted while waiting for " + uri, e);
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ContainerLaunchException("interrupted while waiting for " + uri, e);
      }
    }
    throw new ContainerLaunchException(uri + " did not answer 200 within " + startupTimeout + " (last: " + last + ")");
  }
}
