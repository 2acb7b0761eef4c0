package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
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
 * The whole path against the real stack: rows changed in PostgreSQL arrive as cache events on
 * {@code freshcache.changes}. Each test has its own slot, publication and connector name, and ids
 * of its own, so runs and other users of the table and topic do not disturb it.
 */
class CdcIngestIT {
  private static final Duration EVENT_WAIT = Duration.ofSeconds(30);
  private static final Duration STREAMING_WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  private String suffix;
  private CdcIngestConfig config;
  private final List<CdcIngest> started = new ArrayList<>();
  private KafkaConsumer<String, byte[]> consumer;
  private final List<Received> received = new ArrayList<>();
  private long baseId;

  record Received(String recordKey, CacheEvent event, long receivedAtMs) {}

  static void createProductsTable() throws SQLException {
    try (Connection c = StackSettings.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS public.products (id bigint PRIMARY KEY, name text,"
          + " price numeric, version bigint)");
      st.execute("ALTER TABLE public.products REPLICA IDENTITY FULL");
    }
  }

  @BeforeAll
  static void createTable() throws SQLException {
    createProductsTable();
  }

  @BeforeEach
  void setUp() {
    suffix = StackSettings.uniqueSuffix();
    config = StackSettings.config(suffix, dir).build();
    baseId = ThreadLocalRandom.current().nextLong(1_000_000_000L, 1_000_000_000_000L);

    Properties p = new Properties();
    p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, StackSettings.KAFKA);
    p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10");
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = consumer.partitionsFor(StackSettings.TOPIC).stream()
        .map(i -> new TopicPartition(i.topic(), i.partition())).collect(Collectors.toList());
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // seekToEnd is lazy: fix the positions now
  }

  @AfterEach
  void tearDown() throws SQLException {
    started.forEach(CdcIngest::close);
    consumer.close(Duration.ofSeconds(5));
    try (Connection c = StackSettings.connect()) {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM public.products WHERE id BETWEEN ? AND ?")) {
        ps.setLong(1, baseId);
        ps.setLong(2, baseId + 1_000);
        ps.executeUpdate();
      }
      dropSlot(c, config.slotName());
      c.createStatement().execute("DROP PUBLICATION IF EXISTS " + config.publicationName());
    }
  }

  /** A leftover slot retains WAL forever: drop it once its walsender has gone. */
  private static void dropSlot(Connection c, String slot) {
    await("slot " + slot + " inactive").atMost(Duration.ofSeconds(30)).until(() -> !slotActive(c, slot));
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      ps.executeQuery().close();
    } catch (SQLException e) {
      throw new IllegalStateException("could not drop slot " + slot, e);
    }
  }

  private static boolean slotActive(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private CdcIngest start(CdcIngestConfig c) throws InterruptedException {
    CdcIngest ingest = CdcIngest.start(c);
    started.add(ingest);
    assertThat(ingest.awaitStreaming(STREAMING_WAIT)).as("streaming within %s", STREAMING_WAIT).isTrue();
    return ingest;
  }

  private static void sql(String sql, Object... args) throws SQLException {
    try (Connection c = StackSettings.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  /** Polls the topic until {@code count} events of this test's connector have arrived. */
  private List<Received> awaitEvents(int count) {
    await().atMost(EVENT_WAIT).pollInSameThread().pollInterval(Duration.ofMillis(1)).untilAsserted(() -> {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(20))) {
        CacheEvent e = CacheEventJson.read(r.value());
        if (e.source() != null && e.source().connector().equals(config.connectorName())) {
          received.add(new Received(r.key(), e, System.currentTimeMillis()));
        }
      }
      assertThat(received).hasSizeGreaterThanOrEqualTo(count);
    });
    return List.copyOf(received);
  }

  private String key(long id) {
    return "catalog:product:" + id;
  }

  @Test
  void insertsUpdatesAndDeletesArriveAsOrderedCacheEvents() throws Exception {
    CdcIngest ingest = start(config);
    long a = baseId + 1;
    long b = baseId + 2;

    sql("INSERT INTO public.products (id, name, price, version) VALUES (?, 'chair', 49.90, 1)", a);
    sql("UPDATE public.products SET price = 39.90, version = 2 WHERE id = ?", a);
    sql("INSERT INTO public.products (id, name, price, version) VALUES (?, 'table', 120, 1)", b);
    sql("DELETE FROM public.products WHERE id = ?", a);

    List<Received> events = awaitEvents(4);

    assertThat(events).extracting(r -> r.event().op().wireName() + " " + r.event().key())
        .containsExactlyInAnyOrder("invalidate " + key(a), "invalidate " + key(a),
            "invalidate " + key(b), "delete " + key(a));
    List<CacheEvent> ofA = events.stream().map(Received::event)
        .filter(e -> e.key().toString().equals(key(a))).collect(Collectors.toList());
    assertThat(ofA).extracting(CacheEvent::op)
        .as("one key's events keep their order in its partition")
        .containsExactly(CacheEvent.Op.INVALIDATE, CacheEvent.Op.INVALIDATE, CacheEvent.Op.DELETE);
    assertThat(ofA).extracting(CacheEvent::version).isSorted().doesNotHaveDuplicates();
    for (Received r : events) {
      CacheEvent e = r.event();
      assertThat(r.recordKey()).isEqualTo(e.key().toString());
      assertThat(e.version()).isEqualTo(e.source().lsn()).isPositive();
      assertThat(e.source().table()).isEqualTo("public.products");
      assertThat(e.source().db()).isEqualTo(StackSettings.PG_DB);
      assertThat(e.source().txId()).isPositive();
      assertThat(e.source().commitTsMs()).isPositive();
      assertThat(e.producedAtMs()).isGreaterThanOrEqualTo(e.source().commitTsMs() - 1_000);
      assertThat(e.ttlMs()).isZero();
      assertThat(e.payload()).isNull();
    }
    assertThat(events).extracting(r -> r.event().source().txId()).doesNotHaveDuplicates();
    assertThat(ingest.eventsProduced()).isEqualTo(4);
    assertThat(ingest.lastCommitToProduceLag()).isPresent();
    assertThat(ingest.isRunning()).isTrue();
  }

  @Test
  void aTransactionsRowsShareItsTransactionId() throws Exception {
    start(config);
    try (Connection c = StackSettings.connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO public.products (id, name) VALUES (?, 'x')")) {
        for (int i = 10; i < 13; i++) {
          ps.setLong(1, baseId + i);
          ps.executeUpdate();
        }
      }
      c.commit();
    }

    List<Received> events = awaitEvents(3);

    assertThat(events).extracting(r -> r.event().key().toString())
        .containsExactlyInAnyOrder(key(baseId + 10), key(baseId + 11), key(baseId + 12));
    assertThat(events).extracting(r -> r.event().source().txId()).containsOnly(events.get(0).event().source().txId());
    assertThat(events).extracting(r -> r.event().source().commitTsMs()).containsOnly(events.get(0).event().source().commitTsMs());
  }

  @Test
  void changesMadeWhileStoppedArriveAfterARestart() throws Exception {
    CdcIngest first = start(config);
    sql("INSERT INTO public.products (id, name) VALUES (?, 'before stop')", baseId + 20);
    awaitEvents(1);
    first.close();
    assertThat(first.isRunning()).isFalse();
    assertThat(first.failure()).isEmpty();

    sql("UPDATE public.products SET name = 'while stopped' WHERE id = ?", baseId + 20);
    start(config);

    List<Received> events = awaitEvents(2);
    assertThat(events).extracting(r -> r.event().key().toString()).containsExactly(key(baseId + 20), key(baseId + 20));
    assertThat(events.get(1).event().version()).isGreaterThan(events.get(0).event().version());
  }

  @Test
  void aRuleThatDoesNotFitStopsTheEngineAndTheChangeIsCapturedAfterTheFix() throws Exception {
    CdcIngest wrong = start(config.toBuilder()
        .rules(TableRule.parseAll("public.products=catalog:product:{product_id}")).build());
    sql("INSERT INTO public.products (id, name) VALUES (?, 'unmapped')", baseId + 40);

    await().atMost(EVENT_WAIT).until(() -> !wrong.isRunning());
    assertThat(wrong.failure()).get().satisfies(f -> {
      assertThat(f).hasMessageContaining("needs column 'product_id'");
      assertThat(f.getCause()).isInstanceOf(KeyMappingException.class);
    });
    assertThat(wrong.eventsProduced()).isZero();
    wrong.close();

    start(config); // same slot and offset file, right rule
    List<Received> events = awaitEvents(1);
    assertThat(events).extracting(r -> r.event().key().toString()).containsExactly(key(baseId + 40));
  }

  @Test
  void aSecondInstanceOnTheSameSlotIsRefused() throws Exception {
    start(config);

    CdcIngestConfig second = config.toBuilder().offsetFile(dir.resolve("other.dat"))
        .startupTimeout(Duration.ofSeconds(2)).build();
    assertThatThrownBy(() -> CdcIngest.start(second))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("replication slot " + config.slotName())
        .hasMessageContaining("is in use by PID");
  }

  /** Prints commit-to-produce latency of lone changes; no timed assertion (see the bench module). */
  @Test
  void measuresCommitToProduceLatencyOfLoneChanges() throws Exception {
    CdcIngest ingest = start(config);
    long id = baseId + 30;
    sql("INSERT INTO public.products (id, name, version) VALUES (?, 'v', 0)", id);
    awaitEvents(1);

    int n = 40;
    List<Long> ackLagMicros = new ArrayList<>();
    List<Long> consumeLagMs = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      sql("UPDATE public.products SET version = ? WHERE id = ?", i, id);
      Received r = awaitEvents(i + 1).get(i);
      ackLagMicros.add(ingest.lastCommitToProduceLag().orElseThrow().toNanos() / 1_000);
      consumeLagMs.add(r.receivedAtMs() - r.event().source().commitTsMs());
    }
    ackLagMicros.sort(null);
    consumeLagMs.sort(null);
    System.out.printf("commit->produce (Kafka ack) over %d lone updates, poll.interval.ms=%d:"
            + " p50 %.1f ms, p90 %.1f ms, max %.1f ms; commit->consumer p50 %d ms, max %d ms%n",
        n, config.pollInterval().toMillis(), ackLagMicros.get(n / 2) / 1000.0,
        ackLagMicros.get(n * 9 / 10) / 1000.0, ackLagMicros.get(n - 1) / 1000.0,
        consumeLagMs.get(n / 2), consumeLagMs.get(n - 1));
    assertThat(ingest.eventsProduced()).isEqualTo(n + 1);
  }

  @Test
  void keysOfACompositeTemplateAreBuiltFromEveryColumn() throws Exception {
    try (Connection c = StackSettings.connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS public.order_lines (order_id bigint, line_no int,"
          + " qty int, PRIMARY KEY (order_id, line_no))");
    }
    config = config.toBuilder().rules(TableRule.parseAll(
        "public.products=catalog:product:{id};public.order_lines=shop:line:{order_id}:{line_no}")).build();
    start(config);
    try {
      sql("INSERT INTO public.order_lines (order_id, line_no, qty) VALUES (?, 3, 1)", baseId);
      sql("DELETE FROM public.order_lines WHERE order_id = ?", baseId);

      List<Received> events = awaitEvents(2);

      assertThat(events).extracting(r -> r.event().op().wireName() + " " + r.event().key())
          .containsExactly("invalidate shop:line:" + baseId + ":3", "delete shop:line:" + baseId + ":3");
      assertThat(events).extracting(r -> r.event().source().table()).containsOnly("public.order_lines");
    } finally {
      sql("DELETE FROM public.order_lines WHERE order_id = ?", baseId);
    }
  }
}
