package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged worker as a separate JVM: {@code kill -9} mid-stream loses nothing (G5), and
 * SIGTERM applies and commits the batch in flight and nothing beyond it.
 */
class CrashIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void aWorkerKilledMidStreamLosesNothingAndSigtermCommitsExactlyWhatWasApplied() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("crash").toBuilder()
        .batchSize(200).sessionTimeout(Duration.ofSeconds(6)).build();
    String topic = config.topics().get(0);
    String group = config.groupId();
    // 500 keys, a round every 250 ms until B is stopped (2,000 events/s)
    try (Workload load = Workload.start(topic, "crash", 500, 1000, Duration.ofMillis(250))) {
      long afterA;
      try (WorkerProcess a = WorkerProcess.start(config, "crash-a", Map.of())) {
        await().atMost(Duration.ofSeconds(30)).until(a::healthy);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> ItSupport.committed(group, topic) > 0);
        a.kill9();
        // a commit A sent just before the kill may still reach the broker; once A's session has
        // expired (6 s) the group has no member left and A's offsets are final
        ItSupport.awaitNoMembers(group, Duration.ofSeconds(60));
        afterA = ItSupport.committed(group, topic);
      }
      assertThat(load.done()).as("A was killed mid-stream").isFalse();
      int roundsAtKill = load.roundsSent();

      try (WorkerProcess b = WorkerProcess.start(config, "crash-b", Map.of())) {
        // B gets the partitions once A's session expired (6 s)
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
            .until(() -> ItSupport.committed(group, topic) > afterA && load.roundsSent() > roundsAtKill + 4);
        assertThat(load.done()).as("B is stopped mid-stream").isFalse();
        int exit = b.terminate();
        assertThat(exit).as("exit status after SIGTERM").isIn(0, 143);
        long processed = b.processedAtStop();
        assertThat(processed).as("B's closing line in %s", b.log).isPositive();
        assertThat(ItSupport.committed(group, topic)).as("committed after SIGTERM").isEqualTo(afterA + processed);
      }

      load.finish();
      try (CacheWriter c = CacheWriter.start(config)) {
        ItSupport.awaitDrained(group, topic, Duration.ofSeconds(60));
      }
      load.verify();
    }
  }
}
