package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.RetriableCacheException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Applies a batch of events to Redis Cluster through the {@code apply} script, pipelined: every
 * command of the batch is written before the first answer is awaited. Lettuce keeps one
 * connection per node and writes each node's commands in order once that connection is open
 * ({@link Pipelining#write} sees to it), and all events of one key go to
 * one slot, so the events of a key are applied in batch order.
 *
 * <p>A batch either succeeds as a whole or throws {@link RetriableCacheException}; the caller
 * then applies the same batch again. That is safe because {@code apply} is idempotent and fenced:
 * re-applying an event leaves the same state, and an older event never overwrites a newer one.
 *
 * <p>With {@link ReplicaAcks} enabled, a batch also counts as applied only once the replicas of
 * every master it touched acknowledged it ({@code WAIT}, queued after the applies in the same
 * write); if they do not, the batch fails as retriable like any other Redis failure.
 *
 * <p>Not thread-safe: one applier per worker thread. It switches the shared connection to
 * manual flushing while it writes a batch, so nothing else may use that connection meanwhile.
 */
public final class FencedApplier {
  private final RedisTopology connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> async;
  private final byte[] fenceTtlMs;
  private final Duration timeout;
  private final ReplicaAcks replicaAcks;

  /**
   * Outcome of one batch.
   *
   * @param applied events that changed the key's state
   * @param stale events skipped because a newer version is known
   * @param noticeKeys the keys near caches must drop: those of the applied events and of the
   *     stale ones, in batch order, with repeats. A stale event changed nothing in Redis, but
   *     Redis already holds something newer than the event, which a near cache may not have seen
   *     (its notice was lost, or it loaded an old value after it); so it is told all the same.
   */
  public record Result(int applied, int stale, List<CacheKey> noticeKeys) {
    /**
     * Copies the key list.
     *
     * @param applied events that changed the key's state
     * @param stale events skipped because a newer version is known
     * @param noticeKeys the keys of the applied and the stale events; not null
     */
    public Result {
      noticeKeys = List.copyOf(noticeKeys);
    }
  }

  /**
   * An applier that waits for no replica.
   *
   * @param connection the worker's cluster connection
   * @param timeout how long one batch may wait for Redis before it fails and is retried
   * @param fenceTtl lifetime of version fences
   */
  public FencedApplier(RedisTopology connection, Duration timeout,
      Duration fenceTtl) {
    this(connection, timeout, fenceTtl, new ReplicaAcks(connection, 0, Duration.ZERO, timeout));
  }

  /**
   * @param connection the worker's cluster connection
   * @param timeout how long one batch may wait for Redis before it fails and is retried
   * @param fenceTtl lifetime of version fences
   * @param replicaAcks the replica acknowledgements each batch needs, on {@code connection}
   */
  public FencedApplier(RedisTopology connection, Duration timeout,
      Duration fenceTtl, ReplicaAcks replicaAcks) {
    this.connection = connection;
    this.async = connection.async();
    this.fenceTtlMs = bytes(Long.toString(fenceTtl.toMillis()));
    this.timeout = timeout;
    this.replicaAcks = replicaAcks;
  }

  /**
   * Applies {@code events} in order: {@link #enqueue} with one flush, then {@link #await}.
   *
   * @param events the events, in the order to apply them
   * @return how many were applied and stale, and the keys to notice
   * @throws RetriableCacheException if any command failed or timed out; nothing of the batch may
   *     be considered applied
   */
  public Result apply(List<CacheEvent> events) {
    return await(Pipelining.write(connection, () -> enqueue(events)));
  }


  /**
   * Writes the {@code apply} commands of {@code events} to the connection without flushing: the
   * caller has switched the connection to manual flushing and flushes once for everything it
   * queued, so a batch and other commands go out in one write.
   *
   * @param events the events, in the order to apply them
   * @return the batch in flight, for {@link #await}
   */
  public InFlight enqueue(List<CacheEvent> events) {
    List<RedisFuture<Long>> futures = send(events, false);
    return new InFlight(events, futures, replicaAcks.enqueue(keys(events)));
  }

  /**
   * Waits for the answers of an enqueued batch. If a node had no script, sends every event of the
   * keys that met NOSCRIPT again with {@code EVAL}, in batch order; the rest is not sent twice.
   * Then waits for the replicas' acknowledgements, if any are asked for.
   *
   * @param f the batch from {@link #enqueue}
   * @return how many were applied and stale, and the keys to notice
   * @throws RetriableCacheException if any command failed or timed out, or the replicas did not
   *     acknowledge
   */
  public Result await(InFlight f) {
    if (f.events.isEmpty()) {
      return new Result(0, 0, List.of());
    }
    long[] results = results(f.events, f.futures);
    // a node without the script (restarted, promoted) answered NOSCRIPT: send again with EVAL
    // every event of the keys that met it, in batch order, so that no event of a key overtakes an
    // earlier one; events of other keys went through and are not applied twice
    Set<CacheKey> missed = new HashSet<>();
    for (int i = 0; i < results.length; i++) {
      if (results[i] == NO_SCRIPT) {
        missed.add(f.events.get(i).key());
      }
    }
    if (!missed.isEmpty()) {
      List<Integer> again = new ArrayList<>();
      for (int i = 0; i < results.length; i++) {
        if (missed.contains(f.events.get(i).key())) {
          again.add(i);
        }
      }
      List<CacheEvent> events = new ArrayList<>(again.size());
      again.forEach(i -> events.add(f.events.get(i)));
      record Resent(List<RedisFuture<Long>> futures, ReplicaAcks.InFlight acks) {}
      Resent resent = Pipelining.write(connection, () -> {
        List<RedisFuture<Long>> futures = send(events, true);
        return new Resent(futures, replicaAcks.enqueue(keys(events)));
      });
      long[] second = results(events, resent.futures());
      replicaAcks.await(resent.acks());
      for (int j = 0; j < second.length; j++) {
        if (second[j] == NO_SCRIPT) {
          throw failure(events.get(j), new IllegalStateException("NOSCRIPT in answer to EVAL"));
        }
        results[again.get(j)] = second[j];
      }
    }
    replicaAcks.await(f.acks);
    int applied = 0;
    int stale = 0;
    List<CacheKey> keys = new ArrayList<>(results.length);
    for (int i = 0; i < results.length; i++) {
      if (results[i] == CacheScripts.APPLY_APPLIED) {
        applied++;
      } else {
        stale++;
      }
      keys.add(f.events.get(i).key());
    }
    return new Result(applied, stale, keys);
  }

  /** A batch whose commands are written and whose answers are outstanding. */
  public static final class InFlight {
    private final List<CacheEvent> events;
    private final List<RedisFuture<Long>> futures;
    private final ReplicaAcks.InFlight acks;

    private InFlight(List<CacheEvent> events, List<RedisFuture<Long>> futures, ReplicaAcks.InFlight acks) {
      this.events = events;
      this.futures = futures;
      this.acks = acks;
    }
  }

  /**
   * The keys of a batch in flight whose every apply Redis answered (applied, or refused as
   * stale), waiting at most {@code max} in all for answers still outstanding. After a batch
   * failed (a master down until its replica is promoted), these keys' new values are already
   * what Redis serves, so their notices can go out at once instead of after the failed keys'
   * retries. A key with any failed, unanswered or NOSCRIPT answer is left out (it is applied
   * again with the batch).
   *
   * @param f the batch from {@link #enqueue}
   * @param max how long to wait for outstanding answers
   * @return the answered keys, in batch order, without repeats
   */
  public List<CacheKey> answeredKeys(InFlight f, Duration max) {
    Set<CacheKey> answered = new java.util.LinkedHashSet<>();
    Set<CacheKey> failed = new HashSet<>();
    long deadline = System.nanoTime() + max.toNanos();
    for (int i = 0; i < f.futures.size(); i++) {
      CacheKey k = f.events.get(i).key();
      if (failed.contains(k)) {
        continue;
      }
      try {
        f.futures.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        answered.add(k);
      } catch (ExecutionException | TimeoutException e) {
        failed.add(k);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return List.of();
      }
    }
    answered.removeAll(failed);
    return new ArrayList<>(answered);
  }

  private static List<CacheKey> keys(List<CacheEvent> events) {
    List<CacheKey> keys = new ArrayList<>(events.size());
    for (CacheEvent e : events) {
      keys.add(e.key());
    }
    return keys;
  }

  /** Marks an answer that was NOSCRIPT; the script's own answers are 0 or 1. */
  private static final long NO_SCRIPT = Long.MIN_VALUE;

  /**
   * @return the script's answer per event, {@link #NO_SCRIPT} where the node lacked the script
   * @throws RetriableCacheException on any other failure or a timeout
   */
  private long[] results(List<CacheEvent> events, List<RedisFuture<Long>> futures) {
    long[] results = new long[futures.size()];
    long deadline = System.nanoTime() + timeout.toNanos() * 2;
    for (int i = 0; i < futures.size(); i++) {
      try {
        long left = Math.max(1, deadline - System.nanoTime());
        results[i] = futures.get(i).get(left, TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RedisNoScriptException)) {
          throw failure(events.get(i), e.getCause());
        }
        results[i] = NO_SCRIPT;
      } catch (TimeoutException e) {
        throw failure(events.get(i), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(events.get(i), e);
      }
    }
    return results;
  }

  private List<RedisFuture<Long>> send(List<CacheEvent> events, boolean withSource) {
    List<RedisFuture<Long>> futures = new ArrayList<>(events.size());
    for (CacheEvent e : events) {
      CacheKey k = e.key();
      byte[][] keys = {bytes(k.fenceKey()), bytes(k.leaseKey()), bytes(k.valueKey(e.schema()))};
      byte[][] args = {
          bytes(CacheScripts.opArg(e.op())),
          bytes(Long.toString(e.version())),
          e.payload() == null ? new byte[0] : UpsertEnvelopes.envelope(e),
          bytes(Long.toString(e.ttlMs())),
          bytes(CacheScripts.schemaField(e.schema())),
          fenceTtlMs,
          bytes(k.valueKeyPrefix()),
          bytes(CacheScripts.createdArg(e.created()))};
      futures.add(withSource
          ? async.eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER, keys, args)
          : async.evalsha(CacheScripts.APPLY.sha1(), ScriptOutputType.INTEGER, keys, args));
    }
    return futures;
  }

  private static RetriableCacheException failure(CacheEvent e, Throwable cause) {
    return new RetriableCacheException("writer", e.key().toString(),
        "apply failed: " + cause, cause);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
