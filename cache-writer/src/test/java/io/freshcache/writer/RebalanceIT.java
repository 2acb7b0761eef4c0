package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Two workers share a group; one is closed mid-load and the other takes over without a loss. */
class RebalanceIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void aWorkerLeavingMidLoadHandsOverWithoutLosingAnEvent() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("rebalance", 6).toBuilder().batchSize(200).build();
    String topic = config.topics().get(0);
    // 1000 keys, a round every 200 ms (5,000 events/s) until 2 s after the first worker left
    try (Workload load = Workload.start(topic, "rebalance", 1000, 500, Duration.ofMillis(200));
        CacheWriter w1 = CacheWriter.start(config);
        CacheWriter w2 = CacheWriter.start(config)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w1.assignedPartitions() > 0
          && w2.assignedPartitions() > 0 && w1.applied() > 0 && w2.applied() > 0);
      assertThat(w1.assignedPartitions() + w2.assignedPartitions()).isEqualTo(6);
      w1.close();
      assertThat(load.done()).as("closed mid-load").isFalse();
      int roundsAtClose = load.roundsSent();
      await().atMost(Duration.ofSeconds(30)).until(() -> w2.assignedPartitions() == 6);
      await().atMost(Duration.ofSeconds(60)).until(() -> load.roundsSent() >= roundsAtClose + 10);
      load.finish();
      ItSupport.awaitDrained(config.groupId(), topic, Duration.ofSeconds(60));
      assertThat(w2.isRunning()).isTrue();
      load.verify();
    }
  }
}
