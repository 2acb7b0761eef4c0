package io.freshcache.writer;

/**
 * Names of the meters a {@link CacheWriter} and its {@link WriteBehindSink} register, as
 * Micrometer names; the Prometheus names that {@code /metrics} shows follow Micrometer's naming
 * convention and are given beside each. Every meter carries a {@code group} tag (the consumer
 * group).
 */
public final class WriterMetricNames {
  private WriterMetricNames() {}

  /** Counter of events applied to Redis: {@code freshcache_writer_events_applied_total}. */
  public static final String EVENTS_APPLIED = "freshcache.writer.events.applied";
  /**
   * Counter of events skipped as older than the key's fence:
   * {@code freshcache_writer_events_stale_total}.
   */
  public static final String EVENTS_STALE = "freshcache.writer.events.stale";
  /**
   * Counter of records sent to the dead-letter topic:
   * {@code freshcache_writer_events_dead_lettered_total}.
   */
  public static final String EVENTS_DEAD_LETTERED = "freshcache.writer.events.dead.lettered";
  /**
   * Counter of events with a valid key that could not be carried as they were (an upsert whose
   * payload is over {@link CacheWriterConfig#maxPayloadBytes()}, or whose codec is unknown) and
   * were applied as an invalidation of their key instead; each is also counted in
   * {@link #EVENTS_DEAD_LETTERED}: {@code freshcache_writer_events_downgraded_total}.
   */
  public static final String EVENTS_DOWNGRADED = "freshcache.writer.events.downgraded";
  /** Counter of batch retries after Redis failures: {@code freshcache_writer_batch_retries_total}. */
  public static final String BATCH_RETRIES = "freshcache.writer.batch.retries";
  /**
   * Timer of one batch from the first apply attempt until its notices are published, retries
   * included: {@code freshcache_writer_batch_apply_seconds} (histogram; p50 and p99 also in the
   * timer's in-process snapshot).
   */
  public static final String BATCH_APPLY = "freshcache.writer.batch.apply";
  /**
   * Timer from the source database commit ({@code source.commitTsMs}) to the apply of a CDC
   * event: {@code freshcache_writer_commit_to_apply_lag_seconds} (histogram).
   */
  public static final String COMMIT_TO_APPLY_LAG = "freshcache.writer.commit.to.apply.lag";
  /**
   * Timer from the database commit of cdc-ingest's freshness heartbeat (a row of
   * {@code freshcache:heartbeat}, updated every few seconds whether or not the application writes)
   * to its apply in Redis: {@code freshcache_heartbeat_apply_lag_seconds} (histogram). Alert on it
   * (or on its count not growing) to see the pipeline's freshness when nothing else changes.
   */
  public static final String HEARTBEAT_APPLY_LAG = "freshcache.heartbeat.apply.lag";
  /**
   * Timer from the event's {@code producedAtMs} to its apply, for every event:
   * {@code freshcache_writer_produce_to_apply_lag_seconds} (histogram).
   */
  public static final String PRODUCE_TO_APPLY_LAG = "freshcache.writer.produce.to.apply.lag";
  /**
   * Gauge of records not yet applied in each assigned partition, tags {@code topic} and
   * {@code partition}: those behind the end of the partition plus those fetched and not yet
   * applied (and noticed), so that a worker stuck on a batch shows its lag:
   * {@code freshcache_writer_consumer_lag_records}.
   */
  public static final String CONSUMER_LAG = "freshcache.writer.consumer.lag";
  /**
   * Gauge of how long the oldest event the worker fetched and has not yet applied has waited
   * since it was fetched, 0 when none waits; it grows while the worker is stuck (Redis
   * unreachable, a shard without a master), and {@code /health} turns DOWN past
   * {@link CacheWriterConfig#maxUnappliedAge()}: {@code freshcache_writer_oldest_unapplied_age_seconds}.
   */
  public static final String OLDEST_UNAPPLIED_AGE = "freshcache.writer.oldest.unapplied.age";
  /** Counter of near-cache notices published: {@code freshcache_writer_notices_published_total}. */
  public static final String NOTICES_PUBLISHED = "freshcache.writer.notices.published";
  /** Counter of keys named in near-cache notices: {@code freshcache_writer_notice_keys_total}. */
  public static final String NOTICE_KEYS = "freshcache.writer.notice.keys";
  /**
   * Counter of namespace invalidations applied, one per partition copy of a truncate:
   * {@code freshcache_writer_namespace_invalidations_total}.
   */
  public static final String NAMESPACE_INVALIDATIONS = "freshcache.writer.namespace.invalidations";
  /**
   * Counter of keys those invalidations dropped, over all scan passes:
   * {@code freshcache_writer_namespace_keys_total}.
   */
  public static final String NAMESPACE_KEYS = "freshcache.writer.namespace.keys";

  /**
   * Counter of rows written by the write-behind sink:
   * {@code freshcache_writer_sink_rows_written_total}.
   */
  public static final String SINK_ROWS_WRITTEN = "freshcache.writer.sink.rows.written";
  /**
   * Counter of upserts the sink sent to the dead-letter topic (payload not a row of the table, or
   * refused by the database): {@code freshcache_writer_sink_rows_rejected_total}.
   */
  public static final String SINK_ROWS_REJECTED = "freshcache.writer.sink.rows.rejected";
  /**
   * Counter of sink flush retries while the database failed:
   * {@code freshcache_writer_sink_retries_total}.
   */
  public static final String SINK_RETRIES = "freshcache.writer.sink.retries";
  /** Timer of one successful sink flush: {@code freshcache_writer_sink_flush_seconds} (histogram). */
  public static final String SINK_FLUSH = "freshcache.writer.sink.flush";
  /** Gauge of rows buffered and not yet written: {@code freshcache_writer_sink_pending_rows}. */
  public static final String SINK_PENDING = "freshcache.writer.sink.pending";
}
