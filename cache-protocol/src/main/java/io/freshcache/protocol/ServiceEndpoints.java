package io.freshcache.protocol;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The {@code GET /health} and {@code GET /metrics} endpoints every freshcache service (cdc-ingest,
 * cache-writer) serves, on the JDK's HTTP server with one daemon thread. {@code /health} answers
 * 200 with the service's {@link Health#json()} while it is {@link Health#up()} and 503 otherwise;
 * {@code /health/ready} and {@code /health/live} answer the same way by {@link Health#ready()}
 * and {@link Health#live()} (Kubernetes-style readiness and liveness probes);
 * {@code /metrics} is the Prometheus text exposition. Applications embedding client-lib do not
 * need this class.
 *
 * <p>Both answers are cheap (the services cache their probes for about a second), so one thread
 * is enough and an idle server costs nothing. Other methods than GET and HEAD get 405.
 */
public final class ServiceEndpoints implements AutoCloseable {
  /** What a service reports on {@code /health}. */
  public interface Health {
    /** @return whether the service can do its job; {@code /health} answers 200 if so, else 503 */
    boolean up();

    /**
     * @return whether the service should get work now; {@code /health/ready} answers 200 if so,
     *     else 503. By default {@link #up()}.
     */
    default boolean ready() {
      return up();
    }

    /**
     * @return whether the process is worth keeping (a restart would not help otherwise);
     *     {@code /health/live} answers 200 if so, else 503. By default {@link #up()}.
     */
    default boolean live() {
      return up();
    }

    /** @return the answer body, a JSON object such as {@code {"status":"UP",...}} */
    String json();
  }

  private final HttpServer server;
  private final ExecutorService executor;

  private ServiceEndpoints(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Starts serving on {@code port} on all interfaces.
   *
   * @param port the port; 0 for any free one (see {@link #port()})
   * @param service names the server thread, {@code freshcache-<service>-http}
   * @param health answers {@code /health}, {@code /health/ready} and {@code /health/live}; called
   *     on the server thread
   * @param metrics the Prometheus text exposition for {@code /metrics}, e.g. a Micrometer
   *     {@code PrometheusMeterRegistry::scrape}; called on the server thread
   * @return the running server; close it to stop
   * @throws IOException if the port cannot be bound
   */
  public static ServiceEndpoints start(int port, String service, Supplier<? extends Health> health,
      Supplier<String> metrics) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 16);
    server.createContext("/health", ex -> {
      Health h = health.get();
      respond(ex, h.up() ? 200 : 503, "application/json", h.json());
    });
    server.createContext("/health/ready", ex -> {
      Health h = health.get();
      respond(ex, h.ready() ? 200 : 503, "application/json", h.json());
    });
    server.createContext("/health/live", ex -> {
      Health h = health.get();
      respond(ex, h.live() ? 200 : 503, "application/json", h.json());
    });
    server.createContext("/metrics", ex -> respond(ex, 200,
        "text/plain; version=0.0.4; charset=utf-8", metrics.get()));
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "freshcache-" + service + "-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.start();
    return new ServiceEndpoints(server, executor);
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

  /** Stops the server at once and its thread. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
