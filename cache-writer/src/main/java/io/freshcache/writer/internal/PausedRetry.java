package io.freshcache.writer.internal;

import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Retrying a batch while holding its offsets: on the first failure every assigned partition is
 * paused, then each retry waits a capped exponential backoff and polls once, which keeps the
 * consumer in its group (within {@code max.poll.interval.ms}) and lets rebalances complete.
 *
 * <p>Why the extra care: a paused partition returns no records, but a partition assigned during
 * the outage is not paused yet and a poll may return its records. They would be dropped and the
 * consumer's position would have moved past them, and the next commit would skip them. So newly
 * assigned partitions are paused in the rebalance callback ({@link #onAssigned}), and any records
 * a keep-alive poll still returns are undone by seeking each partition back to its first
 * returned offset.
 *
 * <p>Used from the consumer's thread only.
 */
public final class PausedRetry {
  /** First backoff. */
  public static final Duration INITIAL_BACKOFF = Duration.ofMillis(50);
  /** Longest backoff. */
  public static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final KafkaConsumer<?, ?> consumer;
  private long backoffMs = INITIAL_BACKOFF.toMillis();
  private boolean paused;

  /** @param consumer the consumer whose partitions to hold */
  public PausedRetry(KafkaConsumer<?, ?> consumer) {
    this.consumer = consumer;
  }

  /** @return the backoff the next {@link #failed()} waits, ms */
  public long nextBackoffMs() {
    return backoffMs;
  }

  /** @return whether the partitions are paused for a retry */
  public boolean paused() {
    return paused;
  }

  /**
   * Records a failed attempt: pauses the partitions, waits the backoff and polls once.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  public void failed() throws InterruptedException {
    if (!paused) {
      consumer.pause(consumer.assignment());
      paused = true;
    }
    Thread.sleep(backoffMs);
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF.toMillis());
    keepAlive();
  }

  /** Records success: resumes the partitions if they were paused and resets the backoff. */
  public void succeeded() {
    if (paused) {
      consumer.resume(consumer.paused());
      paused = false;
    }
    backoffMs = INITIAL_BACKOFF.toMillis();
  }

  /**
   * Call from the rebalance listener: partitions assigned during a retry are paused too.
   *
   * @param partitions the newly assigned partitions
   */
  public void onAssigned(Collection<TopicPartition> partitions) {
    if (paused) {
      consumer.pause(partitions);
    }
  }

  private void keepAlive() {
    ConsumerRecords<?, ?> records = consumer.poll(Duration.ZERO);
    if (!records.isEmpty()) {
      Set<TopicPartition> returned = records.partitions();
      for (TopicPartition tp : returned) {
        consumer.seek(tp, records.records(tp).get(0).offset());
      }
      consumer.pause(returned);
    }
  }
}
