package io.freshcache.bench.faults;

/** What the schedule injects. {@link #TRUNCATE} is a workload event, not a fault, but scheduled alike. */
public enum FaultKind {
  /** kill -9 of a Redis master; once its replica is promoted the writer is restarted while the node stays down. */
  REDIS_MASTER_KILL,
  /** kill -9 of cache-writer; its supervisor starts it again. */
  WRITER_KILL,
  /** kill -9 of cdc-ingest; its supervisor starts it again. */
  INGEST_KILL,
  /** The Kafka broker stopped (SIGTERM, or kill -9 every other time in the random schedule) and started. */
  KAFKA_RESTART,
  /** PostgreSQL stopped ({@code pg_ctl -m fast}) and started. */
  POSTGRES_RESTART,
  /** A second cache-writer joins the consumer group, then leaves. */
  REBALANCE,
  /** An upsert-rule row grown past the producer's request size, then shrunk back. */
  OVERSIZE_ROW,
  /** TRUNCATE of one table, then every row inserted again at version 1. */
  TRUNCATE;

  /** @return whether this is a fault (everything but {@link #TRUNCATE}) */
  public boolean isFault() {
    return this != TRUNCATE;
  }
}
