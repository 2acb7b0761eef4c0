package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.RulesFile;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.Versioned;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.freshcache.writer.WriterMetricNames;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code TRUNCATE} on real parts: PostgreSQL → cdc-ingest (one namespace invalidation per
 * partition) → Kafka → cache-writer (evicts every key of the entity, publishes a namespace notice)
 * → client-lib with a near cache. The table uses a row-version column, whose versions start again
 * after the truncate: the re-inserted row must be read and cached at its new, lower version.
 */
class TruncateEndToEndIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final String JDBC = EndToEndIT.JDBC;
  static final String USER = EndToEndIT.USER;
  static final String PASSWORD = EndToEndIT.PASSWORD;
  static final String SLOT = "trunc_" + RUN;
  static final String TABLE = "public.trunc_items_" + RUN;
  static final String ENTITY = "item" + RUN;
  static final int ROWS = 50;

  static CdcIngest cdc;
  static CacheWriter writer;
  static CacheWriterConfig writerConfig;
  static CacheClient client;

  @BeforeAll
  static void start() throws Exception {
    sql("CREATE TABLE " + TABLE + " (id bigint PRIMARY KEY, name text NOT NULL, version bigint NOT NULL)");
    sql("ALTER TABLE " + TABLE + " REPLICA IDENTITY FULL");
    // the truncate setting is spelled out although it is the default: this test is about it
    cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder()
        .connectorName("trunc-" + RUN).slotName(SLOT).publicationName(SLOT).httpPort(0)
        .rules(RulesFile.parse("tables:\n  " + TABLE + ":\n    key: e2e:" + ENTITY + ":{id}\n"
            + "    version: column:version\n    truncate: invalidate_namespace\n", "test"))
        .build());
    assertThat(cdc.awaitStreaming(Duration.ofSeconds(60))).as("cdc-ingest streaming").isTrue();
    // the topics are shared and persistent: the writer sees only what is produced from now on
    EndToEndSupport.Started started = EndToEndSupport.startWriterAtTheEnd("trunc-" + RUN);
    writer = started.writer();
    writerConfig = started.config();
    client = EndToEndSupport.patientClient();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      EndToEndIT.stopPath(SLOT, client, writer, cdc);
    } finally {
      sql("DROP TABLE IF EXISTS " + TABLE);
    }
  }

  static void sql(String statement) throws SQLException {
    EndToEndIT.sql(statement);
  }

  /** The loader: the row's name at its row version, or null (version -1) if there is no row. */
  static Versioned<String> load(long id, AtomicInteger loads) throws SQLException {
    loads.incrementAndGet();
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD);
        PreparedStatement ps = c.prepareStatement("SELECT name, version FROM " + TABLE + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Versioned.of(rs.getString(1), rs.getLong(2)) : Versioned.unversioned(null);
      }
    }
  }

  static String key(long id) {
    return "e2e:" + ENTITY + ":" + id;
  }

  static String read(CachePolicy policy, long id, AtomicInteger loads) {
    return client.getOrLoadVersioned(key(id), String.class, policy, () -> load(id, loads));
  }

  @Test
  void aTruncateDropsTheWholeEntityFromRedisAndTheNearCacheAndTheTableStartsAgain() throws Exception {
    // near-cache entries outlive every wait below, so only a notice can drop them before the end
    CachePolicy policy = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true)
        .nearCacheTtl(Duration.ofMinutes(10)).build();
    await().atMost(EndToEndSupport.PATIENCE)
        .until(() -> client.meters().get("cache.near.subscribed").gauge().value() == 1);
    for (int id = 1; id <= ROWS; id++) {
      sql("INSERT INTO " + TABLE + " VALUES (" + id + ", 'old-" + id + "', 5)");
    }
    // the inserts' invalidations must have landed, or they would evict the fills below: each
    // row's fence is at the row version of its insert
    try (EndToEndSupport.Fences fences = new EndToEndSupport.Fences()) {
      await("every insert applied").atMost(EndToEndSupport.PATIENCE).pollInterval(Duration.ofMillis(20))
          .until(() -> IntStream.rangeClosed(1, ROWS).allMatch(id -> Long.valueOf(5).equals(fences.version(key(id)))));
    }
    AtomicInteger loads = new AtomicInteger();
    for (int id = 1; id <= ROWS; id++) {
      assertThat(read(policy, id, loads)).isEqualTo("old-" + id);
      assertThat(read(policy, id, loads)).isEqualTo("old-" + id);
    }
    assertThat(loads).as("one load per row, then hits").hasValue(ROWS);

    long namespacesBefore = namespaceInvalidations();
    long producedBefore = cdc.eventsProduced();
    sql("TRUNCATE " + TABLE);
    sql("INSERT INTO " + TABLE + " VALUES (1, 'new-1', 1)"); // row versions start again
    long t0 = System.nanoTime();

    await().atMost(EndToEndSupport.PATIENCE).pollInterval(Duration.ofMillis(5))
        .until(() -> "new-1".equals(read(policy, 1, new AtomicInteger())));
    System.out.printf("truncate: commit -> re-inserted row read after %.1f ms%n", (System.nanoTime() - t0) / 1e6);
    int partitions = partitions(CdcIngestConfig.DEFAULT_TOPIC);
    await().atMost(EndToEndSupport.PATIENCE).until(() -> namespaceInvalidations() >= namespacesBefore + partitions);
    // and the re-insert's own invalidation is applied: nothing is left to evict what we read next.
    // Kafka has acknowledged every copy of the truncate and the re-insert once this connector
    // counts them; the writer has applied and noticed them once its group commits past them
    await("truncate and re-insert in Kafka").atMost(EndToEndSupport.PATIENCE)
        .until(() -> cdc.eventsProduced() >= producedBefore + partitions + 1);
    EndToEndSupport.awaitCommittedPast(writerConfig, EndToEndSupport.endOffsets(writerConfig));
    // the client takes the namespace notices on its own pub/sub thread: no truncated row may be
    // left in its near cache (row 1 may be, at its new value)
    await("namespace notice taken by the near cache").atMost(EndToEndSupport.PATIENCE)
        .until(() -> client.meters().get("cache.near.size").gauge().value() <= 1);

    AtomicInteger after = new AtomicInteger();
    for (int id = 2; id <= ROWS; id++) {
      assertThat(read(policy, id, after)).as("row %d is gone", id).isNull();
    }
    assertThat(after).as("every truncated row was read from the database again").hasValue(ROWS - 1);
    // the new row at version 1 is cached although the old fence said 5: the fence went with it
    AtomicInteger again = new AtomicInteger();
    assertThat(read(policy, 1, again)).isEqualTo("new-1");
    int loaded = again.get();
    assertThat(read(policy, 1, again)).isEqualTo("new-1");
    assertThat(again).as("the re-inserted row is cached again").hasValue(loaded);
  }

  static int partitions(String topic) throws Exception {
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
        org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cdc.config().kafka().bootstrapServers()))) {
      return admin.describeTopics(java.util.List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    }
  }

  static long namespaceInvalidations() {
    return (long) writer.meterRegistry().get(WriterMetricNames.NAMESPACE_INVALIDATIONS).functionCounter().count();
  }
}
