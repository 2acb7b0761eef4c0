package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheKey;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A Redis master is killed ({@code kill -9}) while events stream: the worker retries with the
 * partitions paused, follows the failover by itself, and every key ends in its final state.
 * The node is restarted in {@code finally} so the stack is left ready.
 */
class FailoverIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void killingARedisMasterMidStreamLosesNothingAndTheWorkerRecoversByItself() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("failover").toBuilder().batchSize(200)
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).build(); // the failure path as shipped
    String topic = config.topics().get(0);
    // 1000 keys, a round every 200 ms (5,000 events/s) until 4 s after the kill
    try (Workload load = Workload.start(topic, "failover", 1000, 500, Duration.ofMillis(200));
        CacheWriter w = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() > 2_000);
      int port = masterOf(load.keys.get(0));
      try {
        ItSupport.devStack("kill", "redis:" + port);
        assertThat(load.done()).as("killed mid-stream").isFalse();
        int roundsAtKill = load.roundsSent();
        await().atMost(Duration.ofSeconds(60)).until(() -> load.roundsSent() >= roundsAtKill + 20);
        load.finish();
        ItSupport.awaitDrained(config.groupId(), topic, Duration.ofSeconds(90));
        assertThat(w.retries()).as("the worker saw the failure").isPositive();
        assertThat(w.isRunning()).isTrue();
        load.verify();
      } finally {
        ItSupport.devStack("up", "redis");
      }
    }
  }

  static int masterOf(CacheKey k) {
    int slot = SlotHash.getSlot(k.fenceKey().getBytes(StandardCharsets.UTF_8));
    RedisClusterNode node = ItSupport.conn.getPartitions().getMasterBySlot(slot);
    return node.getUri().getPort();
  }
}
