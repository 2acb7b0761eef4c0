package io.freshcache.client.internal;

import io.freshcache.client.CachePolicy;
import io.freshcache.client.ReadAfter;
import io.freshcache.client.Versioned;
import io.freshcache.client.VersionedLoader;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Reads with a read-your-writes token ({@link ReadAfter}). Why they never return a value older
 * than the token:
 *
 * <ul>
 *   <li>A hit needs evidence in Redis: the value's data version is at least the token, or the
 *       value carries no version and the key's fence is at least the token (every apply at a
 *       version ≥ the token deleted or replaced what was there, and revoked the lease, so a value
 *       present now was written after it). Both are read from the key's master, never a replica.
 *       The near cache is skipped: it keeps no versions.</li>
 *   <li>Otherwise the loader runs (no lease: the value under the lease may be the old one, and the
 *       caller must not wait behind a reader that loaded before the write). A loaded version below
 *       the token means the loader read a lagging replica: it is tried again a few times, then
 *       the read fails rather than go back in time.</li>
 *   <li>What was loaded is stored with the {@code apply} script as an upsert at its version: it
 *       replaces only an older value and raises the fence, so it can never overwrite a newer
 *       value (another client's later write) and later fills of older data are refused. A value
 *       without a version (LSN-versioned entities) is returned but not stored.</li>
 *   <li>This client's near-cache entry for the key is dropped after a load, so its later reads
 *       without a token do not return to the older value.</li>
 * </ul>
 */
public final class TokenReads {
  private static final int LOAD_TRIES = 4;
  private final ReadContext ctx;

  /** @param ctx the shared read machinery */
  public TokenReads(ReadContext ctx) {
    this.ctx = ctx;
  }

  /**
   * @param <T> the value type
   * @param k the key
   * @param type the value's class
   * @param policy the entity's policy
   * @param after the token
   * @param loader loads the value and its version
   * @return the value (at a version ≥ the token, as far as the cache and the loader know), or
   *     {@code null} if it does not exist
   * @throws IllegalStateException if the loader keeps returning versions below the token
   */
  @SuppressWarnings("unchecked")
  public <T> T get(CacheKey k, Class<T> type, CachePolicy policy, ReadAfter after, VersionedLoader<? extends T> loader) {
    long start = System.nanoTime();
    ClientMeters.Entity m = ctx.meters.entity(policy.name());
    byte[] valueKey = bytes(k.valueKey(policy.schemaVersion()));
    try {
      byte[] raw = ctx.link.call(k.valueKey(policy.schemaVersion()), false, c -> c.get(valueKey));
      if (raw != null) {
        EntryCodec.Decoded d = ctx.decode(k, policy, raw, io.freshcache.client.TypeRef.of(type));
        if (d != null && recentEnough(k, d.envelope(), after)) {
          m.redisHits.increment();
          ctx.meters.getLatency().record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
          return d.notFound() ? null : (T) d.value();
        }
      }
      m.redisMisses.increment();
    } catch (RedisLink.Unavailable | RedisException e) {
      // Redis is not usable: the database answers, within the loader budget that protects it,
      // and still never below the token
      m.fallbacks.increment();
      if (!ctx.limiter.acquirePermission()) {
        m.loadShed.increment();
        throw new io.freshcache.client.LoadSheddingException(k.toString(), "Redis is bypassed (" + e.getMessage()
            + ") and the loader budget is used up");
      }
      return load(k, m, after, loader).value();
    }
    Versioned<? extends T> loaded = load(k, m, after, loader);
    store(k, policy, loaded, System.nanoTime() - start);
    if (ctx.near != null) {
      ctx.near.drop(k);
    }
    ctx.meters.missLatency().record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    return loaded.value();
  }

  private boolean recentEnough(CacheKey k, Envelope e, ReadAfter after) {
    if (e.dataVersion() != Envelope.NO_VERSION) {
      return e.dataVersion() >= after.version();
    }
    byte[] fence = ctx.link.call(k.fenceKey(), false, c -> c.hget(bytes(k.fenceKey()), bytes("v")));
    return fence != null && Long.parseLong(new String(fence, StandardCharsets.UTF_8)) >= after.version();
  }

  private <T> Versioned<? extends T> load(CacheKey k, ClientMeters.Entity m, ReadAfter after,
      VersionedLoader<? extends T> loader) {
    long backoff = TimeUnit.MILLISECONDS.toNanos(5);
    for (int i = 1; ; i++) {
      Versioned<? extends T> v = ctx.callLoader(k, m, loader);
      if (v.version() == Versioned.NO_VERSION || v.version() >= after.version() || v.value() == null) {
        return v;
      }
      if (i == LOAD_TRIES) {
        throw new IllegalStateException("read of " + k + " after version " + after.version() + ": the loader returned"
            + " version " + v.version() + " " + LOAD_TRIES + " times (does it read a lagging replica?)");
      }
      LockSupport.parkNanos(backoff);
      backoff *= 2;
    }
  }

  private void store(CacheKey k, CachePolicy policy, Versioned<?> loaded, long loadNanos) {
    if (loaded.value() == null || loaded.version() == Versioned.NO_VERSION) {
      return;
    }
    try {
      long ttlMs = ctx.jitter.millis(policy.ttl(), policy.jitter());
      byte[] envelope = ctx.codec.encode(k, policy, loaded.value(), loaded.version(), ctx.clock.millis(), ttlMs,
          TimeUnit.NANOSECONDS.toMillis(loadNanos));
      ctx.link.call(k.fenceKey(), false, c -> ScriptRunner.<Long>run(c, CacheScripts.APPLY, ScriptOutputType.INTEGER,
          new byte[][] {bytes(k.fenceKey()), bytes(k.leaseKey()), bytes(k.valueKey(policy.schemaVersion()))},
          bytes(CacheScripts.opArg(CacheEvent.Op.UPSERT)), bytes(Long.toString(loaded.version())), envelope,
          bytes(Long.toString(ttlMs)), bytes(CacheScripts.schemaField(policy.schemaVersion())),
          bytes(Long.toString(policy.fenceTtl().toMillis())), bytes(k.valueKeyPrefix())));
    } catch (RuntimeException e) {
      // storing is an optimisation: the value returned is right either way
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
