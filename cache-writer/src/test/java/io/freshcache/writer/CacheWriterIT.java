package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** cache-writer against the real Kafka and Redis Cluster that {@code dev/stack up} starts. */
class CacheWriterIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }
  static final String RUN = ItSupport.RUN;
  static final CacheWriterConfig BASE = ItSupport.BASE;
  static final Admin admin = ItSupport.admin;

  static CacheWriterConfig freshTopics(String name) throws Exception {
    return ItSupport.freshTopics(name);
  }

  static void send(String topic, String key, byte[] value) throws Exception {
    ItSupport.send(topic, key, value);
  }

  static CacheEvent upsert(CacheKey k, long version, String payload) {
    return ItSupport.upsert(k, version, payload);
  }

  static String stored(CacheKey k) {
    return ItSupport.stored(k);
  }

  @Test
  void redeliveryAndReorderingLeaveTheNewestVersion() throws Exception {
    CacheWriterConfig config = freshTopics("reorder");
    String topic = config.topics().get(0);
    List<CacheKey> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      CacheKey k = CacheKey.of("it", "item", RUN + "-" + i);
      keys.add(k);
      // newest first, then an older upsert, an older invalidation, and the newest again
      send(topic, k.toString(), CacheEventJson.write(upsert(k, 5, "v5-" + i)));
      send(topic, k.toString(), CacheEventJson.write(upsert(k, 3, "v3-" + i)));
      send(topic, k.toString(), CacheEventJson.write(CacheEvent.invalidate(k, 4, 0)));
      send(topic, k.toString(), CacheEventJson.write(upsert(k, 5, "v5-" + i)));
    }
    try (CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == 80);
      if (w.retries() == 0) { // a retried batch also finds its own earlier effects stale
        assertThat(w.stale()).isEqualTo(40);
        assertThat(w.applied()).isEqualTo(40);
      }
    }
    for (int i = 0; i < keys.size(); i++) {
      assertThat(stored(keys.get(i))).isEqualTo("\"v5-" + i + "\"");
    }
  }

  /**
   * Regression: a fresh writer's first pipelined batch went out while Lettuce was still opening
   * its node connections, and commands queued on a connection being opened can be written out of
   * order (lettuce #1951): a key's newer event was applied before its older one, which the fence
   * then counted as stale. Node connections are opened before a batch is written now.
   */
  @Test
  void theFirstBatchOfAFreshWriterKeepsEveryKeysOrder() throws Exception {
    for (int round = 0; round < 5; round++) {
      CacheWriterConfig config = freshTopics("first-batch-" + round);
      String topic = config.topics().get(0);
      for (int v = 1; v <= 3; v++) {
        for (int i = 0; i < 300; i++) {
          CacheKey k = CacheKey.of("it", "first", RUN + "-" + round + "-" + i);
          ItSupport.sendAsync(topic, v == 2 ? CacheEvent.invalidate(k, v, 0) : upsert(k, v, "v" + v));
        }
      }
      ItSupport.producer.flush();
      try (CacheWriter w = CacheWriter.start(config.toBuilder().batchSize(2000).build())) {
        await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == 900);
        assertThat(w.stale()).as("round %d: events applied out of order", round).isZero();
      }
    }
  }

  /**
   * Regression: when one master had lost its scripts (restarted, promoted), the whole batch was
   * sent again with EVAL, so the other masters applied their events twice (counted as stale).
   * Only the keys that met NOSCRIPT are sent again now.
   */
  @Test
  void aMasterWithoutTheScriptDoesNotMakeTheOthersApplyTwice() throws Exception {
    CacheWriterConfig config = freshTopics("noscript");
    String topic = config.topics().get(0);
    List<CacheKey> keys = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      CacheKey k = CacheKey.of("it", "noscript", RUN + "-" + i);
      keys.add(k);
      for (int v = 1; v <= 3; v++) {
        ItSupport.sendAsync(topic, v == 2 ? CacheEvent.invalidate(k, v, 0) : upsert(k, v, "v" + v + "-" + i));
      }
    }
    ItSupport.producer.flush();
    // every master has the script (loaded with EVAL), then one of them loses it
    var masters = ItSupport.conn.getPartitions().stream()
        .filter(n -> n.is(io.lettuce.core.cluster.models.partitions.RedisClusterNode.NodeFlag.UPSTREAM))
        .toList();
    for (var m : masters) {
      ItSupport.conn.getConnection(m.getNodeId()).sync().scriptLoad(io.freshcache.protocol.CacheScripts.APPLY.source());
    }
    ItSupport.conn.getConnection(masters.get(0).getNodeId()).sync().scriptFlush();
    try (CacheWriter w = CacheWriter.start(config.toBuilder().batchSize(500).build())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == 180);
      assertThat(w.stale()).as("events applied twice").isZero();
      assertThat(w.applied()).isEqualTo(180);
    }
    for (int i = 0; i < keys.size(); i++) {
      assertThat(stored(keys.get(i))).isEqualTo("\"v3-" + i + "\"");
    }
  }

  @Test
  void anUpsertRedeliveredAfterItsFenceExpiredStillLosesToTheNewerStoredValue() throws Exception {
    CacheWriterConfig config = freshTopics("expired-fence");
    String topic = config.topics().get(0);
    CacheKey k = CacheKey.of("it", "item", RUN + "-fence");
    send(topic, k.toString(), CacheEventJson.write(upsert(k, 9, "nine")));
    try (CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 1);
      ItSupport.conn.sync().del(k.fenceKey().getBytes(StandardCharsets.UTF_8));
      send(topic, k.toString(), CacheEventJson.write(upsert(k, 8, "eight")));
      await().atMost(Duration.ofSeconds(30)).until(() -> w.stale() == 1);
    }
    assertThat(stored(k)).isEqualTo("\"nine\"");
  }

  @Test
  void poisonGoesToTheDeadLetterTopicAndTheWorkerGoesOn() throws Exception {
    CacheWriterConfig config = freshTopics("poison");
    String topic = config.topics().get(0);
    Random random = new Random(7);
    int valid = 0;
    int poison = 0;
    List<CacheKey> keys = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      CacheKey k = CacheKey.of("it", "item", RUN + "-p" + i);
      if (i % 3 == 1) {
        byte[] garbage = new byte[1 + random.nextInt(64)];
        random.nextBytes(garbage);
        byte[][] choices = {garbage, "{\"v\":1,\"op\":\"explode\",\"key\":\"a:b:c\",\"version\":1}".getBytes(StandardCharsets.UTF_8),
            "{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:c\"}".getBytes(StandardCharsets.UTF_8),
            "{\"v\":1,\"op\":\"upsert\",\"key\":\"a:b:c\",\"version\":1,\"ttlMs\":5,\"codec\":\"nope\",\"payload\":\"AA==\"}".getBytes(StandardCharsets.UTF_8)};
        send(topic, "garbage", choices[i % choices.length]);
        poison++;
      } else {
        keys.add(k);
        send(topic, k.toString(), CacheEventJson.write(upsert(k, 1, "ok" + i)));
        valid++;
      }
    }
    int expectedValid = valid;
    int expectedPoison = poison;
    try (CacheWriter w = CacheWriter.start(config)) {
      // the upserts with an unknown codec have a valid key: each is also applied, as an
      // invalidation of a:b:c (applied or stale, depending on what earlier runs left there)
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == expectedValid + w.downgraded()
          && w.deadLettered() == expectedPoison);
      assertThat(w.downgraded()).as("unknown-codec upserts").isEqualTo(5);
      assertThat(w.isRunning()).isTrue();
    }
    for (CacheKey k : keys) {
      assertThat(stored(k)).startsWith("\"ok");
    }
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BASE.kafka().bootstrapServers());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      TopicPartition tp = new TopicPartition(config.dlqTopic(), 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(dead::add);
        return dead.size() >= expectedPoison;
      });
      assertThat(dead).hasSize(expectedPoison);
      for (ConsumerRecord<byte[], byte[]> r : dead) {
        assertThat(r.headers().lastHeader("freshcache.error")).isNotNull();
        assertThat(new String(r.headers().lastHeader("freshcache.original.topic").value(), StandardCharsets.UTF_8))
            .isEqualTo(topic);
        assertThat(r.headers().lastHeader("freshcache.original.offset")).isNotNull();
      }
    }
  }

  @Test
  void anUpsertThatCannotBeCarriedInvalidatesItsKeyAndIsDeadLettered() throws Exception {
    CacheWriterConfig config = freshTopics("downgrade").toBuilder().maxPayloadBytes(100).build();
    String topic = config.topics().get(0);
    CacheKey big = CacheKey.of("it", "downgrade", RUN + "-big");
    CacheKey codec = CacheKey.of("it", "downgrade", RUN + "-codec");
    CacheKey fine = CacheKey.of("it", "downgrade", RUN + "-fine");
    for (CacheKey k : List.of(big, codec, fine)) {
      send(topic, k.toString(), CacheEventJson.write(upsert(k, 1, "cached")));
    }
    try (CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 3);
      assertThat(stored(big)).isEqualTo("\"cached\"");
      assertThat(stored(codec)).isEqualTo("\"cached\"");
      send(topic, big.toString(), CacheEventJson.write(upsert(big, 2, "x".repeat(500))));
      send(topic, codec.toString(), CacheEventJson.write(new CacheEvent(CacheEvent.Op.UPSERT, codec, 2, 600_000, 1,
          "no-such-codec", "\"new\"".getBytes(StandardCharsets.UTF_8), null, System.currentTimeMillis())));
      send(topic, fine.toString(), CacheEventJson.write(upsert(fine, 2, "small")));
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 6);
      assertThat(stored(big)).as("oversize upsert invalidated its key").isNull();
      assertThat(stored(codec)).as("unknown-codec upsert invalidated its key").isNull();
      assertThat(stored(fine)).isEqualTo("\"small\"");
      assertThat(ItSupport.fence(big)).as("the invalidation is at the upsert's version").isEqualTo(2);
      assertThat(w.downgraded()).isEqualTo(2);
      assertThat(w.deadLettered()).isEqualTo(2);
      assertThat(w.meterRegistry().get(WriterMetricNames.EVENTS_DOWNGRADED).functionCounter().count()).isEqualTo(2.0);
      List<String> deadKeys = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : ItSupport.deadLetters(config.dlqTopic(), 2)) {
        deadKeys.add(new String(r.key(), StandardCharsets.UTF_8));
        assertThat(new String(r.headers().lastHeader("freshcache.error").value(), StandardCharsets.UTF_8))
            .containsAnyOf("over the limit", "no-such-codec");
      }
      assertThat(deadKeys).containsExactlyInAnyOrder(big.toString(), codec.toString());
    }
  }

  @Test
  void offsetsAreCommittedOnlyForAppliedEvents() throws Exception {
    CacheWriterConfig config = freshTopics("commit");
    String topic = config.topics().get(0);
    for (int i = 0; i < 30; i++) {
      CacheKey k = CacheKey.of("it", "item", RUN + "-c" + i);
      send(topic, k.toString(), CacheEventJson.write(CacheEvent.invalidate(k, i, 0)));
    }
    try (CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 30);
    }
    long committed = admin.listConsumerGroupOffsets(config.groupId()).partitionsToOffsetAndMetadata().get()
        .values().stream().mapToLong(o -> o.offset()).sum();
    assertThat(committed).isEqualTo(30);
  }

  @Test
  void closeAppliesAndCommitsTheBatchInFlightAndNothingBeyondIt() throws Exception {
    CacheWriterConfig config = freshTopics("graceful");
    String topic = config.topics().get(0);
    int total = 50_000;
    for (int i = 0; i < total; i++) {
      CacheKey k = CacheKey.of("it", "graceful", RUN + "-" + (i % 5000));
      ItSupport.sendAsync(topic, CacheEvent.invalidate(k, i / 5000 + 1, 0));
    }
    ItSupport.producer.flush();
    CacheWriter w = CacheWriter.start(config.toBuilder().batchSize(100).build());
    await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() >= 2_000);
    w.close();
    assertThat(w.awaitStop(Duration.ofSeconds(1))).isTrue();
    long processed = w.applied() + w.stale() + w.deadLettered();
    assertThat(processed).as("stopped mid-stream").isLessThan(total);
    assertThat(ItSupport.committed(config.groupId(), topic)).as("committed offsets").isEqualTo(processed);
  }
}
