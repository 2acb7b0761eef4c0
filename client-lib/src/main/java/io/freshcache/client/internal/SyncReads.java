package io.freshcache.client.internal;

import static io.freshcache.client.internal.ReadContext.bytes;

import io.freshcache.client.CachePolicy;
import io.freshcache.client.Hit;
import io.freshcache.client.TypeRef;
import io.freshcache.client.VersionedLoader;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The blocking read path; the loader runs on the caller's thread.
 *
 * <p>Hit: near cache (if on), else one {@code GET} and a decode. Miss: one flight per key in this
 * JVM runs {@code getOrLease}; granted → load → {@code fill}; busy → wait with capped, jittered
 * exponential backoff (1 ms doubling to 5 ms, never past the lease's remaining time) and ask
 * again, until the lease time is over, then load without filling (within the loader rate
 * limiter's budget). The script re-checks the value, so a caller that missed just before
 * another's fill gets that value instead of a second lease.
 * The near cache takes a result only under the rule in {@link NearCache}: a master hit, or a
 * flight whose fill Redis accepted, stored under the epoch captured before the Redis read (the
 * flight's key includes that epoch).
 * Any Redis failure or an open breaker of the key's master sends the read to the loader through
 * the rate limiter —
 * except while waiting on another caller's lease, where up to two failed polls are retried: that
 * caller is loading, and a timeout on a busy machine should not add a second load.
 */
public final class SyncReads {
  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  private static final int MAX_ERRORS_WHILE_WAITING = 2;

  private final ReadContext ctx;
  private final SingleFlight flights = new SingleFlight();

  /** @param ctx the shared read machinery */
  public SyncReads(ReadContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Reads {@code k}, loading on a miss; see the class comment.
   *
   * @param <T> the value type
   * @param k the logical key
   * @param type the value's type, for decoding
   * @param policy the entity's policy
   * @param loader loads the value and its version on a miss, on the calling thread
   * @return the value, or {@code null} if it does not exist
   * @throws io.freshcache.client.LoaderException if the loader threw a checked exception
   * @throws io.freshcache.client.LoadSheddingException if the loader budget is used up
   */
  @SuppressWarnings("unchecked")
  public <T> T get(CacheKey k, TypeRef<T> type, CachePolicy policy, VersionedLoader<? extends T> loader) {
    long start = System.nanoTime();
    ClientMeters.Entity m = ctx.meters.entity(policy.name());
    if (ctx.near != null && policy.nearCache()) {
      Object v = ctx.nearGet(k, policy, type);
      if (v != null) { // stored for this very type (a key read as two types is not shared)
        m.nearHits.increment();
        return (T) v;
      }
      m.nearMisses.increment();
    }
    long epoch = ctx.epoch(k); // before the Redis read: see NearCache
    String valueKeyName = k.valueKey(policy.schemaVersion());
    byte[] valueKey = bytes(valueKeyName);
    boolean replica = ctx.readsReplica(policy);
    byte[] raw;
    try {
      raw = ctx.link.call(valueKeyName, replica, c -> c.get(valueKey));
    } catch (RedisLink.Unavailable | RedisException e) {
      return ctx.bypass(k, m, loader, e);
    }
    if (raw != null) {
      EntryCodec.Decoded d = ctx.decode(k, policy, raw, type);
      if (d != null) {
        m.redisHits.increment();
        ctx.meters.getLatency().record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        if (d.notFound()) {
          return null;
        }
        ctx.maybeRefreshEarly(k, policy, m, d.envelope(), loader);
        if (!replica) {
          ctx.nearPut(k, policy, type, d.value(), d.envelope(), epoch);
        }
        return (T) d.value();
      }
    }
    m.redisMisses.increment();
    // one flight per key, type and epoch: every caller of a flight captured the same epoch
    ReadContext.Loaded<T> r = flights.run(ReadContext.flightId(valueKeyName, type, epoch),
        () -> loadThroughLease(k, type, policy, m, loader));
    if (r.nearCacheable()) {
      ctx.nearPut(k, policy, type, r, epoch);
    }
    ctx.meters.missLatency().record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return r.value();
  }

  /**
   * Reads {@code k} without loading: the near cache (if on), else one {@code GET}.
   *
   * @param <T> the value type
   * @param k the logical key
   * @param type the value's type, for decoding
   * @param policy the entity's policy
   * @return empty on a miss (also when Redis is unavailable or the entry unreadable); a hit
   *     holding {@code null} for a cached "not found"
   */
  @SuppressWarnings("unchecked")
  public <T> java.util.Optional<Hit<T>> peek(CacheKey k, TypeRef<T> type, CachePolicy policy) {
    ClientMeters.Entity m = ctx.meters.entity(policy.name());
    if (ctx.near != null && policy.nearCache()) {
      Object v = ctx.nearGet(k, policy, type);
      if (v != null) {
        m.nearHits.increment();
        return java.util.Optional.of(new Hit<>((T) v));
      }
      m.nearMisses.increment();
    }
    long epoch = ctx.epoch(k);
    String valueKeyName = k.valueKey(policy.schemaVersion());
    boolean replica = ctx.readsReplica(policy);
    byte[] raw;
    try {
      raw = ctx.link.call(valueKeyName, replica, c -> c.get(bytes(valueKeyName)));
    } catch (RedisLink.Unavailable | RedisException e) {
      return java.util.Optional.empty();
    }
    EntryCodec.Decoded d = raw == null ? null : ctx.decode(k, policy, raw, type);
    if (d == null) {
      m.redisMisses.increment();
      return java.util.Optional.empty();
    }
    m.redisHits.increment();
    if (!d.notFound() && !replica) {
      ctx.nearPut(k, policy, type, d.value(), d.envelope(), epoch);
    }
    return java.util.Optional.of(new Hit<>(d.notFound() ? null : (T) d.value()));
  }

  @SuppressWarnings("unchecked")
  private <T> ReadContext.Loaded<T> loadThroughLease(CacheKey k, TypeRef<T> type, CachePolicy policy, ClientMeters.Entity m,
      VersionedLoader<? extends T> loader) {
    byte[][] keys = {bytes(k.valueKey(policy.schemaVersion())), bytes(k.leaseKey())};
    byte[] token = ReadContext.newToken();
    byte[] leaseMs = bytes(Long.toString(policy.leaseTime().toMillis()));
    long deadline = System.nanoTime() + policy.leaseTime().toNanos();
    long backoff = FIRST_BACKOFF_NANOS;
    int busySeen = 0;
    int errors = 0;
    while (true) {
      List<Object> r;
      try {
        r = ctx.link.call(k.leaseKey(), c -> ScriptRunner.run(c, CacheScripts.GET_OR_LEASE, ScriptOutputType.MULTI,
            keys, token, leaseMs));
      } catch (RedisLink.Unavailable u) {
        return ReadContext.Loaded.notCacheable(ctx.bypass(k, m, loader, u));
      } catch (RedisException e) {
        // while another caller holds the lease, one failed poll is no reason to load as well
        if (busySeen == 0 || ++errors > MAX_ERRORS_WHILE_WAITING || System.nanoTime() >= deadline) {
          return ReadContext.Loaded.notCacheable(ctx.bypass(k, m, loader, e));
        }
        LockSupport.parkNanos(backoff);
        continue;
      }
      long status = (Long) r.get(0);
      if (status == CacheScripts.LEASE_VALUE) {
        EntryCodec.Decoded d = ctx.decode(k, policy, (byte[]) r.get(1), type);
        if (d != null) {
          return ReadContext.Loaded.cacheable(d.notFound() ? null : (T) d.value(), d.envelope()); // a master hit
        }
        // unreadable entry: load without the lease; the next fill overwrites it
        return ReadContext.Loaded.notCacheable(ctx.callLoader(k, m, loader).value());
      }
      if (status == CacheScripts.LEASE_GRANTED) {
        m.leaseGranted.increment();
        return ctx.loadAndFill(k, policy, m, token, loader);
      }
      m.leaseBusy.increment();
      busySeen++;
      long now = System.nanoTime();
      if (now >= deadline) {
        return ReadContext.Loaded.notCacheable(ctx.loadAfterLeaseWait(k, m, loader));
      }
      long left = TimeUnit.MILLISECONDS.toNanos((Long) r.get(1));
      long sleep = Math.min(Math.min(backoff, Math.max(left, FIRST_BACKOFF_NANOS)), deadline - now);
      LockSupport.parkNanos(sleep / 2 + ThreadLocalRandom.current().nextLong(sleep / 2 + 1));
      if (Thread.currentThread().isInterrupted()) {
        return ReadContext.Loaded.notCacheable(ctx.callLoader(k, m, loader).value());
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
    }
  }
}
