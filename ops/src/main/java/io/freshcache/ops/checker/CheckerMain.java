package io.freshcache.ops.checker;

import io.freshcache.ops.KeyRules;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.OpsRedis;
import io.freshcache.protocol.ServiceEndpoints;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link ConsistencyChecker} configured from the environment ({@link CheckerConfig}, and
 * {@code REDIS_*}, {@code KAFKA_BOOTSTRAP_SERVERS}, {@code JDBC_URL}/{@code PG_*},
 * {@code CDC_RULES_FILE}/{@code CDC_RULES} as the services read them), with {@code /health},
 * {@code /health/ready}, {@code /health/live} and {@code /metrics} on {@code CHECKER_HTTP_PORT}.
 * Logs a summary line every minute. Stops on SIGTERM or Ctrl-C. Exits with status 2 on a
 * configuration error, 3 when Redis cannot be reached at start, 1 when it cannot start otherwise.
 */
public final class CheckerMain {

  private CheckerMain() {}

  /**
   * @param args none are read
   * @throws InterruptedException if interrupted while running
   */
  public static void main(String[] args) throws InterruptedException {
    if (System.getProperty("logback.configurationFile") == null) {
      // its own: the libraries' jars (cdc-ingest) bring a logback.xml of theirs
      System.setProperty("logback.configurationFile", "io/freshcache/ops/checker/logback-checker.xml");
    }
    Map<String, String> env = System.getenv();
    CheckerConfig config;
    io.freshcache.protocol.config.RedisConnectionConfig redisSettings;
    OpsKafka kafka;
    OpsDb.Settings db;
    KeyRules rules;
    try {
      config = CheckerConfig.fromEnv(env);
      redisSettings = OpsRedis.settings(env);
      kafka = OpsKafka.fromEnv(env);
      db = OpsDb.Settings.fromEnv(env);
      rules = KeyRules.load(null, env);
    } catch (IllegalArgumentException e) {
      System.err.println("freshcache-checker: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    Logger log = LoggerFactory.getLogger(CheckerMain.class);
    log.info("starting freshcache-checker with {}; {}; kafka {}; {}; rules {}", config, redisSettings,
        kafka.bootstrapServers(), db, rules.names());
    OpsRedis redis;
    try {
      redis = OpsRedis.connect(redisSettings);
    } catch (OpsRedis.UnreachableException | io.freshcache.redis.RedisSetupException e) {
      System.err.println("freshcache-checker: " + e.getMessage());
      System.exit(3);
      return;
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    ConsistencyChecker checker = ConsistencyChecker.start(config, redis, kafka, db, rules, registry);
    ServiceEndpoints http = null;
    if (config.httpPort() > 0) {
      try {
        http = ServiceEndpoints.start(config.httpPort(), "checker", checker::health, registry::scrape);
        log.info("serving /health, /health/ready, /health/live and /metrics on port {}", http.port());
      } catch (IOException e) {
        log.error("cannot serve HTTP on port {} (CHECKER_HTTP_PORT): {}", config.httpPort(), e.toString());
        checker.close();
        redis.close();
        System.exit(1);
        return;
      }
    }
    CountDownLatch stopped = new CountDownLatch(1);
    ServiceEndpoints endpoints = http;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutdown requested");
      checker.close();
      redis.close();
      if (endpoints != null) {
        endpoints.close();
      }
      stopped.countDown();
    }, "freshcache-checker-shutdown"));
    String m = config.windowLabels().get(0);
    while (!stopped.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
      log.info("checks within {}: {} consistent, {} inconsistent; confirmed violations {}; nines within {} {}; pending {}",
          m, checker.checks(m, "consistent"), checker.checks(m, "inconsistent"), checker.violations("confirmed"),
          m, String.format(java.util.Locale.ROOT, "%.2f", checker.nines(m)), checker.health().pending());
    }
  }
}
