package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.RetriableCacheException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Applies a batch of events to Redis Cluster through the {@code apply} script, pipelined: every
 * command of the batch is written before the first answer is awaited. Lettuce keeps one
 * connection per node and writes each node's commands in order, and all events of one key go to
 * one slot, so the events of a key are applied in batch order.
 *
 * <p>A batch either succeeds as a whole or throws {@link RetriableCacheException}; the caller
 * then applies the same batch again. That is safe because {@code apply} is idempotent and fenced:
 * re-applying an event leaves the same state, and an older event never overwrites a newer one.
 *
 * <p>Not thread-safe: one applier per worker thread.
 */
public final class FencedApplier implements AutoCloseable {
  private final RedisClusterClient client;
  private final StatefulRedisClusterConnection<byte[], byte[]> connection;
  private final RedisAdvancedClusterAsyncCommands<byte[], byte[]> async;
  private final byte[] fenceTtlMs;
  private final Duration timeout;

  /** Outcome of one batch: how many events were applied and how many were stale. */
  public record Result(int applied, int stale) {}

  /**
   * Connects to the cluster.
   *
   * @param nodes seed nodes as {@code host:port}
   * @param password the password, or {@code null}
   * @param timeout command timeout; a batch that takes longer fails and is retried
   * @param fenceTtl lifetime of version fences
   */
  public FencedApplier(List<String> nodes, String password, Duration timeout, Duration fenceTtl) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String n : nodes) {
      int colon = n.lastIndexOf(':');
      RedisURI.Builder b = RedisURI.builder().withHost(n.substring(0, colon))
          .withPort(Integer.parseInt(n.substring(colon + 1))).withTimeout(timeout);
      if (password != null) {
        b.withPassword(password.toCharArray());
      }
      seeds.add(b.build());
    }
    this.client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(Duration.ofSeconds(1))
            .enableAllAdaptiveRefreshTriggers()
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
            .build())
        .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).build())
        .timeoutOptions(TimeoutOptions.enabled(timeout))
        .build());
    this.connection = client.connect(ByteArrayCodec.INSTANCE);
    connection.setTimeout(timeout);
    this.async = connection.async();
    this.fenceTtlMs = bytes(Long.toString(fenceTtl.toMillis()));
    this.timeout = timeout;
  }

  /**
   * Applies {@code events} in order.
   *
   * @throws RetriableCacheException if any command failed or timed out; nothing of the batch may
   *     be considered applied
   */
  public Result apply(List<CacheEvent> events) {
    if (events.isEmpty()) {
      return new Result(0, 0);
    }
    List<RedisFuture<Long>> futures = send(events, false);
    int applied = 0;
    int stale = 0;
    List<Integer> noScript = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos() * 2;
    for (int i = 0; i < futures.size(); i++) {
      try {
        long left = Math.max(1, deadline - System.nanoTime());
        long r = futures.get(i).get(left, TimeUnit.NANOSECONDS);
        if (r == CacheScripts.APPLY_APPLIED) {
          applied++;
        } else {
          stale++;
        }
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RedisNoScriptException) {
          noScript.add(i);
        } else {
          throw failure(events.get(i), e.getCause());
        }
      } catch (TimeoutException e) {
        throw failure(events.get(i), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(events.get(i), e);
      }
    }
    if (!noScript.isEmpty()) {
      // a node without the script (restarted, promoted): send the whole batch again with EVAL,
      // in order, so that no event of a key overtakes an earlier one
      Result again = applyWithSource(events);
      return again;
    }
    return new Result(applied, stale);
  }

  private Result applyWithSource(List<CacheEvent> events) {
    List<RedisFuture<Long>> futures = send(events, true);
    int applied = 0;
    int stale = 0;
    for (int i = 0; i < futures.size(); i++) {
      try {
        long r = futures.get(i).get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
        if (r == CacheScripts.APPLY_APPLIED) {
          applied++;
        } else {
          stale++;
        }
      } catch (ExecutionException e) {
        throw failure(events.get(i), e.getCause());
      } catch (TimeoutException e) {
        throw failure(events.get(i), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(events.get(i), e);
      }
    }
    return new Result(applied, stale);
  }

  private List<RedisFuture<Long>> send(List<CacheEvent> events, boolean withSource) {
    List<RedisFuture<Long>> futures = new ArrayList<>(events.size());
    connection.setAutoFlushCommands(false);
    try {
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
            bytes(k.valueKeyPrefix())};
        futures.add(withSource
            ? async.eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER, keys, args)
            : async.evalsha(CacheScripts.APPLY.sha1(), ScriptOutputType.INTEGER, keys, args));
      }
    } finally {
      connection.flushCommands();
      connection.setAutoFlushCommands(true);
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

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
