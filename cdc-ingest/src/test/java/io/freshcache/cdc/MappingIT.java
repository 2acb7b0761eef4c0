package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.Codecs;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules from a YAML file on the real stack: upserts in several codecs, composite keys, both
 * version sources, a column added while streaming, truncates, and offsets kept in Kafka. Events go
 * to a topic of the test's own (three partitions), so that a namespace invalidation's copies can be
 * counted per partition and none of these events reaches the writer on freshcache.changes.
 */
class MappingIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  private String suffix;
  private String topic;
  private long base;
  private final List<CdcIngest> started = new ArrayList<>();
  private final List<String> dropTables = new ArrayList<>();
  private EventTail tail;

  @BeforeAll
  static void tables() throws SQLException {
    StackSettings.createTables();
  }

  @BeforeEach
  void setUp() throws Exception {
    suffix = StackSettings.uniqueSuffix();
    topic = "cdc-it-" + suffix;
    base = ThreadLocalRandom.current().nextLong(1_000_000_000L, 1_000_000_000_000L);
    EventTail.createTopic(topic, 3);
    tail = new EventTail(topic);
  }

  @AfterEach
  void tearDown() throws Exception {
    started.forEach(CdcIngest::close);
    tail.close();
    sql("DELETE FROM public.cdc_it_products WHERE id BETWEEN ? AND ?", base, base + 1000);
    sql("DELETE FROM public.cdc_it_lines WHERE order_id BETWEEN ? AND ?", base, base + 1000);
    for (String t : dropTables) {
      sql("DROP TABLE IF EXISTS " + t);
    }
    StackSettings.dropSlotAndPublication("fc_it_" + suffix, "fc_it_" + suffix);
    EventTail.deleteTopic(topic);
  }

  private CdcIngestConfig.Builder config(String rulesYaml) {
    return StackSettings.config(suffix, dir).offsetStorage(CdcIngestConfig.OffsetStorage.KAFKA)
        .topic(topic).rules(RulesFile.parse(rulesYaml, "test"));
  }

  private CdcIngest start(CdcIngestConfig c) throws InterruptedException {
    CdcIngest ingest = CdcIngest.start(c);
    started.add(ingest);
    assertThat(ingest.awaitStreaming(Duration.ofSeconds(60))).as("streaming").isTrue();
    return ingest;
  }

  static void sql(String sql, Object... args) throws SQLException {
    try (Connection c = StackSettings.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> payload(CacheEvent e) {
    return Codecs.byName(e.codec()).decode(e.payload(), Map.class);
  }

  @Test
  void upsertsWithCompositeKeysAndBothVersionSources() throws Exception {
    start(config("""
        tables:
          public.cdc_it_products:
            key: cdcit:product:{id}
            operation: upsert
            codec: json
            ttl: catalog
            fieldNames: camelCase
            columns: [id, name, price]
          public.cdc_it_lines:
            key: cdcit:line:{order_id}:{line_no}
            operation: upsert
            codec: cbor
            ttl: 60000
            schema: 2
            version: column:row_version
        """).build());
    long p = base + 1;
    sql("INSERT INTO public.cdc_it_products (id, name, price) VALUES (?, 'lamp', 19.90)", p);
    sql("UPDATE public.cdc_it_products SET price = 17.50 WHERE id = ?", p);
    sql("DELETE FROM public.cdc_it_products WHERE id = ?", p);
    sql("INSERT INTO public.cdc_it_lines (order_id, line_no, qty, row_version) VALUES (?, 2, 5, 7)", base);
    sql("UPDATE public.cdc_it_lines SET qty = 6, row_version = 8 WHERE order_id = ? AND line_no = 2", base);
    sql("DELETE FROM public.cdc_it_lines WHERE order_id = ?", base);

    List<CacheEvent> events = tail.await(6, r -> true, WAIT).stream().map(EventTail.Received::event)
        .collect(Collectors.toList());
    assertThat(publishedTables()).as("only the mapped tables are captured")
        .containsExactlyInAnyOrder("public.cdc_it_products", "public.cdc_it_lines");

    List<CacheEvent> product = events.stream().filter(e -> e.key().toString().equals("cdcit:product:" + p))
        .collect(Collectors.toList());
    assertThat(product).extracting(CacheEvent::op)
        .containsExactly(CacheEvent.Op.UPSERT, CacheEvent.Op.UPSERT, CacheEvent.Op.DELETE);
    assertThat(product).extracting(CacheEvent::version).isSorted().doesNotHaveDuplicates()
        .allSatisfy(v -> assertThat(v).isPositive());
    assertThat(product.get(0).version()).isEqualTo(product.get(0).source().lsn());
    assertThat(payload(product.get(0))).containsExactly(Map.entry("id", p), Map.entry("name", "lamp"),
        Map.entry("price", "19.90"));
    assertThat(payload(product.get(1))).containsEntry("price", "17.50");
    assertThat(product.get(0).ttlMs()).isEqualTo(3_600_000);
    assertThat(product.get(0).codec()).isEqualTo("json");

    List<CacheEvent> line = events.stream().filter(e -> e.key().toString().equals("cdcit:line:" + base + ":2"))
        .collect(Collectors.toList());
    assertThat(line).extracting(e -> e.op() + "@" + e.version())
        .containsExactly("UPSERT@7", "UPSERT@8", "DELETE@8");
    assertThat(line.get(0).codec()).isEqualTo("cbor");
    assertThat(line.get(0).schema()).isEqualTo(2);
    assertThat(line.get(0).ttlMs()).isEqualTo(60_000);
    assertThat(payload(line.get(1))).containsEntry("qty", 6).containsEntry("line_no", 2)
        .containsEntry("row_version", 8);
  }

  @Test
  void aColumnAddedWhileStreamingDoesNotStopTheService() throws Exception {
    String table = "public.cdc_it_schema_" + suffix;
    dropTables.add(table);
    sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, a text)");
    CdcIngest ingest = start(config("tables:\n  " + table + ":\n    key: cdcit:schema:{id}\n"
        + "    operation: upsert\n    ttl: 1000\n").build());
    sql("INSERT INTO " + table + " (id, a) VALUES (1, 'x')");
    tail.await(1, r -> true, WAIT);

    sql("ALTER TABLE " + table + " ADD COLUMN b int");
    sql("INSERT INTO " + table + " (id, a, b) VALUES (2, 'y', 42)");
    sql("UPDATE " + table + " SET b = 43 WHERE id = 1");

    List<CacheEvent> events = tail.await(3, r -> true, WAIT).stream().map(EventTail.Received::event)
        .collect(Collectors.toList());
    assertThat(payload(events.get(0))).containsOnlyKeys("id", "a");
    assertThat(events.subList(1, 3)).extracting(e -> e.key() + " " + payload(e).get("b"))
        .containsExactlyInAnyOrder("cdcit:schema:2 42", "cdcit:schema:1 43");
    assertThat(ingest.isRunning()).isTrue();
  }

  @Test
  void aTruncateBecomesOneNamespaceInvalidationPerPartitionOrIsIgnored() throws Exception {
    String byDefault = "public.cdc_it_trunc_" + suffix;
    String ignored = "public.cdc_it_trunc_ign_" + suffix;
    dropTables.add(byDefault);
    dropTables.add(ignored);
    sql("CREATE TABLE " + byDefault + " (id bigint PRIMARY KEY)");
    sql("CREATE TABLE " + ignored + " (id bigint PRIMARY KEY)");
    CdcIngest ingest = start(config("tables:\n"
        + "  " + byDefault + ":\n    key: cdcit:trunc:{id}\n"
        + "  " + ignored + ":\n    key: cdcit:ign:{id}\n    truncate: ignore\n").build());
    sql("INSERT INTO " + byDefault + " VALUES (1)");
    sql("INSERT INTO " + ignored + " VALUES (1)");
    sql("TRUNCATE " + ignored);
    sql("TRUNCATE " + byDefault);
    sql("INSERT INTO " + byDefault + " VALUES (2)");

    List<EventTail.Received> all = tail.await(6, r -> true, WAIT);

    List<EventTail.Received> namespace = all.stream().filter(r -> r.key().equals("cdcit:trunc:*"))
        .collect(Collectors.toList());
    assertThat(namespace).extracting(EventTail.Received::partition).containsExactlyInAnyOrder(0, 1, 2);
    assertThat(namespace).allSatisfy(r -> {
      CacheEvent e = r.event();
      assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE_NAMESPACE);
      assertThat(e.key().toString()).isEqualTo("cdcit:trunc:*");
      assertThat(e.key().namespaceName()).isEqualTo("cdcit:trunc");
      assertThat(e.payload()).isNull();
      assertThat(e.source().table()).isEqualTo(byDefault);
      assertThat(e.source().db()).isEqualTo("shop");
      assertThat(e.version()).as("an LSN-versioned rule sends the truncate's LSN")
          .isEqualTo(e.source().lsn()).isPositive();
    });
    assertThat(namespace).extracting(r -> r.event().version()).as("one truncate, copied").containsOnly(
        namespace.get(0).event().version());
    CacheEvent insertBefore = event(all, "cdcit:trunc:1");
    CacheEvent insertAfter = event(all, "cdcit:trunc:2");
    assertThat(namespace.get(0).event().source().lsn())
        .isGreaterThan(insertBefore.source().lsn()).isLessThan(insertAfter.source().lsn());
    assertThat(all).extracting(EventTail.Received::key).doesNotContain("cdcit:ign:*");
    assertThat(all).extracting(EventTail.Received::key).containsOnlyOnce("cdcit:ign:1");
    assertThat(ingest.meterRegistry().get(CdcMetricNames.TRUNCATES_IGNORED).functionCounter().count()).isEqualTo(1);
    org.awaitility.Awaitility.await().atMost(WAIT).untilAsserted(() -> // counted after the acks
        assertThat(ingest.meterRegistry().find(CdcMetricNames.EVENTS_PRODUCED).tag("table", byDefault)
            .tag("op", "invalidate_namespace").counter()).isNotNull()
            .satisfies(c -> assertThat(c.count()).isEqualTo(3)));
    assertThat(ingest.isRunning()).isTrue();
  }

  /**
   * Issue 8, item 4: an upsert rule on a row whose event exceeds Kafka's request size used to
   * fail its send, stop the engine, and fail again on the same change after every restart.
   */
  @Test
  void aRowTooBigToCarryBecomesAnInvalidationAndLaterChangesStillFlow() throws Exception {
    CdcIngest ingest = start(config("""
        tables:
          public.cdc_it_products:
            key: cdcit:product:{id}
            operation: upsert
            codec: json
            ttl: 60000
            columns: [id, name, version]
            version: column:version
        """).build());
    long big = base + 1;
    long small = base + 2;
    StringBuilder text = new StringBuilder(2 << 20);
    ThreadLocalRandom random = ThreadLocalRandom.current();
    while (text.length() < 2 << 20) {
      text.append((char) ('a' + random.nextInt(26)));
    }
    sql("INSERT INTO public.cdc_it_products (id, name, version) VALUES (?, ?, 1)", big,
        text.toString());
    sql("INSERT INTO public.cdc_it_products (id, name, version) VALUES (?, 'small', 1)", small);
    sql("UPDATE public.cdc_it_products SET name = 'shrunk', version = 2 WHERE id = ?", big);

    List<EventTail.Received> all = tail.await(3, r -> true, WAIT);
    List<CacheEvent> bigEvents = all.stream().filter(r -> r.key().equals("cdcit:product:" + big))
        .map(EventTail.Received::event).collect(Collectors.toList());
    assertThat(bigEvents).extracting(e -> e.op() + "@" + e.version())
        .containsExactly("INVALIDATE@1", "UPSERT@2");
    assertThat(bigEvents.get(0).payload()).isNull();
    assertThat(bigEvents.get(0).created()).as("the invalidation keeps the insert's flag").isTrue();
    assertThat(payload(bigEvents.get(1))).containsEntry("name", "shrunk");
    assertThat(event(all, "cdcit:product:" + small).op()).isEqualTo(CacheEvent.Op.UPSERT);
    assertThat(ingest.meterRegistry().get(CdcMetricNames.UPSERTS_UNCARRIED).tag("reason", "size")
        .functionCounter().count()).isEqualTo(1);
    assertThat(ingest.isRunning()).isTrue();
  }

  /**
   * Issue 8, item 6: cdc-ingest read the partition count once at start, so partitions added while
   * it ran got no copy of a truncate's namespace invalidation.
   */
  @Test
  void aTruncateReachesPartitionsAddedWhileRunning() throws Exception {
    String table = "public.cdc_it_grow_" + suffix;
    dropTables.add(table);
    sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY)");
    CdcIngest ingest = start(config("tables:\n  " + table + ":\n    key: cdcit:grow:{id}\n")
        .build());
    sql("INSERT INTO " + table + " VALUES (1)");
    tail.await(1, r -> r.key().equals("cdcit:grow:1"), WAIT);

    try (org.apache.kafka.clients.admin.Admin admin = EventTail.admin()) {
      admin.createPartitions(Map.of(topic, org.apache.kafka.clients.admin.NewPartitions.increaseTo(5)))
          .all().get(30, java.util.concurrent.TimeUnit.SECONDS);
      org.awaitility.Awaitility.await().atMost(WAIT).until(() -> admin.describeTopics(List.of(topic))
          .allTopicNames().get().get(topic).partitions().size() == 5);
    }
    tail.close();
    tail = new EventTail(topic);
    sql("INSERT INTO " + table + " VALUES (2)");
    sql("TRUNCATE " + table);

    List<EventTail.Received> namespace = tail.await(5, r -> r.key().equals("cdcit:grow:*"), WAIT);
    assertThat(namespace).extracting(EventTail.Received::partition)
        .containsExactlyInAnyOrder(0, 1, 2, 3, 4);
    assertThat(tail.received()).extracting(EventTail.Received::key).contains("cdcit:grow:2");
    assertThat(ingest.isRunning()).isTrue();
  }

  private static CacheEvent event(List<EventTail.Received> received, String key) {
    return received.stream().filter(r -> r.key().equals(key)).findFirst().orElseThrow().event();
  }

  @Test
  void offsetsKeptInKafkaResumeAfterARestart() throws Exception {
    CdcIngestConfig c = config("tables:\n  public.cdc_it_products:\n    key: cdcit:product:{id}\n").build();
    assertThat(c.offsetStorage()).isEqualTo(CdcIngestConfig.OffsetStorage.KAFKA);
    CdcIngest first = start(c);
    sql("INSERT INTO public.cdc_it_products (id, name) VALUES (?, 'a')", base + 5);
    tail.await(1, r -> true, WAIT);
    first.close();

    sql("UPDATE public.cdc_it_products SET name = 'b' WHERE id = ?", base + 5);
    start(c);
    sql("UPDATE public.cdc_it_products SET name = 'c' WHERE id = ?", base + 5);

    List<CacheEvent> events = tail.await(3, r -> true, WAIT).stream().map(EventTail.Received::event)
        .collect(Collectors.toList());
    assertThat(events).extracting(CacheEvent::version).isSorted().doesNotHaveDuplicates();
    assertThat(offsetRecords()).as("the offset topic holds this connector's offsets")
        .anySatisfy(k -> assertThat(k).contains(c.connectorName()));
  }

  private List<String> publishedTables() throws SQLException {
    try (Connection c = StackSettings.connect(); PreparedStatement ps = c.prepareStatement(
        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?")) {
      ps.setString(1, "fc_it_" + suffix);
      List<String> tables = new ArrayList<>();
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      return tables;
    }
  }

  /** The keys of the offset topic's records: Connect writes ["engine name",{"server":"..."}]. */
  private List<String> offsetRecords() {
    java.util.Properties p = new java.util.Properties();
    p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, StackSettings.KAFKA);
    p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(CdcIngestConfig.DEFAULT_OFFSET_TOPIC, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      List<String> keys = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 20_000;
      while (consumer.position(tp) < end && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          keys.add(r.key());
        }
      }
      return keys;
    }
  }
}
