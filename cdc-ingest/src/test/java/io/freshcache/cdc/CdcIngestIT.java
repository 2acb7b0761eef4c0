package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
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

  @BeforeAll
  static void createTable() throws SQLException {
    StackSettings.createTables();
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
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM public.cdc_it_products WHERE id BETWEEN ? AND ?")) {
        ps.setLong(1, baseId);
        ps.setLong(2, baseId + 1_000);
        ps.executeUpdate();
      }
    }
    StackSettings.dropSlotAndPublication(config.slotName(), config.publicationName());
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
    return "cdcit:product:" + id;
  }

  @Test
  void insertsUpdatesAndDeletesArriveAsOrderedCacheEvents() throws Exception {
    CdcIngest ingest = start(config);
    long a = baseId + 1;
    long b = baseId + 2;

    sql("INSERT INTO public.cdc_it_products (id, name, price, version) VALUES (?, 'chair', 49.90, 1)", a);
    sql("UPDATE public.cdc_it_products SET price = 39.90, version = 2 WHERE id = ?", a);
    sql("INSERT INTO public.cdc_it_products (id, name, price, version) VALUES (?, 'table', 120, 1)", b);
    sql("DELETE FROM public.cdc_it_products WHERE id = ?", a);

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
      assertThat(e.source().table()).isEqualTo("public.cdc_it_products");
      assertThat(e.source().db()).isEqualTo(StackSettings.PG_DB);
      assertThat(e.source().txId()).isPositive();
      assertThat(e.source().commitTsMs()).isPositive();
      assertThat(e.producedAtMs()).isGreaterThanOrEqualTo(e.source().commitTsMs() - 1_000);
      assertThat(e.ttlMs()).isZero();
      assertThat(e.payload()).isNull();
    }
    assertThat(events).extracting(r -> r.event().source().txId()).doesNotHaveDuplicates();
    // the handler counts a batch's events once all their acknowledgements are in, which can be
    // just after this test's consumer read them
    await("4 events counted as produced").atMost(EVENT_WAIT).until(ingest::eventsProduced, n -> n >= 4);
    assertThat(ingest.eventsProduced()).isEqualTo(4);
    await("a commit-to-produce lag sample").atMost(EVENT_WAIT)
        .until(() -> ingest.lastCommitToProduceLag().isPresent());
    assertThat(ingest.isRunning()).isTrue();
  }

  @Test
  void aTransactionsRowsShareItsTransactionId() throws Exception {
    start(config);
    try (Connection c = StackSettings.connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO public.cdc_it_products (id, name) VALUES (?, 'x')")) {
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
    sql("INSERT INTO public.cdc_it_products (id, name) VALUES (?, 'before stop')", baseId + 20);
    awaitEvents(1);
    first.close();
    assertThat(first.isRunning()).isFalse();
    assertThat(first.failure()).isEmpty();

    sql("UPDATE public.cdc_it_products SET name = 'while stopped' WHERE id = ?", baseId + 20);
    start(config);

    List<Received> events = awaitEvents(2);
    assertThat(events).extracting(r -> r.event().key().toString()).containsExactly(key(baseId + 20), key(baseId + 20));
    assertThat(events.get(1).event().version()).isGreaterThan(events.get(0).event().version());
  }

  @Test
  void aSecondInstanceOnTheSameSlotIsRefused() throws Exception {
    start(config);

    // the startup timeout also bounds each database call of the checks (socket timeout), so it
    // must not be short enough for a slow machine to fail the checks for another reason; the
    // first instance holds the slot throughout, so the second is refused when it runs out
    CdcIngestConfig second = config.toBuilder().offsetFile(dir.resolve("other.dat"))
        .startupTimeout(Duration.ofSeconds(10)).build();
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
    sql("INSERT INTO public.cdc_it_products (id, name, version) VALUES (?, 'v', 0)", id);
    awaitEvents(1);

    int n = 40;
    List<Long> ackLagMicros = new ArrayList<>();
    List<Long> consumeLagMs = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      sql("UPDATE public.cdc_it_products SET version = ? WHERE id = ?", i, id);
      Received r = awaitEvents(i + 1).get(i);
      long produced = i + 1;
      // the handler counts the acknowledgement, then sets the lag sample, maybe after the read:
      // once it counted this change, the sample is present (this change's or the one before's)
      await().atMost(EVENT_WAIT).until(ingest::eventsProduced, c -> c >= produced);
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
    // the consumer may see an event a moment before the handler counts its acknowledgement
    await().atMost(EVENT_WAIT).until(() -> ingest.eventsProduced() == n + 1);
    io.micrometer.core.instrument.distribution.HistogramSnapshot lag = ingest.commitToProduceLag().takeSnapshot();
    System.out.printf("commit->produce timer: %d samples, mean %.1f ms, max %.1f ms%n", lag.count(),
        lag.mean(java.util.concurrent.TimeUnit.MILLISECONDS), lag.max(java.util.concurrent.TimeUnit.MILLISECONDS));
    assertThat(lag.count()).isEqualTo(n + 1);
  }

  @Test
  void keysOfACompositeTemplateAreBuiltFromEveryColumn() throws Exception {
    config = config.toBuilder().rules(TableRule.parseAll(
        "public.cdc_it_products=cdcit:product:{id};public.cdc_it_lines=cdcit:line:{order_id}:{line_no}")).build();
    start(config);
    try {
      sql("INSERT INTO public.cdc_it_lines (order_id, line_no, qty) VALUES (?, 3, 1)", baseId);
      sql("DELETE FROM public.cdc_it_lines WHERE order_id = ?", baseId);

      List<Received> events = awaitEvents(2);

      assertThat(events).extracting(r -> r.event().op().wireName() + " " + r.event().key())
          .containsExactly("invalidate cdcit:line:" + baseId + ":3", "delete cdcit:line:" + baseId + ":3");
      assertThat(events).extracting(r -> r.event().source().table()).containsOnly("public.cdc_it_lines");
    } finally {
      sql("DELETE FROM public.cdc_it_lines WHERE order_id = ?", baseId);
    }
  }
}
