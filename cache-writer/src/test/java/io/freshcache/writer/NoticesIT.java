package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Near-cache notices, received the way client-lib receives them: sharded pub/sub through Lettuce. */
class NoticesIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void everyAppliedKeyIsNoticedOnItsChannelWithConsecutiveSequenceNumbers() throws Exception {
    Map<Integer, List<NoticeChannels.Notice>> received = new ConcurrentHashMap<>();
    try (StatefulRedisClusterPubSubConnection<String, String> ps = ItSupport.subscribeToNotices(received)) {

      CacheWriterConfig config = ItSupport.freshTopics("notices");
      String topic = config.topics().get(0);
      List<CacheKey> keys = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        keys.add(CacheKey.of("it", "notice", ItSupport.RUN + "-" + i));
      }
      for (int v = 1; v <= 3; v++) {
        for (CacheKey k : keys) {
          ItSupport.sendAsync(topic, v == 2 ? CacheEvent.invalidate(k, v, System.currentTimeMillis())
              : ItSupport.upsert(k, v, "n" + v));
        }
      }
      // a stale event is noticed too (Redis holds something newer than it)
      CacheKey staleKey = keys.get(0);
      ItSupport.send(topic, staleKey.toString(), CacheEventJson.write(ItSupport.upsert(staleKey, 1, "old")));
      ItSupport.producer.flush();

      try (CacheWriter w = CacheWriter.start(config.toBuilder().batchSize(100).build())) {
        await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() + w.stale() == 601);
        if (w.retries() == 0) {
          assertThat(w.stale()).isEqualTo(1);
        } else {
          // a batch that timed out and was applied again finds its own earlier effects: the
          // events that had already gone through are stale the second time (seen once in a full
          // run, after a 2 s Redis stall)
          assertThat(w.stale()).isGreaterThanOrEqualTo(1);
        }
        Set<String> expected = new HashSet<>();
        keys.forEach(k -> expected.add(k.toString()));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          Set<String> seen = new HashSet<>();
          received.values().forEach(l -> l.forEach(n -> seen.addAll(n.keys())));
          assertThat(seen).containsAll(expected);
        });
        long ours = received.values().stream().flatMap(List::stream)
            .filter(n -> n.keys().stream().anyMatch(expected::contains)).count();
        assertThat(w.noticesPublished()).as("notices counted").isGreaterThanOrEqualTo(ours).isPositive();
        // one notice per channel per batch: far fewer notices than applied events
        assertThat(w.noticesPublished()).isLessThan(w.applied());
      }
      for (Map.Entry<Integer, List<NoticeChannels.Notice>> e : received.entrySet()) {
        List<NoticeChannels.Notice> notices = e.getValue();
        for (int j = 1; j < notices.size(); j++) {
          assertThat(notices.get(j).sequence()).as("sequence on %s after %s", NoticeChannels.channel(e.getKey()),
              notices.get(j - 1).sequence()).isEqualTo(notices.get(j - 1).sequence() + 1);
        }
        for (NoticeChannels.Notice n : notices) {
          for (String k : n.keys()) {
            if (k.startsWith("it:notice:")) {
              assertThat(NoticeChannels.indexOf(CacheKey.parse(k))).isEqualTo(e.getKey());
            }
          }
        }
      }
    }
  }

  @Test
  void aStaleEventIsNoticedSoANearCacheHoldingAnOlderValueDropsIt() throws Exception {
    Map<Integer, List<NoticeChannels.Notice>> received = new ConcurrentHashMap<>();
    try (StatefulRedisClusterPubSubConnection<String, String> ps = ItSupport.subscribeToNotices(received)) {
      CacheWriterConfig config = ItSupport.freshTopics("notices-stale");
      String topic = config.topics().get(0);
      CacheKey k = CacheKey.of("it", "notice", ItSupport.RUN + "-stale");
      try (CacheWriter w = CacheWriter.start(config)) {
        ItSupport.send(topic, k.toString(), CacheEventJson.write(ItSupport.upsert(k, 5, "v5")));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> noticesNaming(received, k) == 1);
        // a near cache may hold v4, loaded before v5 and kept because v5's notice was lost:
        // Redis already has v5, so v4's event is stale, and must still make near caches drop k
        ItSupport.send(topic, k.toString(), CacheEventJson.write(ItSupport.upsert(k, 4, "v4")));
        await().atMost(Duration.ofSeconds(30)).until(() -> w.stale() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> noticesNaming(received, k) == 2);
        assertThat(ItSupport.stored(k)).isEqualTo("\"v5\"");
      }
    }
  }

  private static long noticesNaming(Map<Integer, List<NoticeChannels.Notice>> received, CacheKey k) {
    return received.values().stream().flatMap(List::stream).filter(n -> n.keys().contains(k.toString())).count();
  }
}
