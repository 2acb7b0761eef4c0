package io.freshcache.client.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides how long a write waits for replica acknowledgements on a node, and remembers the nodes
 * whose replicas did not answer.
 *
 * <p>Every write waits the full timeout. A replica that is dead or disconnected is not waited for
 * at all (the caller caps the count at the replicas attached to the master), so a full wait
 * that times out means an attached replica that is frozen or far behind; the write is reported
 * to its caller as unacknowledged. An earlier version checked for only 1 ms during the second
 * after a timeout, which on a loaded machine turned one slow acknowledgement into a second of
 * failed invalidations.
 *
 * <p>A write waits for at most as many replicas as are attached to its master ({@link
 * RedisLink#writeOnMaster}): a master whose replicas are all gone cannot get an acknowledgement,
 * and every invalidation of its shard failing for as long as the replicas stay down (hours,
 * possibly) would turn a lost redundancy into an outage. Such writes skip {@code WAIT}; a
 * failover of that shard cannot happen meanwhile, since there is no replica to promote.
 */
public final class ReplicaAckGate {
  private static final Logger log = LoggerFactory.getLogger(ReplicaAckGate.class);
  static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final int required;
  private final long timeoutMs;
  private final ConcurrentHashMap<String, Long> unackedSince = new ConcurrentHashMap<>();

  /**
   * @param required replicas that must acknowledge a write, 0 for none
   * @param timeoutMs the full wait, ms, positive
   */
  public ReplicaAckGate(int required, long timeoutMs) {
    this.required = required;
    this.timeoutMs = timeoutMs;
  }

  /** @return replicas that must acknowledge a write, 0 for none */
  public int required() {
    return required;
  }

  /**
   * @param node the master, {@code host:port}
   * @return the {@code WAIT} timeout for a write to {@code node} now, ms
   */
  public long waitMs(String node) {
    return timeoutMs;
  }

  /**
   * Records the outcome of a wait on {@code node}.
   *
   * @param node the master, {@code host:port}
   * @param acks replicas that acknowledged
   * @param wanted replicas the write waited for (at most {@link #required()}), at least 1
   * @return whether the write was acknowledged by enough replicas
   */
  public boolean record(String node, long acks, int wanted) {
    if (acks >= wanted) {
      if (unackedSince.remove(node) != null) {
        log.info("replicas of {} acknowledge writes again", node);
      }
      return true;
    }
    long now = System.nanoTime();
    Long before = unackedSince.get(node);
    if (before == null || now - before >= RECHECK_NANOS) {
      if (before == null) {
        log.warn("{} of {} replicas of {} acknowledged a write within {} ms; writes to it are reported"
            + " unacknowledged until they do", acks, wanted, node, timeoutMs);
      }
      unackedSince.put(node, now);
    }
    return false;
  }
}
