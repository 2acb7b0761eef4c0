package io.freshcache.cdc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.ThreadLocalRandom;

/** Connection settings of the local stack, from the variables `dev/stack env` exports. */
public final class StackSettings {
  static final String PG_HOST = env("PG_HOST", "127.0.0.1");
  static final int PG_PORT = Integer.parseInt(env("PG_PORT", "5433"));
  static final String PG_DB = env("PG_DB", "shop");
  static final String PG_USER = env("PG_USER", "freshcache");
  static final String PG_PASSWORD = env("PG_PASSWORD", "freshcache");
  static final String KAFKA = env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
  static final String TOPIC = "freshcache.changes";
  /** The ITs' own table, so the demo's public.products and other tests' tables stay untouched. */
  static final String PRODUCTS = "public.cdc_it_products";
  static final String PRODUCT_KEYS = "cdcit:product:{id}";

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
        .topic(TOPIC)
        .httpPort(0)
        .rules(TableRule.parseAll(PRODUCTS + "=" + PRODUCT_KEYS));
  }

  /** Creates the ITs' tables if missing: products (single key), lines (composite key). */
  static void createTables() throws SQLException {
    try (Connection c = connect(); java.sql.Statement st = c.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS public.cdc_it_products (id bigint PRIMARY KEY,"
          + " name text, price numeric, version bigint)");
      st.execute("ALTER TABLE public.cdc_it_products REPLICA IDENTITY FULL");
      st.execute("CREATE TABLE IF NOT EXISTS public.cdc_it_lines (order_id bigint, line_no int,"
          + " qty int, row_version bigint, PRIMARY KEY (order_id, line_no))");
      st.execute("ALTER TABLE public.cdc_it_lines REPLICA IDENTITY FULL");
    }
  }

  /** Drops a replication slot once its walsender has gone, and the publication. */
  public static void dropSlotAndPublication(String slot, String publication) throws SQLException {
    try (Connection c = connect()) {
      org.awaitility.Awaitility.await("slot " + slot + " inactive")
          .atMost(java.time.Duration.ofSeconds(30)).until(() -> !slotActive(c, slot));
      try (java.sql.PreparedStatement ps = c.prepareStatement(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, slot);
        ps.executeQuery().close();
      }
      c.createStatement().execute("DROP PUBLICATION IF EXISTS " + publication);
    }
  }

  public static boolean slotActive(Connection c, String slot) throws SQLException {
    try (java.sql.PreparedStatement ps = c.prepareStatement(
        "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  static Connection connect() throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://" + PG_HOST + ':' + PG_PORT + '/' + PG_DB,
        PG_USER, PG_PASSWORD);
  }
}
