package io.freshcache.cdc.internal;

import io.freshcache.cdc.EventDeliveryException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event topic's partition count, read again from the broker before each truncate fan-out
 * (a namespace invalidation goes to every partition) and, in passing, at most once a
 * {@link #PERIODIC} on the engine's thread, so that partitions added while cdc-ingest runs get
 * their copy (issue 8, item 6). Before, the count was read once at start: a truncate after
 * partitions were added missed the new ones, and a key that had moved to a new partition kept its
 * cached rows.
 *
 * <p>Why a fresh read matters and where keys go: row events are partitioned by the producer's
 * default partitioner, hash of the cache key modulo the partition count the producer's metadata
 * knows (refreshed every {@code metadata.max.age.ms}, 5 min by default, or on an error). After
 * partitions are added, a key's later events go to another partition than its earlier ones. A
 * truncate copy is ordered only after the events of its own partition; with a copy on every
 * partition (old and new), every pre-truncate event of a key precedes the copy in whichever
 * partition it was sent to, so each key is evicted after all of them. The count is the larger of
 * the broker's answer and the producer's metadata (partitions are never removed), so a copy goes
 * to every partition the producer may have sent a key to.
 *
 * <p>Why the reordering of a key's events across a partition change is accepted rather than
 * prevented (e.g. by a partitioner that keeps the start-time count): a writer may apply a key's
 * newer events from the new partition before older ones still waiting in the old partition.
 * The fence makes that safe for coherence: every row event carries a version that grows per row
 * (commit LSN, or the row-version column), so an older event arriving late is stale; at an equal
 * version a delete's tombstone makes a late upsert lose. What it can cost is cacheability, never
 * staleness: an insert that passes a tombstone may be applied before the delete it follows (the
 * delete then tombstones the new row's key until a version beyond it), and cache-writer's evict
 * of a namespace copy may drop a newer value. A start-time partitioner would keep order only
 * until the next restart (the new count is used then) and would leave added partitions without
 * row events, so it only delays the same reordering; the change would be logged either way.
 *
 * <p>A failed read before a fan-out fails the batch ({@link EventDeliveryException}): its changes
 * stay uncommitted and are captured again after a restart, as with any Kafka failure; a failed
 * periodic read is only logged.
 */
final class TopicPartitionCount {
  private static final Logger LOG = LoggerFactory.getLogger(TopicPartitionCount.class);
  /** How often the count is read in passing, without a truncate. */
  static final Duration PERIODIC = Duration.ofSeconds(60);

  private final String topic;
  private final IntSupplier brokerCount;
  private final IntSupplier producerCount;
  private volatile int known;
  private long lastReadNanos;

  /**
   * @param topic the event topic
   * @param known the count read at start
   * @param brokerCount reads the count from the broker; throws on failure
   * @param producerCount the count in the producer's metadata
   */
  TopicPartitionCount(String topic, int known, IntSupplier brokerCount, IntSupplier producerCount) {
    this.topic = topic;
    this.known = known;
    this.brokerCount = brokerCount;
    this.producerCount = producerCount;
    this.lastReadNanos = System.nanoTime();
  }

  /** A count read through {@code admin} (owned by the caller) and {@code producer}. */
  static TopicPartitionCount of(String topic, int known, Admin admin, Producer<?, ?> producer,
      Duration timeout) {
    return new TopicPartitionCount(topic, known, () -> {
      try {
        return admin.describeTopics(List.of(topic)).allTopicNames()
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(topic).partitions().size();
      } catch (ExecutionException e) {
        throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
      } catch (TimeoutException e) {
        throw new IllegalStateException("no answer within " + timeout.toMillis() + " ms", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }, () -> producer.partitionsFor(topic).size());
  }

  /**
   * Reads the count now, for a fan-out to every partition.
   *
   * @param key the namespace key of the fan-out, for the error
   * @return the partition count: at least the last one known
   * @throws EventDeliveryException if the broker cannot be asked
   */
  int forFanOut(String key) {
    try {
      return refresh();
    } catch (RuntimeException e) {
      throw new EventDeliveryException(key, "cannot read the partition count of " + topic
          + " before sending a copy of the namespace invalidation to each partition ("
          + e.getMessage() + "); its change stays uncommitted and is captured again after a"
          + " restart", e);
    }
  }

  /** Reads the count if the last read is older than {@link #PERIODIC}; a failure is logged. */
  void refreshIfDue() {
    if (System.nanoTime() - lastReadNanos < PERIODIC.toNanos()) {
      return;
    }
    try {
      refresh();
    } catch (RuntimeException e) {
      lastReadNanos = System.nanoTime();
      LOG.warn("Could not read the partition count of {} ({}); using {}", topic, e.getMessage(),
          known);
    }
  }

  /** @return the count last read */
  int known() {
    return known;
  }

  private int refresh() {
    int fresh = Math.max(brokerCount.getAsInt(), producerCount.getAsInt());
    lastReadNanos = System.nanoTime();
    int before = known;
    if (fresh > before) {
      known = fresh;
      LOG.warn("Topic {} now has {} partitions (was {}): keys may move to other partitions; a"
          + " key's older events in its old partition may be applied after newer ones, which its"
          + " fence makes stale; truncates go to all {}", topic, fresh, before, fresh);
    }
    return Math.max(fresh, before);
  }
}
