package io.freshcache.client.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides how long a write waits for replica acknowledgements on a node, and remembers the nodes
 * whose replicas did not answer.
 *
 * <p>Why: a master whose replica is gone (dead, stopped, partitioned) answers every {@code WAIT}
 * only at its timeout. Waiting the full timeout on every write would make every invalidation of
 * that shard slow for as long as the replica is away, which can be hours. So after a full wait
 * timed out on a node, writes to it for the next second only check ({@code WAIT} with a 1 ms
 * timeout: a replica that is back and in sync answers at once); the first write after that
 * second waits the full timeout again. Every write that is not acknowledged is still reported to
 * its caller: the gate bounds the cost, not the guarantee.
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
  static final long CHECK_ONLY_MS = 1;

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
    Long since = unackedSince.get(node);
    return since != null && System.nanoTime() - since < RECHECK_NANOS ? CHECK_ONLY_MS : timeoutMs;
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
