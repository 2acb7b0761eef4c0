package io.freshcache.writer.internal;

import io.freshcache.writer.WriterMetricNames;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.kafka.common.TopicPartition;

/**
 * The worker's meters. Counts live in {@link AtomicLong}s bound as function counters, so the
 * worker's own accessors and {@code /metrics} read the same exact numbers. Consumer lag is
 * computed on the worker thread after each poll (the Kafka consumer is not thread-safe) and
 * published through one gauge per assigned partition, removed when the partition is revoked.
 */
public final class WriterMetrics {
  /** Events applied. */
  public final AtomicLong applied = new AtomicLong();
  /** Events found stale. */
  public final AtomicLong stale = new AtomicLong();
  /** Records dead-lettered. */
  public final AtomicLong deadLettered = new AtomicLong();
  /** Events applied as an invalidation because they could not be carried as they were. */
  public final AtomicLong downgraded = new AtomicLong();
  /** Batch retries. */
  public final AtomicLong retries = new AtomicLong();
  /** Notices published. */
  public final AtomicLong notices = new AtomicLong();
  /** Keys named in notices. */
  public final AtomicLong noticeKeys = new AtomicLong();
  /** Namespace invalidations applied (one per partition copy). */
  public final AtomicLong namespaces = new AtomicLong();
  /** Keys invalidated by namespace invalidations, over all passes. */
  public final AtomicLong namespaceKeys = new AtomicLong();
  /** Last commit-to-apply lag in ms, -1 before the first CDC event. */
  public final AtomicLong lastCommitToApplyMs = new AtomicLong(-1);

  private final MeterRegistry registry;
  private final Tags tags;
  private final Timer batchApply;
  private final Timer commitToApply;
  private final Timer heartbeatToApply;
  private final Timer produceToApply;
  private final Map<TopicPartition, Lag> lags = new ConcurrentHashMap<>();

