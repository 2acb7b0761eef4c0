package io.freshcache.cdc.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.freshcache.cdc.CdcHealth;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code GET /health} and {@code GET /metrics} on the JDK's HTTP server, served by one daemon
 * thread: {@code /health} answers 200 with {@code {"status":"UP",...}} while the capture is up and
 * 503 otherwise; {@code /metrics} is the Prometheus text exposition. Both are cheap (the slot is
 * queried at most once a second), so one thread is enough, and an idle server costs nothing.
 */
public final class HttpEndpoints implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private HttpEndpoints(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Starts serving on {@code port} on all interfaces.
   *
   * @param port the port; 0 for any free one (see {@link #port()})
   * @param health answers {@code /health}; called on the server thread
   * @param registry the meters {@code /metrics} exposes
   * @return the running server; close it to stop
   * @throws IOException if the port cannot be bound
   */
  public static HttpEndpoints start(int port, Supplier<CdcHealth> health,
      PrometheusMeterRegistry registry) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 16);
    server.createContext("/health", ex -> {
      CdcHealth h = health.get();
      respond(ex, h.up() ? 200 : 503, "application/json", h.json());
    });
    server.createContext("/metrics", ex -> respond(ex, 200,
        "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "freshcache-cdc-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.start();
    return new HttpEndpoints(server, executor);
  }

  /** @return the bound port */
  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int status, String type, String body)
      throws IOException {
    try (ex) {
      if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", type);
      if ("HEAD".equals(ex.getRequestMethod())) {
        ex.sendResponseHeaders(status, -1);
        return;
      }
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
