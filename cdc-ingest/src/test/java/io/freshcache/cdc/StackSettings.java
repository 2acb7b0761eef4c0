package io.freshcache.cdc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.ThreadLocalRandom;

/** Connection settings of the local stack, from the variables `dev/stack env` exports. */
final class StackSettings {
  static final String PG_HOST = env("PG_HOST", "127.0.0.1");
  static final int PG_PORT = Integer.parseInt(env("PG_PORT", "5433"));
  static final String PG_DB = env("PG_DB", "shop");
  static final String PG_USER = env("PG_USER", "freshcache");
  static final String PG_PASSWORD = env("PG_PASSWORD", "freshcache");
  static final String KAFKA = env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
  static final String TOPIC = "freshcache.changes";

  private StackSettings() {}

  static String env(String name, String defaultValue) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? defaultValue : v;
  }

  /** A unique suffix, so concurrent runs use their own slot, publication and connector. */
  static String uniqueSuffix() {
    return Long.toString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 44), 36);
  }

  /** Settings for the stack's PostgreSQL and Kafka, with a slot and publication of their own. */
  static CdcIngestConfig.Builder config(String suffix, Path dir) {
    return CdcIngestConfig.builder()
        .dbHost(PG_HOST).dbPort(PG_PORT).database(PG_DB).user(PG_USER).password(PG_PASSWORD)
        .kafkaBootstrapServers(KAFKA)
        .connectorName("pg-it-" + suffix)
        .slotName("fc_it_" + suffix)
        .publicationName("fc_it_" + suffix)
        .offsetFile(dir.resolve("offsets.dat"))
        .topic(TOPIC);
  }

  static Connection connect() throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://" + PG_HOST + ':' + PG_PORT + '/' + PG_DB,
        PG_USER, PG_PASSWORD);
  }
}
