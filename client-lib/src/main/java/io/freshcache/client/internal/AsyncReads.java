package io.freshcache.client.internal;

import static io.freshcache.client.internal.ReadContext.bytes;

import io.freshcache.client.CachePolicy;
import io.freshcache.client.TypeRef;
import io.freshcache.client.Versioned;
import io.freshcache.client.VersionedLoader;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The non-blocking read path. The same protocol as {@link SyncReads}, with no thread parked:
 * Redis calls are Lettuce futures, loaders run on the client's loader pool, and waiting for a
 * busy lease is a delayed re-try of {@code getOrLease}.
 *
 * <p>Decoding happens on the thread that completes the Redis future (a Lettuce I/O thread) —
 * cheap for values of cache size, and it saves a hand-off on the hot path.
 */
public final class AsyncReads {
  private static final long FIRST_BACKOFF_MS = 1;
  private static final long MAX_BACKOFF_MS = 5;
  private static final int MAX_ERRORS_WHILE_WAITING = 2;

  private final ReadContext ctx;
  private final ConcurrentHashMap<String, CompletableFuture<Object>> flights = new ConcurrentHashMap<>();

  /** @param ctx the shared read machinery */
  public AsyncReads(ReadContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Reads {@code k}, loading on a miss; the future never fails for a Redis failure.
   *
   * @param <T> the value type
   * @param k the logical key
   * @param type the value's type, for decoding
   * @param policy the entity's policy
   * @param loader loads the value and its version on a miss
   * @return a future of the value, or of {@code null} if it does not exist; it fails with the
   *     loader's exception or a {@link io.freshcache.client.LoadSheddingException}
   */
  @SuppressWarnings("unchecked")
  public <T> CompletableFuture<T> get(CacheKey k, TypeRef<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    ClientMeters.Entity m = ctx.meters.entity(policy.name());
    if (ctx.near != null && policy.nearCache()) {
      Object v = ctx.nearGet(k, policy, type);
      if (v != null) { // stored for this very type (a key read as two types is not shared)
        m.nearHits.increment();
        return CompletableFuture.completedFuture((T) v);
      }
      m.nearMisses.increment();
    }
    long nearEpoch = ctx.epoch(k); // before the Redis read: see NearCache
    boolean replica = ctx.readsReplica(policy);
    RedisLink.Permit permit;
    try {
      permit = ctx.link.acquire(k.valueKey(policy.schemaVersion()), replica);
    } catch (RedisLink.Unavailable u) {
      return bypass(k, m, loader, u);
    }
    long t0 = System.nanoTime();
    return permit.async().get(bytes(k.valueKey(policy.schemaVersion()))).toCompletableFuture()
        .<CompletableFuture<T>>handle((raw, err) -> {
          long dt = System.nanoTime() - t0;
          if (err != null) {
            Throwable cause = unwrap(err);
            permit.failure(cause);
            return bypass(k, m, loader, cause);
          }
          permit.success();
          if (raw != null) {
            EntryCodec.Decoded d = ctx.decode(k, policy, raw, type);
            if (d != null) {
              m.redisHits.increment();
              ctx.meters.getLatency().record(dt, TimeUnit.NANOSECONDS);
              if (d.notFound()) {
                return CompletableFuture.<T>completedFuture(null);
              }
              ctx.maybeRefreshEarly(k, policy, m, d.envelope(), loader);
              if (!replica) {
                ctx.nearPut(k, policy, type, d.value(), d.envelope(), nearEpoch);
              }
              return CompletableFuture.completedFuture((T) d.value());
            }
          }
          m.redisMisses.increment();
          return this.<T>flight(k, type, policy, m, loader, nearEpoch).thenApply(r -> {
            if (r.nearCacheable()) {
              ctx.nearPut(k, policy, type, r, nearEpoch);
            }
            ctx.meters.missLatency().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            return r.value();
          });
        })
        .thenCompose(f -> f);
  }

  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<ReadContext.Loaded<T>> flight(CacheKey k, TypeRef<T> type, CachePolicy policy,
      ClientMeters.Entity m, VersionedLoader<? extends T> loader, long epoch) {
    // one flight per key, type and epoch: every caller of a flight captured the same epoch
    String id = ReadContext.flightId(k.valueKey(policy.schemaVersion()), type, epoch);
    CompletableFuture<Object> mine = new CompletableFuture<>();
    CompletableFuture<Object> existing = flights.putIfAbsent(id, mine);
    if (existing != null) {
      return (CompletableFuture<ReadContext.Loaded<T>>) (CompletableFuture<?>) existing;
    }
    long deadline = System.nanoTime() + policy.leaseTime().toNanos();
    leaseLoop(k, type, policy, m, loader, ReadContext.newToken(), deadline, FIRST_BACKOFF_MS, 0, 0)
        .whenComplete((v, e) -> {
          flights.remove(id, mine);
          if (e != null) {
            mine.completeExceptionally(unwrap(e));
          } else {
            mine.complete(v);
          }
        });
    return (CompletableFuture<ReadContext.Loaded<T>>) (CompletableFuture<?>) mine;
  }

  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<ReadContext.Loaded<T>> leaseLoop(CacheKey k, TypeRef<T> type, CachePolicy policy,
      ClientMeters.Entity m, VersionedLoader<? extends T> loader, byte[] token, long deadline, long backoffMs,
      int busySeen, int errors) {
    RedisLink.Permit permit;
    try {
      permit = ctx.link.acquire(k.leaseKey(), false);
    } catch (RedisLink.Unavailable u) {
      return bypass(k, m, loader, u).thenApply(ReadContext.Loaded::notCacheable);
    }
    byte[][] keys = {bytes(k.valueKey(policy.schemaVersion())), bytes(k.leaseKey())};
    long t0 = System.nanoTime();
    CompletableFuture<List<Object>> lease = ScriptRunner.runAsync(permit.async(), CacheScripts.GET_OR_LEASE,
        ScriptOutputType.MULTI, keys, token, bytes(Long.toString(policy.leaseTime().toMillis())));
    return lease.<CompletableFuture<ReadContext.Loaded<T>>>handle((r, err) -> {
      if (err != null) {
        Throwable cause = unwrap(err);
        permit.failure(cause);
        // while another caller holds the lease, one failed poll is no reason to load as well
        if (busySeen == 0 || errors + 1 > MAX_ERRORS_WHILE_WAITING || System.nanoTime() >= deadline) {
          return bypass(k, m, loader, cause).thenApply(ReadContext.Loaded::notCacheable);
        }
        return later(backoffMs).thenCompose(x ->
            leaseLoop(k, type, policy, m, loader, token, deadline, backoffMs, busySeen, errors + 1));
      }
      permit.success();
      long status = (Long) r.get(0);
      if (status == CacheScripts.LEASE_VALUE) {
        EntryCodec.Decoded d = ctx.decode(k, policy, (byte[]) r.get(1), type);
        if (d != null) {
          // a master hit
          return CompletableFuture.completedFuture(ReadContext.Loaded.cacheable(d.notFound() ? null : (T) d.value(), d.envelope()));
        }
        return this.<T>loadOnPool(k, m, loader).thenApply(v -> ReadContext.Loaded.notCacheable((T) v.value()));
      }
      if (status == CacheScripts.LEASE_GRANTED) {
        m.leaseGranted.increment();
        return loadAndFill(k, policy, m, token, loader);
      }
      m.leaseBusy.increment();
      long now = System.nanoTime();
      if (now >= deadline) {
        return CompletableFuture.supplyAsync(
            () -> ReadContext.Loaded.notCacheable((T) ctx.loadAfterLeaseWait(k, m, loader)), ctx.loaderPool);
      }
      long leftMs = Math.max(FIRST_BACKOFF_MS, (Long) r.get(1));
      long waitMs = Math.min(Math.min(backoffMs, leftMs), TimeUnit.NANOSECONDS.toMillis(deadline - now) + 1);
      long jittered = waitMs / 2 + ThreadLocalRandom.current().nextLong(waitMs / 2 + 1);
      return later(jittered).thenCompose(x -> leaseLoop(k, type, policy, m, loader, token, deadline,
          Math.min(backoffMs * 2, MAX_BACKOFF_MS), busySeen + 1, errors));
    }).thenCompose(f -> f);
  }

  private static CompletableFuture<Void> later(long ms) {
    Executor delayed = CompletableFuture.delayedExecutor(Math.max(1, ms), TimeUnit.MILLISECONDS);
    return CompletableFuture.runAsync(() -> { }, delayed);
  }

  private <T> CompletableFuture<ReadContext.Loaded<T>> loadAndFill(CacheKey k, CachePolicy policy,
      ClientMeters.Entity m, byte[] token, VersionedLoader<? extends T> loader) {
    return CompletableFuture.supplyAsync(() -> ctx.loadAndFill(k, policy, m, token, loader), ctx.loaderPool);
  }

  private <T> CompletableFuture<Versioned<? extends T>> loadOnPool(CacheKey k, ClientMeters.Entity m,
      VersionedLoader<? extends T> loader) {
    return CompletableFuture.supplyAsync(() -> ctx.callLoader(k, m, loader), ctx.loaderPool);
  }

  private <T> CompletableFuture<T> bypass(CacheKey k, ClientMeters.Entity m, VersionedLoader<? extends T> loader,
      Throwable why) {
    return CompletableFuture.supplyAsync(() -> ctx.bypass(k, m, loader, why), ctx.loaderPool);
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
