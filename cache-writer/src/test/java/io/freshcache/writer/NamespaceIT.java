package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Namespace invalidation (a truncate) on the real Kafka and Redis Cluster: one copy per
 * partition drops every key of the namespace — values of every schema, leases and fences, on
 * every master — leaves other namespaces alone, does not undo events that come after
 * it, and tells near caches on every notice channel.
 */
class NamespaceIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static boolean exists(String physical) {
    return ItSupport.conn.sync().exists(utf8(physical)) == 1;
  }

  @Test
  void oneCopyPerPartitionDropsEveryKeyOfTheNamespaceAndNothingElse() throws Exception {
    String entity = "tr" + ItSupport.RUN;
    List<CacheKey> truncated = new ArrayList<>();
    List<CacheKey> other = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      truncated.add(CacheKey.of("it", entity, i));
    }
    for (int i = 0; i < 30; i++) {
      other.add(CacheKey.of("it", entity + "x", i)); // a look-alike entity name
    }
    Map<Integer, List<NoticeChannels.Notice>> received = new ConcurrentHashMap<>();
    try (StatefulRedisClusterPubSubConnection<String, String> ps = ItSupport.subscribeToNotices(received)) {

      CacheWriterConfig config = ItSupport.freshTopics("namespace", 3);
      String topic = config.topics().get(0);
      for (CacheKey k : truncated) {
        ItSupport.sendAsync(topic, ItSupport.upsert(k, 10, "old"));
      }
      for (CacheKey k : truncated.subList(0, 20)) { // a second schema version of some
        ItSupport.sendAsync(topic, new CacheEvent(CacheEvent.Op.UPSERT, k, 10, 600_000, 2, "json",
            utf8("\"old2\""), null, System.currentTimeMillis()));
      }
      for (CacheKey k : other) {
        ItSupport.sendAsync(topic, ItSupport.upsert(k, 10, "keep"));
      }
      // readers holding leases, with nothing filled yet
      for (CacheKey k : truncated.subList(100, 110)) {
        ItSupport.conn.sync().set(utf8(k.leaseKey()), utf8("token"));
      }
      ItSupport.producer.flush();

      CacheEvent truncate = CacheEvent.invalidateNamespace("it", entity, 0,
          new CacheEvent.Source("pg-it", "shop", "public.items", 99, 7, System.currentTimeMillis()),
          System.currentTimeMillis());
      for (int p = 0; p < 3; p++) {
        ItSupport.producer.send(new ProducerRecord<>(topic, p, utf8(truncate.key().toString()),
            CacheEventJson.write(truncate))).get();
      }
      // a row inserted after the truncate: comes after the copy of its partition, so it stays
      CacheKey reinserted = truncated.get(7);
      ItSupport.send(topic, reinserted.toString(), CacheEventJson.write(ItSupport.upsert(reinserted, 1, "new")));

      try (CacheWriter w = CacheWriter.start(config)) {
        await().atMost(Duration.ofSeconds(60)).until(() -> w.applied() + w.stale() == 351
            && namespaceInvalidations(w) == 3);
        await().atMost(Duration.ofSeconds(10)).until(() -> namespaceNotices(received, entity) >= 3 * NoticeChannels.COUNT);
      }
    }

    for (CacheKey k : truncated) {
      if (k.equals(truncated.get(7))) {
        continue;
      }
      assertThat(exists(k.valueKey(1))).as("value of %s", k).isFalse();
      assertThat(exists(k.valueKey(2))).as("schema 2 value of %s", k).isFalse();
      assertThat(exists(k.leaseKey())).as("lease of %s", k).isFalse();
      assertThat(exists(k.fenceKey())).as("fence of %s", k).isFalse();
    }
    // the re-inserted row is never the old one; it may be gone again: the copy of another
    // partition, processed later, evicts it too (an extra miss, never a stale value)
    assertThat(ItSupport.stored(truncated.get(7))).isIn("\"new\"", null);
    for (CacheKey k : other) {
      assertThat(ItSupport.stored(k)).as("other namespace %s", k).isEqualTo("\"keep\"");
    }
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      assertThat(received.get(i)).as("notices on channel %d", i)
          .anySatisfy(n -> assertThat(n.namespaces()).containsExactly("it:" + entity));
    }
  }

  @Test
  void anEventAfterTheCopyInItsPartitionIsNotUndoneAndMayStartAgainFromVersionOne() throws Exception {
    String entity = "tq" + ItSupport.RUN;
    CacheWriterConfig config = ItSupport.freshTopics("namespace-order", 1);
    String topic = config.topics().get(0);
    CacheKey before = CacheKey.of("it", entity, "before");
    CacheKey after = CacheKey.of("it", entity, "after");
    ItSupport.sendAsync(topic, ItSupport.upsert(before, 10, "old"));
    ItSupport.sendAsync(topic, ItSupport.upsert(after, 10, "old"));
    ItSupport.sendAsync(topic, CacheEvent.invalidateNamespace("it", entity, 0, null, System.currentTimeMillis()));
    // the table starts again: row version 1, lower than the fence the old row left
    ItSupport.sendAsync(topic, ItSupport.upsert(after, 1, "new"));
    ItSupport.producer.flush();

    try (CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == 3
          && namespaceInvalidations(w) == 1);
      assertThat(w.stale()).as("the new row at version 1 is not refused by the old fence").isZero();
    }
    assertThat(ItSupport.stored(before)).isNull();
    assertThat(ItSupport.stored(after)).isEqualTo("\"new\"");
    assertThat(ItSupport.fence(after)).isEqualTo(1);
  }

  private static long namespaceInvalidations(CacheWriter w) {
    return (long) w.meterRegistry().get(WriterMetricNames.NAMESPACE_INVALIDATIONS).functionCounter().count();
  }

  private static long namespaceNotices(Map<Integer, List<NoticeChannels.Notice>> received, String entity) {
    return received.values().stream().flatMap(List::stream)
        .filter(n -> n.namespaces().contains("it:" + entity)).count();
  }
}
