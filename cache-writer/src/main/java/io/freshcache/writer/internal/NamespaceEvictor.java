package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.RetriableCacheException;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Applies an {@link io.freshcache.protocol.CacheEvent.Op#INVALIDATE_NAMESPACE} event: drops the
 * cached value of every key of a namespace {@code service:entity} and revokes their leases.
 *
 * <p>How: <code>SCAN MATCH &#123;service:entity:*</code> on every master that serves slots (all
 * physical keys of a logical key start with its hash tag; a failed master still listed in the
 * topology is skipped, as in {@link Pipelining}: Lettuce's cluster-wide {@code SCAN} visits every
 * node flagged master and so failed on a dead one for as long as it stayed listed), and for every value, lease or fence
 * key found the {@code evict} script on its logical key: it deletes the value of every schema
 * version the fence lists, the lease and the fence. Revoking the lease is what stops a racing
 * fill: a reader that loaded the old row under a lease taken before the truncate finds the lease
 * gone and its fill refused. Deleting the fence is what lets the table start again: row versions
 * may restart from 1 after a truncate, and a kept fence would refuse every new row (LSN versions
 * only grow, so for them it makes no difference). That is safe because when a partition's copy of
 * the event is reached, every earlier event of that partition's keys has been applied.
 *
 * <p>Why two passes: {@code SCAN} returns for sure only the keys present during the whole
 * iteration. A reader that took its lease before the truncate and read the old row may fill
 * while the first pass runs, before the pass reaches that key's slot; the value key it creates
 * appeared during the iteration, so the pass may miss it. The second pass starts after the first
 * has finished, so that value is present during all of it and is found. A fill after the first
 * pass reached its key found the lease revoked, or held a lease taken after the truncate was
 * committed and so read the truncated table.
 *
 * <p>With {@link ReplicaAcks} enabled, each pipelined group of evictions is acknowledged by the
 * replicas of the masters it touched, as the applies of a batch are.
 *
 * <p>Cost: two scans of the keyspace (matching on the server) and one script call per key of
 * the namespace, pipelined {@value #PIPELINE} at a time; a truncate is rare. Not thread-safe;
 * shares the worker's connection and thread.
 */
public final class NamespaceEvictor {
  /** Keys asked for per {@code SCAN} call (a hint to the server). */
  static final int SCAN_COUNT = 1000;
  /** Script calls in flight at once. */
  static final int PIPELINE = 512;
  /** Scans over the keyspace per eviction; see the class comment. */
  public static final int PASSES = 2;

  private final RedisTopology connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> async;
  private final Duration timeout;
  private final ReplicaAcks replicaAcks;

  /**
   * Outcome of one eviction.
   *
   * @param invalidated keys evicted (script calls), over all passes; a key found in both passes
   *     counts twice
   * @param scanned physical keys the scans returned, over all passes
   */
  public record Result(int invalidated, int scanned) {}

  /**
   * @param connection the worker's cluster connection (reads from masters)
   * @param timeout how long one Redis call may take before the eviction fails and is retried
   */
  public NamespaceEvictor(RedisTopology connection,
      Duration timeout) {
    this(connection, timeout, new ReplicaAcks(connection, 0, Duration.ZERO, timeout));
  }

  /**
   * @param connection the worker's cluster connection (reads from masters)
   * @param timeout how long one Redis call may take before the eviction fails and is retried
   * @param replicaAcks the replica acknowledgements each group of evictions needs
   */
  public NamespaceEvictor(RedisTopology connection,
      Duration timeout, ReplicaAcks replicaAcks) {
    this.connection = connection;
    this.async = connection.async();
    this.timeout = timeout;
    this.replicaAcks = replicaAcks;
  }

  /**
   * Drops every key of {@code namespace}'s namespace.
   *
   * @param namespace a namespace key {@code service:entity:*}
   * @return keys evicted and physical keys scanned, over all passes
   * @throws IllegalArgumentException if {@code namespace} is not a namespace key
   * @throws RetriableCacheException if Redis failed; the eviction may be repeated as a whole
   */
  public Result evict(CacheKey namespace) {
    if (!namespace.isNamespace()) {
      throw new IllegalArgumentException("not a namespace key: " + namespace);
    }
    int invalidated = 0;
    int scanned = 0;
    for (int pass = 0; pass < PASSES; pass++) {
      Result r = pass(namespace);
      invalidated += r.invalidated();
      scanned += r.scanned();
    }
    return new Result(invalidated, scanned);
  }

  private Result pass(CacheKey namespace) {
    ScanArgs args = ScanArgs.Builder.matches(namespace.namespaceScanPattern()).limit(SCAN_COUNT);
    int invalidated = 0;
    int scanned = 0;
    for (String node : connection.masters()) {
      RedisAsyncCommands<byte[], byte[]> nodeAsync = connection.node(node).async();
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<byte[]> page = get(nodeAsync.scan(cursor, args), namespace);
        scanned += page.getKeys().size();
        invalidated += invalidate(targets(page.getKeys()), namespace);
        cursor = page;
      } while (!cursor.isFinished());
    }
    return new Result(invalidated, scanned);
  }

  /** A logical key and the value key to name in {@code apply}. */
  record Target(CacheKey key, int schema) {}

  /**
   * @return one target per value key, and one (schema 1) per lease or fence key; keys that are
   *     not physical cache keys are skipped
   */
  static List<Target> targets(List<byte[]> physicalKeys) {
    Set<Target> out = new LinkedHashSet<>();
    for (byte[] raw : physicalKeys) {
      String physical = new String(raw, StandardCharsets.UTF_8);
      CacheKey key = CacheKey.ofPhysical(physical);
      if (key == null) {
        continue;
      }
      String suffix = physical.substring(key.hashTag().length());
      if (suffix.equals(":lease") || suffix.equals(":fence")) {
        out.add(new Target(key, 1));
      } else if (suffix.startsWith(":v")) {
        try {
          int schema = Integer.parseInt(suffix.substring(2));
          if (schema >= 1) {
            out.add(new Target(key, schema));
          }
        } catch (NumberFormatException e) {
          // not a value key of ours
        }
      }
    }
    return new ArrayList<>(out);
  }

  private int invalidate(List<Target> targets, CacheKey namespace) {
    for (int from = 0; from < targets.size(); from += PIPELINE) {
      List<Target> chunk = targets.subList(from, Math.min(targets.size(), from + PIPELINE));
      Sent sent = send(chunk, false);
      List<Target> noScript = new ArrayList<>();
      for (int i = 0; i < sent.futures().size(); i++) {
        try {
          get(sent.futures().get(i), namespace);
        } catch (NoScriptOnNode e) {
          noScript.add(chunk.get(i));
        }
      }
      if (!noScript.isEmpty()) {
        Sent again = send(noScript, true);
        for (RedisFuture<Long> f : again.futures()) {
          get(f, namespace);
        }
        replicaAcks.await(again.acks());
      }
      replicaAcks.await(sent.acks());
    }
    return targets.size();
  }

  /** Evictions written, and the acknowledgements asked after them. */
  private record Sent(List<RedisFuture<Long>> futures, ReplicaAcks.InFlight acks) {}

  private Sent send(List<Target> targets, boolean withSource) {
    return Pipelining.write(connection, () -> {
      List<RedisFuture<Long>> futures = new ArrayList<>(targets.size());
      List<CacheKey> logical = new ArrayList<>(targets.size());
      for (Target t : targets) {
        logical.add(t.key());
        CacheKey k = t.key();
        byte[][] keys = {bytes(k.fenceKey()), bytes(k.leaseKey()), bytes(k.valueKey(t.schema()))};
        byte[][] args = {bytes(k.valueKeyPrefix())};
        futures.add(withSource
            ? async.eval(CacheScripts.EVICT.source(), ScriptOutputType.INTEGER, keys, args)
            : async.evalsha(CacheScripts.EVICT.sha1(), ScriptOutputType.INTEGER, keys, args));
      }
      return new Sent(futures, replicaAcks.enqueue(logical));
    });
  }

  private <T> T get(RedisFuture<T> future, CacheKey namespace) {
    try {
      return future.get(timeout.toNanos() * 2, TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RedisNoScriptException) {
        throw new NoScriptOnNode();
      }
      throw failure(namespace, e.getCause());
    } catch (TimeoutException e) {
      throw failure(namespace, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(namespace, e);
    }
  }

  private static RetriableCacheException failure(CacheKey namespace, Throwable cause) {
    return new RetriableCacheException("writer", namespace.toString(),
        "namespace invalidation failed: " + cause, cause);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The script was not loaded on a node (restarted, promoted): send with EVAL. */
  private static final class NoScriptOnNode extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NoScriptOnNode() {
      super(null, null, false, false);
    }
  }
}
