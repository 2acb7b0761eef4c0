package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.RetriableCacheException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Makes sure the applies of a batch reached the replicas of every master they went to before
 * the batch counts as applied: Redis replicates asynchronously, so a master that acknowledges an
 * apply and dies before its replica got it takes the apply with it, and the promoted replica
 * keeps the old value and fence. After a batch's applies, each master they touched gets
 * {@code ROLE} and {@code WAIT numreplicas timeout}, in the same pipelined write.
 *
 * <p>Which connection: {@code WAIT} counts the writes of the connection it is sent on. Lettuce
 * routes a keyed command through the node connection it keys by (intent WRITE, host, port) of the
 * slot's master ({@code PooledClusterConnectionProvider.getWriteConnection}), and
 * {@code getConnection(host, port)} returns the connection of that same key; so the
 * {@code WAIT} goes on the connection that carried the applies, after them. ({@code
 * getConnection(nodeId)} would be another connection, whose {@code WAIT} counts nothing.)
 * {@link Pipelining#write} has opened these connections before the batch was written, so the
 * lookup does not connect.
 *
 * <p>How many replicas: the configured number, capped at the replicas attached to that master
 * as its own {@code ROLE} lists them, so that a master whose replica died does not stall the
 * writer forever. {@code WAIT}'s count is sent before its answer is known, so it uses what
 * {@code ROLE} said in the previous round for that node (the configured number for a node not
 * seen yet); the answer is judged against what {@code ROLE} says in this round, just before the
 * {@code WAIT}. The cost of the cap: a replica that is frozen or cut off rather than dead is
 * listed until the master's {@code repl-timeout} (60 s by default) drops it, and the writer
 * retries meanwhile; a replica whose link closed is dropped at once. While a master has no
 * replica at all, its applies are as durable as Redis makes them, no more.
 *
 * <p>Not covered: a command redirected by {@code MOVED}/{@code ASK} (a slot migration during
 * resharding) runs on another master than the one that gets the {@code WAIT}.
 *
 * <p>Not thread-safe: one per worker thread, like {@link FencedApplier}.
 */
public final class ReplicaAcks {
  private final RedisTopology connection;
  private final int wanted;
  private final long timeoutMs;
  private final Duration commandTimeout;
  /** Replicas each master ({@code host:port}) listed in its last {@code ROLE} answer. */
  private final Map<String, Integer> attached = new HashMap<>();

  /**
   * @param connection the worker's cluster connection
   * @param wanted replicas that must acknowledge, 0 for none (then this does nothing)
   * @param timeout how long {@code WAIT} waits on the server
   * @param commandTimeout the Redis command timeout, longer than {@code timeout}
   */
  public ReplicaAcks(RedisTopology connection, int wanted, Duration timeout,
      Duration commandTimeout) {
    this.connection = connection;
    this.wanted = wanted;
    this.timeoutMs = timeout.toMillis();
    this.commandTimeout = commandTimeout;
  }

  /** @return whether acknowledgements are asked for at all */
  public boolean enabled() {
    return wanted > 0;
  }

  /**
   * Queues {@code ROLE} and {@code WAIT} on every master that serves a slot of {@code keys}, on
   * the node connections that carried their applies; the caller has switched the connection to
   * manual flushing and queued the applies just before.
   *
   * @param keys the keys of the applies just queued
   * @return the acknowledgements in flight, for {@link #await}
   */
  public InFlight enqueue(Collection<CacheKey> keys) {
    if (!enabled() || keys.isEmpty()) {
      return InFlight.NONE;
    }
    List<String> routable = connection.masters();
    Map<String, Boolean> masters = new LinkedHashMap<>();
    List<String> unverified = new ArrayList<>();
    for (CacheKey k : keys) {
      String m = connection.masterOf(k.fenceKey().getBytes(StandardCharsets.UTF_8));
      if (m == null) {
        unverified.add("slot of " + k + " has no master");
      } else {
        masters.putIfAbsent(m, Boolean.TRUE);
      }
    }
    List<Ack> acks = new ArrayList<>(masters.size());
    for (String m : masters.keySet()) {
      if (!routable.contains(m)) {
        // not opened by Pipelining: its applies fail on their own, or succeed on a node the
        // cluster thinks failed; either way nothing here can vouch for them
        unverified.add(m + " is not a reachable master");
        continue;
      }
      StatefulRedisConnection<byte[], byte[]> node = connection.node(m);
      int n = Math.min(wanted, attached.getOrDefault(m, wanted));
      acks.add(new Ack(m, n, node.async().role(), node.async().waitForReplication(n, timeoutMs)));
    }
    return new InFlight(acks, unverified);
  }

  /**
   * Waits for the acknowledgements.
   *
   * @param f what {@link #enqueue} returned
   * @throws RetriableCacheException if a master could not be asked, or fewer replicas than
   *     wanted (capped at those it lists as attached) acknowledged within the timeout
   */
  public void await(InFlight f) {
    if (f == InFlight.NONE) {
      return;
    }
    List<String> missed = new ArrayList<>(f.unverified);
    long waitNanos = commandTimeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    long deadline = System.nanoTime() + waitNanos;
    for (Ack a : f.acks) {
      int listed;
      long acked;
      try {
        listed = replicasListed(get(a.role, deadline));
        if (listed < 0) {
          attached.remove(a.node);
          missed.add(a.node + " is no longer a master");
          continue;
        }
        // recorded before WAIT is awaited: if a replica just died, the next round asks for
        // fewer even when this WAIT times out on the client
        attached.put(a.node, listed);
        acked = get(a.waited, deadline);
      } catch (ExecutionException e) {
        missed.add(a.node + ": " + e.getCause());
        continue;
      } catch (TimeoutException e) {
        missed.add(a.node + ": no answer to ROLE or WAIT");
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RetriableCacheException("writer", null, "interrupted waiting for replica acknowledgements", e);
      }
      int needed = Math.min(wanted, listed);
      if (acked < needed) {
        missed.add(a.node + ": " + acked + " of " + needed + " replicas acknowledged within " + timeoutMs + " ms");
      }
    }
    if (!missed.isEmpty()) {
      throw new RetriableCacheException("writer", null, "replica acknowledgement missing: " + missed, null);
    }
  }

  private static <T> T get(RedisFuture<T> f, long deadline)
      throws ExecutionException, TimeoutException, InterruptedException {
    return f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  /** @return the replicas a {@code ROLE} answer lists, or -1 if the node is not a master */
  static int replicasListed(List<Object> role) {
    if (role == null || role.isEmpty() || !"master".equals(text(role.get(0)))) {
      return -1;
    }
    return role.size() > 2 && role.get(2) instanceof List<?> replicas ? replicas.size() : 0;
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
  }

  private record Ack(String node, int asked, RedisFuture<List<Object>> role, RedisFuture<Long> waited) {}

  /** Acknowledgements asked for and not yet awaited. */
  public static final class InFlight {
    static final InFlight NONE = new InFlight(List.of(), List.of());
    private final List<Ack> acks;
    private final List<String> unverified;

    private InFlight(List<Ack> acks, List<String> unverified) {
      this.acks = acks;
      this.unverified = unverified;
    }
  }
}
