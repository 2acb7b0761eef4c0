package io.freshcache.writer;

import io.freshcache.protocol.ServiceEndpoints;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one cache-writer worker configured from the environment (see {@link CacheWriterConfig}),
 * with {@code /health}, {@code /health/ready}, {@code /health/live} and {@code /metrics} on
 * {@code WRITER_HTTP_PORT} (0: none).
 * Stops gracefully on SIGTERM or Ctrl-C: the batch in flight is applied and committed first.
 * Exits with status 2 on a configuration error (including a Redis that answers but does not match
 * the configuration — its kind, the credentials, TLS or ACL permissions — and a sink rule that does not fit its
 * table), 1 when the worker stops by a fatal error or cannot start.
 */
public final class CacheWriterMain {
  private static final Logger log = LoggerFactory.getLogger(CacheWriterMain.class);

  private CacheWriterMain() {}

  /**
   * Runs the worker until it stops; see the class documentation for the exit statuses.
   *
   * @param args none are read; configuration comes from the environment
   * @throws InterruptedException if the main thread is interrupted while waiting for the worker
   *     to stop
   */
  public static void main(String[] args) throws InterruptedException {
    CacheWriterConfig config;
    try {
      config = CacheWriterConfig.fromEnv();
    } catch (IllegalArgumentException e) {
      System.err.println("cache-writer: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    log.info("starting cache-writer with {}", config);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    CacheWriter writer;
    try {
      writer = CacheWriter.start(config, registry);
    } catch (IllegalArgumentException e) {
      System.err.println("cache-writer: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    } catch (io.freshcache.redis.RedisSetupException e) {
      // Redis answered but does not match the configuration (kind, credentials, TLS, ACL)
      System.err.println("cache-writer: " + e.getMessage());
      System.exit(2);
      return;
    } catch (RuntimeException e) {
      log.error("cache-writer could not start", e);
      System.exit(1);
      return;
    }
    ServiceEndpoints http = null;
    if (config.httpPort() > 0) {
      try {
        http = ServiceEndpoints.start(config.httpPort(), "writer", writer::health, registry::scrape);
        log.info("serving /health, /health/ready, /health/live and /metrics on port {}", http.port());
      } catch (IOException e) {
        log.error("cannot serve HTTP on port {}: {}", config.httpPort(), e.toString());
        writer.close();
        System.exit(1);
        return;
      }
    }
    ServiceEndpoints endpoints = http;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutdown requested");
      writer.close();
      if (endpoints != null) {
        endpoints.close();
      }
    }, "freshcache-writer-shutdown"));
    while (!writer.awaitStop(Duration.ofSeconds(60))) {
      log.info("applied {} stale {} dead-lettered {} retries {} notices {} lag {}", writer.applied(),
          writer.stale(), writer.deadLettered(), writer.retries(), writer.noticesPublished(),
          writer.consumerLag());
    }
    if (writer.failure() != null) {
      System.exit(1);
    }
  }
}
