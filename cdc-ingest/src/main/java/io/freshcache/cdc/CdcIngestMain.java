package io.freshcache.cdc;

import io.freshcache.protocol.ServiceEndpoints;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cdc-ingest service: reads {@link CdcIngestConfig#fromEnv()}, starts {@link CdcIngest}, and
 * runs until SIGTERM (or SIGINT), then stops gracefully.
 *
 * <p>Exit codes: 1 if startup failed or the engine stopped with an error (a supervisor should
 * restart the service: uncommitted changes are captured again); 2 for an invalid configuration.
 * After SIGTERM the JVM exits with 143 (128 + 15) once the shutdown hook has closed the capture,
 * as every JVM does. Startup and configuration errors are logged as one line with the cause and
 * the fix, without a stack trace.
 */
public final class CdcIngestMain {
  private static final Logger LOG = LoggerFactory.getLogger(CdcIngestMain.class);

  private CdcIngestMain() {}

  /**
   * Runs the service.
   *
   * @param args ignored; the configuration comes from environment variables
   */
  public static void main(String[] args) {
    int code = run();
    if (code != 0) {
      System.exit(code);
    }
  }

  private static int run() {
    CdcIngestConfig config;
    FreshnessHeartbeat.Settings beat;
    try {
      config = CdcIngestConfig.fromEnv();
      beat = FreshnessHeartbeat.Settings.fromEnv(io.freshcache.protocol.config.EnvSettings.system());
    } catch (IllegalArgumentException e) {
      LOG.error("Invalid configuration: {}", e.getMessage());
      return 2;
    }
    if (beat.enabled()) {
      try {
        FreshnessHeartbeat.prepare(config, beat.table());
        if (!config.tables().contains(beat.table())) {
          config = config.toBuilder().rule(FreshnessHeartbeat.rule(beat.table())).build();
        }
      } catch (java.sql.SQLException e) {
        LOG.warn("Freshness heartbeat off: cannot prepare {} ({}); create it as docs/operations.md shows,"
            + " or set CDC_HEARTBEAT_INTERVAL_MS=0", beat.table(), e.getMessage());
        beat = new FreshnessHeartbeat.Settings(java.time.Duration.ZERO, beat.table());
      }
    }
    LOG.info("Configuration: {}", config);

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    CdcIngest ingest;
    try {
      ingest = CdcIngest.start(config, registry);
    } catch (CdcStartupException e) {
      LOG.error("Cannot start: {}", e.getMessage());
      return 1;
    }
    ServiceEndpoints http = null;
    if (config.httpPort() > 0) {
      try {
        http = ServiceEndpoints.start(config.httpPort(), "cdc", ingest::health, registry::scrape);
        LOG.info("Serving /health and /metrics on port {}", http.port());
      } catch (IOException e) {
        LOG.error("Cannot serve /health and /metrics on port {}: {}", config.httpPort(),
            e.getMessage());
        ingest.close();
        return 1;
      }
    }
    ServiceEndpoints endpoints = http;
    FreshnessHeartbeat heartbeat = null;
    if (beat.enabled()) {
      try {
        heartbeat = FreshnessHeartbeat.start(config, beat, registry);
      } catch (java.sql.SQLException e) {
        LOG.warn("Freshness heartbeat off: {}", e.getMessage());
      }
    }
    FreshnessHeartbeat beating = heartbeat;

    AtomicBoolean stopping = new AtomicBoolean();
    Thread hook = new Thread(() -> {
      stopping.set(true);
      LOG.info("Shutdown requested: stopping");
      if (beating != null) {
        beating.close();
      }
      ingest.close();
      if (endpoints != null) {
        endpoints.close();
      }
      LOG.info("Stopped");
    }, "freshcache-cdc-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    try {
      if (!ingest.awaitStreaming(config.startupTimeout())) {
        LOG.error("Not streaming after {} ms: is PostgreSQL slow to start the replication?",
            config.startupTimeout().toMillis());
        return stopAfterFailure(ingest, hook, stopping);
      }
      LOG.info("Streaming changes of {} from slot {} to topic {}", config.tables(),
          config.slotName(), config.topic());
      while (!ingest.awaitTermination(Duration.ofMinutes(1))) {
        LOG.debug("Running: {} events produced", ingest.eventsProduced());
      }
    } catch (CdcEngineException | CdcStartupException e) {
      LOG.error("Cannot start: {}", e.getMessage());
      return stopAfterFailure(ingest, hook, stopping);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return stopAfterFailure(ingest, hook, stopping);
    }

    if (stopping.get()) {
      return 0; // the hook is closing; the JVM waits for it to finish
    }
    LOG.error("Exiting after the engine stopped: {}", ingest.failure().map(Throwable::getMessage)
        .orElse("without an error, but no shutdown was requested"));
    return stopAfterFailure(ingest, hook, stopping);
  }

  private static int stopAfterFailure(CdcIngest ingest, Thread hook, AtomicBoolean stopping) {
    if (stopping.get()) {
      return 0;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      return 0; // shutdown already in progress: the hook closes
    }
    ingest.close();
    return 1;
  }
}
