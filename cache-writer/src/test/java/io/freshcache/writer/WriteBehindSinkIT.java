package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The write-behind sink against the real PostgreSQL, Kafka and Redis Cluster. */
class WriteBehindSinkIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  /** Creates a fresh table and a writer config whose sink writes entity {@code sinkit:<name>} to it. */
  static CacheWriterConfig withSink(String name, CacheWriterConfig base, String table) throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text NOT NULL,"
          + " price_cents integer, tags jsonb, version bigint NOT NULL)");
    }
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("WRITER_SINK_RULES", "sinkit:" + name + "=" + table + "(id,version)");
    env.put("WRITER_SINK_TOPIC", base.topics().get(0));
    env.put("WRITER_SINK_BATCH_SIZE", "100");
    env.put("WRITER_SINK_FLUSH_MS", "50");
    return base.toBuilder().sink(WriteBehindConfig.fromEnv(env)).build();
  }

  static Connection connect() throws Exception {
    Map<String, String> env = System.getenv();
    return DriverManager.getConnection(env.getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop"),
        env.getOrDefault("PG_USER", "freshcache"), env.getOrDefault("PG_PASSWORD", "freshcache"));
  }

  static CacheEvent upsert(CacheKey k, long version, String json) {
    return new CacheEvent(CacheEvent.Op.UPSERT, k, version, 600_000, 1, "json",
        json.getBytes(StandardCharsets.UTF_8), null, System.currentTimeMillis());
  }

  static Map<Long, String> rows(String table) throws Exception {
    Map<Long, String> out = new HashMap<>();
    try (Connection c = connect(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, version, name, price_cents, tags->>'v' FROM " + table)) {
      while (rs.next()) {
        out.put(rs.getLong(1), rs.getLong(2) + "|" + rs.getString(3) + "|" + rs.getObject(4) + "|" + rs.getString(5));
      }
    }
    return out;
  }

  @Test
  void upsertsLandInBatchesTheNewestVersionWinsAndRefusedRowsAreDeadLettered() throws Exception {
    String name = "p" + ItSupport.RUN;
    String table = "it_sink_" + ItSupport.RUN;
    CacheWriterConfig config = withSink(name, ItSupport.freshTopics("sink"), table);
    String topic = config.topics().get(0);
    for (long v : new long[] {1, 3, 2}) { // the older version 2 arrives after 3
      for (int i = 0; i < 200; i++) {
        CacheKey k = CacheKey.of("sinkit", name, i);
        ItSupport.sendAsync(topic, upsert(k, v, "{\"name\":\"n-" + i + "-" + v + "\",\"price_cents\":" + (v * 100 + i)
            + ",\"tags\":{\"v\":" + v + "}}"));
      }
    }
    ItSupport.sendAsync(topic, upsert(CacheKey.of("sinkit", name, 900), 1, "{\"name\":\"x\",\"colour\":\"red\"}"));
    ItSupport.sendAsync(topic, upsert(CacheKey.of("sinkit", name, 901), 1, "{\"name\":\"x\",\"price_cents\":\"abc\"}"));
    ItSupport.sendAsync(topic, upsert(CacheKey.of("sinkit", name, 902), 1, "[1,2]"));
    ItSupport.sendAsync(topic, CacheEvent.invalidate(CacheKey.of("sinkit", name, 0), 5, 0));
    ItSupport.sendAsync(topic, upsert(CacheKey.of("sinkit", "norule" + ItSupport.RUN, 1), 1, "{\"name\":\"x\"}"));
    ItSupport.producer.flush();

    try (CacheWriter w = CacheWriter.start(config)) {
      WriteBehindSink sink = w.sink();
      ItSupport.awaitDrained(sink.groupId(), topic, Duration.ofSeconds(30));
      assertThat(sink.rejected()).isEqualTo(3);
      long flushes = w.meterRegistry().get(WriterMetricNames.SINK_FLUSH).timer().count();
      assertThat(sink.written()).isGreaterThanOrEqualTo(200);
      assertThat(flushes).as("rows go in batches").isLessThan(sink.written() / 10);
      assertThat(w.health().database()).isTrue();
    }
    Map<Long, String> rows = rows(table);
    dropTable(table);
    assertThat(rows).hasSize(200);
    for (int i = 0; i < 200; i++) {
      assertThat(rows.get((long) i)).isEqualTo("3|n-" + i + "-3|" + (300 + i) + "|3");
    }
    List<ConsumerRecord<byte[], byte[]>> dead = readAll(config.dlqTopic(), 3);
    assertThat(dead).hasSize(3).allSatisfy(r -> {
      assertThat(new String(r.headers().lastHeader("freshcache.sink.table").value(), StandardCharsets.UTF_8))
          .isEqualTo(table);
      assertThat(r.headers().lastHeader("freshcache.error")).isNotNull();
    });
  }

  @Test
  void aDatabaseRestartMidStreamHoldsTheOffsetsAndLosesNothing() throws Exception {
    String name = "r" + ItSupport.RUN;
    String table = "it_sink_restart_" + ItSupport.RUN;
    CacheWriterConfig config = withSink(name, ItSupport.freshTopics("sink-restart"), table);
    String topic = config.topics().get(0);
    int ids = 300;
    // rounds until stopped, so that the stream surely runs through the whole outage however
    // slowly the database stops and starts here
    AtomicLong roundsSent = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread producer = new Thread(() -> {
      try {
        for (int r = 1; !stop.get(); r++) {
          for (int i = 0; i < ids; i++) {
            ItSupport.sendAsync(topic, upsert(CacheKey.of("sinkit", name, i), r,
                "{\"name\":\"n-" + i + "-" + r + "\",\"price_cents\":" + r + "}"));
          }
          ItSupport.producer.flush();
          roundsSent.set(r);
          Thread.sleep(200); // pacing the load generator, not waiting for a condition
        }
      } catch (Throwable t) {
        error.set(t);
      }
    }, "sink-restart-load");
    long rounds;
    try (CacheWriter w = CacheWriter.start(config)) {
      WriteBehindSink sink = w.sink();
      producer.start();
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> sink.written() > 0);
        try {
          ItSupport.devStack("down", "postgres");
          await().atMost(Duration.ofSeconds(30)).until(() -> sink.retries() > 0);
          long held = ItSupport.committed(sink.groupId(), topic);
          long appliedWhileDown = w.applied();
          // the sink holds its offsets while the database is down, and the cache goes on
          await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
              .until(() -> ItSupport.committed(sink.groupId(), topic) == held);
          assertThat(w.applied()).as("cache applies during the outage").isGreaterThan(appliedWhileDown);
          assertThat(w.health().up()).isTrue();
          assertThat(w.health().database()).isFalse();
        } finally {
          ItSupport.devStack("up", "postgres");
        }
        long atRestart = roundsSent.get();
        // the stream goes on after the restart, so rows written after it are checked too
        await().atMost(Duration.ofSeconds(30)).until(() -> roundsSent.get() >= atRestart + 3);
      } finally {
        stop.set(true);
        producer.join(60_000);
      }
      assertThat(error.get()).isNull();
      rounds = roundsSent.get();
      ItSupport.awaitDrained(sink.groupId(), topic, Duration.ofSeconds(60));
      assertThat(sink.rejected()).isZero();
    }
    Map<Long, String> rows = rows(table);
    dropTable(table);
    assertThat(rows).hasSize(ids);
    for (int i = 0; i < ids; i++) {
      assertThat(rows.get((long) i)).isEqualTo(rounds + "|n-" + i + "-" + rounds + "|" + rounds + "|null");
    }
  }

  static void dropTable(String table) throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + table);
    }
  }

  static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, ItSupport.BASE.kafka().bootstrapServers());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
        return out.size() >= expected;
      });
    }
    return out;
  }
}
