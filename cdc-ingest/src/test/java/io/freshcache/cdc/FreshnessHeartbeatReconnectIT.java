package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The heartbeat survives the loss of its database connection (a PostgreSQL restart, a killed
 * backend): the next beat connects again. Regression: it kept its first connection forever, so
 * after a PostgreSQL restart every beat failed until cdc-ingest itself restarted.
 */
class FreshnessHeartbeatReconnectIT {

  @Test
  void aKilledConnectionIsReplacedAndTheBeatsGoOn() throws Exception {
    CdcIngestConfig config = CdcIngestConfig.fromEnv();
    String table = "public.fc_heartbeat_it_" + UUID.randomUUID().toString().substring(0, 8);
    FreshnessHeartbeat.prepare(config, table);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (FreshnessHeartbeat beat = FreshnessHeartbeat.start(config,
        new FreshnessHeartbeat.Settings(Duration.ofMillis(100), table), registry)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> registry.counter(FreshnessHeartbeat.BEATS).count() >= 2);
      try (Connection admin = DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password());
          Statement s = admin.createStatement()) {
        s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            + " WHERE application_name = 'freshcache-cdc-heartbeat' AND pid <> pg_backend_pid()");
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> registry.counter(FreshnessHeartbeat.FAILURES).count() >= 1);
      double after = registry.counter(FreshnessHeartbeat.BEATS).count();
      await().atMost(Duration.ofSeconds(10)).until(() -> registry.counter(FreshnessHeartbeat.BEATS).count() >= after + 3);
    } finally {
      try (Connection admin = DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password());
          Statement s = admin.createStatement()) {
        s.execute("DROP TABLE IF EXISTS " + table);
      }
    }
    assertThat(registry.counter(FreshnessHeartbeat.FAILURES).count()).isGreaterThanOrEqualTo(1);
  }
}
