package io.freshcache.client;

/**
 * A change ({@link CacheClient#invalidate}, {@link CacheClient#writeThrough}) was applied on the
 * key's master and near caches were notified, but fewer replicas than
 * {@link CacheClientConfig#replicaAcks()} acknowledged it within
 * {@link CacheClientConfig#replicaAckTimeout()}. Redis replicates asynchronously: if the master
 * fails now, the replica promoted in its place may not have the change and would serve the old
 * value until its TTL.
 *
 * <p>Retriable: the change is idempotent. Retry it (once the shard has a live replica again it
 * is acknowledged; after a promotion the retry applies it on the new master), or publish the
 * invalidation through Kafka ({@link CacheClient#publishInvalidate}), which cache-writer applies
 * until it sticks.
 */
public class ReplicaAckTimeoutException extends CacheUnavailableException {
  private static final long serialVersionUID = 1L;

  private final long acknowledged;
  private final int required;

  /**
   * @param key the logical key concerned
   * @param message what happened
   * @param acknowledged replicas that acknowledged the change
   * @param required replicas that had to
   */
  public ReplicaAckTimeoutException(String key, String message, long acknowledged, int required) {
    super(key, message, null);
    this.acknowledged = acknowledged;
    this.required = required;
  }

  /** @return how many replicas acknowledged the change in time */
  public long acknowledged() {
    return acknowledged;
  }

  /**
   * @return how many replicas had to: {@link CacheClientConfig#replicaAcks()}, or the replicas attached
   *     to the master if fewer
   */
  public int required() {
    return required;
  }
}
