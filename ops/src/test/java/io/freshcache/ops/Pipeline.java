package io.freshcache.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.TableRule;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The real CDC path for the ops tests, in-process: cdc-ingest with its own connector, slot and
 * publication for one rule, and a cache-writer of its own group that starts at the end of the
 * shared topics. The only place the ops tests touch the services' configuration classes.
 */
public final class Pipeline implements AutoCloseable {
  public static final Duration PATIENCE = Duration.ofSeconds(60);

  final String name;
  final CdcIngest cdc;
  final CacheWriterConfig writerConfig;
  private CacheWriter writer;

  private Pipeline(String name, CdcIngest cdc, CacheWriterConfig writerConfig, CacheWriter writer) {
    this.name = name;
    this.cdc = cdc;
    this.writerConfig = writerConfig;
    this.writer = writer;
  }

  /**
   * @param name connector, slot, publication and writer group name; lower-case letters, digits, _
   * @param rule the one table rule
   */
  public static Pipeline start(String name, TableRule rule) throws Exception {
    CdcIngest cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder().connectorName(name).slotName(name)
        .publicationName(name).httpPort(0).rules(List.of(rule)).build());
    assertThat(cdc.awaitStreaming(PATIENCE)).as("cdc-ingest streaming").isTrue();
    CacheWriterConfig wc = CacheWriterConfig.fromEnv().toBuilder().httpPort(0).sink(null).build().withGroupId(name);
    startGroupAtTheEnd(wc.groupId(), wc.topics());
    return new Pipeline(name, cdc, wc, CacheWriter.start(wc));
  }

  /** Stops the writer (a fault: events are no longer applied). */
  public void stopWriter() {
    if (writer != null) {
      writer.close();
      writer = null;
    }
  }

  @Override
  public void close() throws Exception {
    stopWriter();
    cdc.close();
    dropSlot(name);
  }

  /** Commits the new group at the end of the topics, so it sees only what is produced from now on. */
  public static void startGroupAtTheEnd(String group, List<String> topics) throws Exception {
    try (Admin admin = OpsKafka.fromEnv(System.getenv()).admin(10_000)) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (var d : admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values()) {
        for (var p : d.partitions()) {
          latest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
        }
      }
      Map<TopicPartition, OffsetAndMetadata> start = new HashMap<>();
      admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS)
          .forEach((tp, info) -> start.put(tp, new OffsetAndMetadata(info.offset())));
      admin.alterConsumerGroupOffsets(group, start).all().get(30, TimeUnit.SECONDS);
    }
  }

  public static Connection db() throws SQLException {
    OpsDb.Settings s = OpsDb.Settings.fromEnv(System.getenv());
    return DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password());
  }

  /** Creates {@code public.<table>} (id, name, price_cents, version), REPLICA IDENTITY FULL, rows 1..rows. */
  public static void createTable(String table, int rows) throws SQLException {
    try (Connection c = db(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE public." + table + " (id bigint PRIMARY KEY, name text NOT NULL,"
          + " price_cents bigint NOT NULL, version bigint NOT NULL DEFAULT 1)");
      s.execute("ALTER TABLE public." + table + " REPLICA IDENTITY FULL");
      s.execute("INSERT INTO public." + table + " SELECT i, 'item ' || i, 100 * i, 1 FROM generate_series(1, "
          + rows + ") i");
    }
  }

  public static void dropTable(String table) throws SQLException {
    try (Connection c = db(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS public." + table);
    }
  }

  /** Raises the row's price and version; @return the new version */
  public static long update(String table, long id) throws SQLException {
    try (Connection c = db(); PreparedStatement ps = c.prepareStatement("UPDATE public." + table
        + " SET price_cents = price_cents + 1, version = version + 1 WHERE id = ? RETURNING version")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).as("row %s of %s", id, table).isTrue();
        return rs.getLong(1);
      }
    }
  }

  public static void sql(String statement) throws SQLException {
    try (Connection c = db(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  private static void dropSlot(String slot) throws SQLException {
    try (Connection c = db()) {
      await("slot " + slot + " released").atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).until(() -> {
        try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
          ps.setString(1, slot);
          try (ResultSet rs = ps.executeQuery()) {
            return !rs.next() || !rs.getBoolean(1);
          }
        }
      });
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, slot);
        ps.executeQuery().close();
      }
      try (Statement s = c.createStatement()) {
        s.execute("DROP PUBLICATION IF EXISTS " + slot);
      }
    }
  }
}