  /**
   * @param registry where to register
   * @param group the consumer group, the {@code group} tag of every meter
   * @param oldestUnappliedNanos how long the oldest fetched, unapplied event has waited, ns (0
   *     for none); read from the scraping thread
   */
  public WriterMetrics(MeterRegistry registry, String group, LongSupplier oldestUnappliedNanos) {
    this.registry = registry;
    this.tags = Tags.of("group", group);
    counter(WriterMetricNames.EVENTS_APPLIED, applied, "events applied to Redis");
    counter(WriterMetricNames.EVENTS_STALE, stale, "events older than the key's fence, skipped");
    counter(WriterMetricNames.EVENTS_DEAD_LETTERED, deadLettered, "records sent to the dead-letter topic");
    counter(WriterMetricNames.EVENTS_DOWNGRADED, downgraded,
        "events that could not be carried (payload too big, unknown codec), applied as an invalidation of their key");
    counter(WriterMetricNames.BATCH_RETRIES, retries, "batch retries after Redis failures");
    counter(WriterMetricNames.NOTICES_PUBLISHED, notices, "near-cache notices published");
    counter(WriterMetricNames.NOTICE_KEYS, noticeKeys, "keys named in near-cache notices");
    counter(WriterMetricNames.NAMESPACE_INVALIDATIONS, namespaces,
        "namespace invalidations applied (one per partition copy of a truncate)");
    counter(WriterMetricNames.NAMESPACE_KEYS, namespaceKeys,
        "keys invalidated by namespace invalidations, over all scan passes");
    this.batchApply = Timer.builder(WriterMetricNames.BATCH_APPLY).tags(tags)
        .description("one batch from the first apply attempt to its published notices, retries included")
        .publishPercentileHistogram().publishPercentiles(0.5, 0.99)
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry);
    Gauge.builder(WriterMetricNames.OLDEST_UNAPPLIED_AGE, oldestUnappliedNanos, n -> n.getAsLong() / 1e9)
        .tags(tags).baseUnit("seconds").strongReference(true) // the supplier is referenced only here
        .description("how long the oldest fetched, not yet applied event has waited since it was fetched")
        .register(registry);
    this.commitToApply = lagTimer(WriterMetricNames.COMMIT_TO_APPLY_LAG,
        "source commit to apply, CDC events");
    this.heartbeatToApply = lagTimer(WriterMetricNames.HEARTBEAT_APPLY_LAG,
        "freshness heartbeat: its database commit to its apply in Redis");
    this.produceToApply = lagTimer(WriterMetricNames.PRODUCE_TO_APPLY_LAG,
        "event produced to applied");
  }

  /** @return the registry the meters are in */
  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Records one batch's apply duration.
   *
   * @param nanos the duration, nanoseconds
   */
  public void batchApplied(long nanos) {
    batchApply.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** @return the batch apply timer */
  public Timer batchApplyTimer() {
    return batchApply;
  }

  /**
   * Records the lags of one applied event; a time of 0 or less is unknown and not recorded.
   *
   * @param nowMs when the event was applied, epoch ms
   * @param commitTsMs the source commit time, epoch ms, or 0 for none
   * @param producedAtMs when the event was produced, epoch ms, or 0 for none
   */
  public void eventLags(long nowMs, long commitTsMs, long producedAtMs) {
    eventLags(nowMs, commitTsMs, producedAtMs, false);
  }

  /**
   * @param nowMs now, epoch ms
   * @param commitTsMs the source commit, epoch ms, or 0
   * @param producedAtMs when the event was produced, epoch ms, or 0
   * @param heartbeat whether the event is cdc-ingest's freshness heartbeat
   */
  public void eventLags(long nowMs, long commitTsMs, long producedAtMs, boolean heartbeat) {
    if (heartbeat && commitTsMs > 0) {
      heartbeatToApply.record(Math.max(0, nowMs - commitTsMs), TimeUnit.MILLISECONDS);
    }
    if (commitTsMs > 0) {
      long lag = Math.max(0, nowMs - commitTsMs);
      commitToApply.record(lag, TimeUnit.MILLISECONDS);
      lastCommitToApplyMs.set(lag);
    }
    if (producedAtMs > 0) {
      produceToApply.record(Math.max(0, nowMs - producedAtMs), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Registers lag gauges for newly assigned partitions.
   *
   * @param partitions the partitions; ones that already have a gauge keep it
   */
  public void assigned(Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      lags.computeIfAbsent(tp, p -> new Lag(Gauge.builder(WriterMetricNames.CONSUMER_LAG, this,
              m -> m.lagOf(p))
          .tags(tags).tag("topic", p.topic()).tag("partition", Integer.toString(p.partition()))
          .baseUnit("records").description("records behind the end of the partition or fetched and not yet applied")
          .register(registry)));
    }
  }

  /**
   * Removes the lag gauges of revoked or lost partitions.
   *
   * @param partitions the partitions; ones without a gauge are ignored
   */
  public void revoked(Collection<TopicPartition> partitions) {
    for (TopicPartition tp : partitions) {
      Lag l = lags.remove(tp);
      if (l != null) {
        registry.remove(l.gauge);
      }
    }
  }

  /**
   * Sets the lag of {@code tp}, as computed by the consumer after a poll.
   *
   * @param tp an assigned partition; ignored if it has no gauge
   * @param records records behind the end of the partition
   */
  public void lag(TopicPartition tp, long records) {
    Lag l = lags.get(tp);
    if (l != null) {
      l.value = records;
    }
  }

  /** @return total records behind over the assigned partitions whose lag is known */
  public long totalLag() {
    long sum = 0;
    for (Lag l : lags.values()) {
      sum += Math.max(0, l.value);
    }
    return sum;
  }

  private double lagOf(TopicPartition tp) {
    Lag l = lags.get(tp);
    return l == null || l.value < 0 ? Double.NaN : l.value;
  }

  private void counter(String name, AtomicLong value, String description) {
    FunctionCounter.builder(name, value, AtomicLong::doubleValue).tags(tags)
        .description(description).register(registry);
  }

  private Timer lagTimer(String name, String description) {
    return Timer.builder(name).tags(tags).description(description)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10))
        .register(registry);
  }

  private static final class Lag {
    final Gauge gauge;
    volatile long value = -1;

    Lag(Gauge gauge) {
      this.gauge = gauge;
    }
  }
}
