package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.Test;

/** A writer that fails to start leaves nothing open behind (Redis connects first). */
class StartupFailureIT {

  private static long lettuceThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("lettuce-")).count();
  }

  /** Regression: the Redis client and its threads stayed open when the Kafka clients failed. */
  @Test
  void aKafkaClientThatCannotBeBuiltClosesTheRedisClient() {
    CacheWriterConfig bad = ItSupport.BASE.toBuilder()
        .kafkaBootstrapServers("no-such-host.invalid:9092").build();
    ItSupport.conn.sync().ping(); // the shared test client's own threads exist before counting
    long before = lettuceThreads();
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> CacheWriter.start(bad)).isInstanceOf(KafkaException.class);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(lettuceThreads()).as("Lettuce threads left running").isLessThanOrEqualTo(before));
  }
}
