package io.freshcache.cdc;

/**
 * Names of the meters a {@link CdcIngest} registers, as Micrometer names; the Prometheus names
 * that {@code /metrics} shows follow Micrometer's naming convention and are given beside each.
 * Every meter carries a {@code connector} tag ({@link CdcIngestConfig#connectorName()}).
 */
public final class CdcMetricNames {
  private CdcMetricNames() {}

  /**
   * Counter of events Kafka acknowledged, tags {@code table} and {@code op} (the wire name:
   * {@code invalidate}, {@code upsert}, {@code delete}, {@code invalidate_namespace}):
   * {@code freshcache_cdc_events_produced_total}. A truncate's {@code invalidate_namespace} counts
   * once per partition, one for each copy sent.
   */
  public static final String EVENTS_PRODUCED = "freshcache.cdc.events.produced";
  /**
   * Gauge of events acknowledged per second over the last 10 s, tag {@code table}:
   * {@code freshcache_cdc_events_per_second}. Prometheus can compute the same from the counter;
   * this one is for a quick look without a query.
   */
  public static final String EVENTS_PER_SECOND = "freshcache.cdc.events.per.second";
  /**
   * Timer from a change's commit (the database's commit timestamp, microseconds) to Kafka's
   * acknowledgement of its event, one sample per change:
   * {@code freshcache_cdc_commit_to_produce_lag_seconds} (histogram buckets).
   */
  public static final String COMMIT_TO_PRODUCE_LAG = "freshcache.cdc.commit.to.produce.lag";
  /**
   * Counter of failures, tag {@code type}: {@code delivery} (Kafka did not acknowledge),
   * {@code mapping} (a rule does not fit its table), {@code engine} (the engine stopped with
   * another error): {@code freshcache_cdc_errors_total}.
   */
  public static final String ERRORS = "freshcache.cdc.errors";
  /**
   * Counter of changed rows skipped without a key or version:
   * {@code freshcache_cdc_rows_skipped_total}.
   */
  public static final String ROWS_SKIPPED = "freshcache.cdc.rows.skipped";
  /** Counter of truncates ignored by their rule: {@code freshcache_cdc_truncates_ignored_total}. */
  public static final String TRUNCATES_IGNORED = "freshcache.cdc.truncates.ignored";
  /**
   * Counter of upsert-rule updates sent as invalidations because an unchanged TOAST value was
   * missing: {@code freshcache_cdc_upserts_invalidated_total}.
   */
  public static final String UPSERTS_INVALIDATED = "freshcache.cdc.upserts.invalidated";
  /**
   * Counter of upserts sent as invalidations of their key because they could not be carried,
   * tag {@code reason}: {@code size} (the event is larger than {@code CDC_MAX_EVENT_BYTES} or the
   * topic's {@code max.message.bytes}, or Kafka refused it as too large) or {@code codec} (the
   * codec could not encode the row): {@code freshcache_cdc_upserts_uncarried_total}. Each key is
   * logged once (with the size) while it is among the last 10,000 keys logged.
   */
  public static final String UPSERTS_UNCARRIED = "freshcache.cdc.upserts.uncarried";
  /**
   * Gauge of WAL bytes the replication slot retains beyond its confirmed position (what
   * PostgreSQL may not recycle yet), read at most once a second:
   * {@code freshcache_cdc_slot_lag_bytes}; NaN while it cannot be read.
   */
  public static final String SLOT_LAG = "freshcache.cdc.slot.lag";
  /** Gauge, 1 while the engine runs: {@code freshcache_cdc_engine_up}. */
  public static final String ENGINE_UP = "freshcache.cdc.engine.up";
  /** Summary of changes per handled batch: {@code freshcache_cdc_batch_size}. */
  public static final String BATCH_SIZE = "freshcache.cdc.batch.size";
}
