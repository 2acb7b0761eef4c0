package io.freshcache.client.internal;

import io.freshcache.client.CachePolicy;
import io.freshcache.client.LoadSheddingException;
import io.freshcache.client.LoaderException;
import io.freshcache.client.TypeRef;
import io.freshcache.client.Versioned;
import io.freshcache.client.VersionedLoader;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.CodecException;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.Envelope;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the sync and async read paths share: the Redis link, the entry codec, meters, the near
 * cache, TTL jitter, early refresh, the loader rate limiter and pool, and the steps both paths
 * take (decode, call the loader, bypass Redis, prepare a fill, refresh early).
 */
public final class ReadContext {
  private static final Logger log = LoggerFactory.getLogger(ReadContext.class);

  final RedisLink link;
  final EntryCodec codec;
  final ClientMeters meters;
  final NearCache near;
  final JitteredTtl jitter;
  final XFetch xfetch;
  final RateLimiter limiter;
  final ExecutorService loaderPool;
  final Clock clock;
  private final Set<String> refreshing = ConcurrentHashMap.newKeySet();

  /**
   * @param link the Redis link
   * @param codec encodes and decodes entries
   * @param meters the client's meters
   * @param near the near cache, or {@code null} if no policy uses it
   * @param jitter jitters TTLs
   * @param xfetch decides early refreshes
   * @param limiter the loader budget while Redis is bypassed
   * @param loaderPool runs async loaders and early refreshes
   * @param clock the clock of written-at and expiry times
   */
  public ReadContext(RedisLink link, EntryCodec codec, ClientMeters meters, NearCache near,
      JitteredTtl jitter, XFetch xfetch, RateLimiter limiter, ExecutorService loaderPool, Clock clock) {
    this.link = link;
    this.codec = codec;
    this.meters = meters;
    this.near = near;
    this.jitter = jitter;
    this.xfetch = xfetch;
    this.limiter = limiter;
    this.loaderPool = loaderPool;
    this.clock = clock;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** @return the decoded entry, or {@code null} if the stored bytes are unreadable (a miss) */
  EntryCodec.Decoded decode(CacheKey k, CachePolicy policy, byte[] raw, TypeRef<?> type) {
    try {
      return codec.decode(k, policy.schemaVersion(), raw, type.type());
    } catch (CorruptEnvelopeException | CodecException e) {
      log.warn("unreadable cache entry for {} treated as a miss: {}", k, e.getMessage());
      return null;
    }
  }

  <T> Versioned<? extends T> callLoader(CacheKey k, ClientMeters.Entity m, VersionedLoader<? extends T> loader) {
    m.loaderCalls.increment();
    Versioned<? extends T> v;
    try {
      v = loader.load();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new LoaderException(k.toString(), e);
    }
    return v == null ? Versioned.unversioned(null) : v;
  }

  /** Serves a read from the loader without Redis, within the rate limiter's budget. */
  <T> T bypass(CacheKey k, ClientMeters.Entity m, VersionedLoader<? extends T> loader, Throwable why) {
    m.fallbacks.increment();
    log.debug("bypassing Redis for {}: {}", k, why == null ? "" : why.toString());
    if (!limiter.acquirePermission()) {
      m.loadShed.increment();
      throw new LoadSheddingException(k.toString(), "Redis is bypassed ("
          + (why == null ? "unavailable" : why.getMessage()) + ") and the loader budget of "
          + limiter.getRateLimiterConfig().getLimitForPeriod() + " calls per "
          + limiter.getRateLimiterConfig().getLimitRefreshPeriod().toMillis() + " ms is used up");
    }
    return callLoader(k, m, loader).value();
  }

  /**
   * A waiter whose lease wait ran out loads itself, within the same budget as a bypass: if the
   * lease holder is stuck, every waiter of every key would otherwise hit the database at once.
   */
  <T> T loadAfterLeaseWait(CacheKey k, ClientMeters.Entity m, VersionedLoader<? extends T> loader) {
    if (!limiter.acquirePermission()) {
      m.loadShed.increment();
      throw new LoadSheddingException(k.toString(), "the lease on " + k + " stayed busy for the"
          + " policy's lease time and the loader budget is used up");
    }
    return callLoader(k, m, loader).value();
  }

  /** What a fill writes: the envelope, its TTL, and the envelope's written-at time (epoch ms). */
  record Fill(byte[] envelope, long ttlMs, long writtenAtMs) {}

  /**
   * @return the fill of a loaded value, or {@code null} if nothing should be stored (a missing
   *     row without negative caching, or an oversize value)
   */
  Fill prepareFill(CacheKey k, CachePolicy policy, ClientMeters.Entity m, Versioned<?> loaded, long loadNanos) {
    Object value = loaded.value();
    long ttlMs;
    if (value == null) {
      if (policy.negativeTtl().isZero()) {
        return null;
      }
      ttlMs = jitter.millis(policy.negativeTtl(), policy.jitter());
    } else {
      ttlMs = jitter.millis(policy.ttl(), policy.jitter());
    }
    try {
      long now = clock.millis();
      byte[] env = codec.encode(k, policy, value, loaded.version(), now, ttlMs,
          TimeUnit.NANOSECONDS.toMillis(loadNanos));
      return new Fill(env, ttlMs, now);
    } catch (EntryCodec.OversizeException e) {
      m.oversize.increment();
      log.warn(e.getMessage());
      return null;
    }
  }

  static byte[][] fillKeys(CacheKey k, CachePolicy policy) {
    return new byte[][] {bytes(k.valueKey(policy.schemaVersion())), bytes(k.leaseKey()), bytes(k.fenceKey())};
  }

  static byte[][] fillArgs(byte[] token, Versioned<?> loaded, Fill fill, CachePolicy policy) {
    return new byte[][] {token, bytes(Long.toString(loaded.version())), fill.envelope(),
        bytes(Long.toString(fill.ttlMs())), bytes(CacheScripts.schemaField(policy.schemaVersion())),
        bytes(Long.toString(policy.fenceTtl().toMillis()))};
  }

  /**
   * The single-flight id of a read: the value key and the type asked for, so that a caller never
   * joins a load of the same key for another type (whose result it could not use).
   */
  static String flightId(String valueKey, TypeRef<?> type) {
    return valueKey + '\u0000' + type.type().getTypeName();
  }

  /**
   * The single-flight id of a read that captured near-cache {@code epoch} before its Redis read:
   * a caller that has seen a notice (a newer epoch) never joins a load that started before it,
   * whose result may be the data that notice replaced; it starts a flight of its own, which asks
   * Redis for the lease again (revoked by the invalidation, so it loads afresh).
   */
  static String flightId(String valueKey, TypeRef<?> type, long epoch) {
    return flightId(valueKey, type) + '\u0000' + epoch;
  }

  /**
   * @return the channel epoch of {@code k} to capture before a Redis read (0 without a near
   *     cache); captured for every policy, as it also keys the single flight
   */
  long epoch(CacheKey k) {
    return near == null ? 0 : near.epoch(k);
  }

  /**
   * @return whether a read of {@code policy} after a near miss goes to a replica: only if the
   *     policy allows it and the near cache is not in use for it (a replica can lag behind a
   *     notice this client already handled, so a replica value could not be near-cached
   *     safely; with the near cache on, its misses read the master and the near cache takes the
   *     read load off Redis)
   */
  boolean readsReplica(CachePolicy policy) {
    return policy.replicaReads() && !(near != null && policy.nearCache() && near.subscribed());
  }

  /**
   * @return the near-cache value of {@code k} stored for {@code type}, or {@code null}: an entry
   *     stored by a read of another type (a key read as {@code List<Price>} and as
   *     {@code List<Product>}) is never returned
   */
  Object nearGet(CacheKey k, CachePolicy policy, TypeRef<?> type) {
    return near.get(k, policy.schemaVersion(), type.type());
  }

  static byte[] newToken() {
    return bytes(UUID.randomUUID().toString());
  }

  /**
   * Stores a value in the near cache if the policy uses it and no notice intervened: the one
   * store path of the read paths. The entry remembers the data version and written-at time of
   * the envelope the value came from, for {@link NearCacheSampler}.
   *
   * @param envelope the envelope {@code value} was decoded from (a master hit)
   */
  void nearPut(CacheKey k, CachePolicy policy, TypeRef<?> type, Object value, Envelope envelope, long epoch) {
    nearPut(k, policy, type, value, envelope.dataVersion(), envelope.writtenAtMs(), epoch);
  }

  /** As above, for a flight's result: its version and written-at time travel in {@link Loaded}. */
  void nearPut(CacheKey k, CachePolicy policy, TypeRef<?> type, Loaded<?> loaded, long epoch) {
    nearPut(k, policy, type, loaded.value(), loaded.version(), loaded.writtenAtMs(), epoch);
  }

  private void nearPut(CacheKey k, CachePolicy policy, TypeRef<?> type, Object value, long version,
      long writtenAtMs, long epoch) {
    if (near != null && policy.nearCache() && value != null) {
      near.put(k, policy.schemaVersion(), type.type(), value, version, writtenAtMs, epoch, policy.nearCacheTtl());
    }
  }

  /**
   * XFetch: on a hit close to expiry, refresh the value in the background (one refresh per key
   * per JVM, and only if the Redis lease is free, so one per cluster).
   */
  <T> void maybeRefreshEarly(CacheKey k, CachePolicy policy, ClientMeters.Entity m, Envelope e,
      VersionedLoader<? extends T> loader) {
    if (!xfetch.shouldRefresh(clock.millis(), e.softExpiryMs(), e.loadDurationMs(), policy.earlyRefreshBeta())) {
      return;
    }
    String id = k.valueKey(policy.schemaVersion());
    if (!refreshing.add(id)) {
      return;
    }
    try {
      loaderPool.execute(() -> {
        try {
          refresh(k, policy, m, loader);
        } catch (RuntimeException ex) {
          log.debug("early refresh of {} failed: {}", k, ex.toString());
        } finally {
          refreshing.remove(id);
        }
      });
    } catch (RejectedExecutionException ex) {
      refreshing.remove(id);
    }
  }

  private <T> void refresh(CacheKey k, CachePolicy policy, ClientMeters.Entity m, VersionedLoader<? extends T> loader) {
    byte[] token = newToken();
    String ok;
    try {
      ok = link.call(k.leaseKey(), c -> c.set(bytes(k.leaseKey()), token, SetArgs.Builder.nx().px(policy.leaseTime().toMillis())));
    } catch (RedisLink.Unavailable | RedisException ex) {
      return;
    }
    if (!"OK".equals(ok)) {
      return;
    }
    m.earlyRefresh.increment();
    loadAndFill(k, policy, m, token, loader);
    if (near != null && policy.nearCache()) {
      near.drop(k);
    }
  }

  /**
   * What a flight produced: the value for its callers, and whether it may enter the near cache
   * (a master hit, or a load whose fill Redis accepted; never a bypass, a rejected or failed
   * fill, or a load after a lease wait).
   *
   * @param <T> the value type
   * @param value the value, or {@code null} if it does not exist
   * @param nearCacheable whether the value may be stored in the near cache
   * @param version the data version of the envelope the value was read from or filled with
   *     ({@link Envelope#NO_VERSION} if none or not cacheable)
   * @param writtenAtMs that envelope's written-at time, epoch ms (0 if not cacheable)
   */
  record Loaded<T>(T value, boolean nearCacheable, long version, long writtenAtMs) {
    /** A master hit: {@code value} was decoded from {@code envelope}. */
    static <T> Loaded<T> cacheable(T value, Envelope envelope) {
      return new Loaded<>(value, true, envelope.dataVersion(), envelope.writtenAtMs());
    }

    static <T> Loaded<T> notCacheable(T value) {
      return new Loaded<>(value, false, Envelope.NO_VERSION, 0);
    }
  }

  /**
   * The lease holder's part: load, then fill (or give the lease back if there is nothing to
   * store or the loader failed).
   *
   * @return the loaded value, near-cacheable only if the fill was accepted
   */
  <T> Loaded<T> loadAndFill(CacheKey k, CachePolicy policy, ClientMeters.Entity m, byte[] token,
      VersionedLoader<? extends T> loader) {
    long start = System.nanoTime();
    Versioned<? extends T> loaded;
    try {
      loaded = callLoader(k, m, loader);
    } catch (RuntimeException | Error e) {
      release(k, token);
      throw e;
    }
    Fill fill = prepareFill(k, policy, m, loaded, System.nanoTime() - start);
    if (fill == null) {
      release(k, token);
      return Loaded.notCacheable(loaded.value());
    }
    return new Loaded<>(loaded.value(), fillSync(k, policy, m, token, loaded, fill), loaded.version(),
        fill.writtenAtMs());
  }

  /**
   * Runs the fill script; failures are counted and logged, never thrown.
   *
   * @return whether Redis accepted the fill
   */
  boolean fillSync(CacheKey k, CachePolicy policy, ClientMeters.Entity m, byte[] token, Versioned<?> loaded, Fill fill) {
    try {
      long r = link.call(k.leaseKey(), c -> ScriptRunner.<Long>run(c, CacheScripts.FILL, ScriptOutputType.INTEGER,
          fillKeys(k, policy), fillArgs(token, loaded, fill, policy)));
      if (r != CacheScripts.FILL_OK) {
        m.fillRejected.increment();
        log.debug("fill of {} rejected ({})", k, r == CacheScripts.FILL_FENCED ? "fenced" : "lease lost");
        return false;
      }
      return true;
    } catch (RedisLink.Unavailable | RedisException e) {
      log.debug("fill of {} failed: {}", k, e.toString());
      return false;
    }
  }

  /** Gives the lease back; failures are ignored (the lease expires by itself). */
  void release(CacheKey k, byte[] token) {
    try {
      link.call(k.leaseKey(), c -> ScriptRunner.run(c, CacheScripts.RELEASE, ScriptOutputType.INTEGER,
          new byte[][] {bytes(k.leaseKey())}, token));
    } catch (RedisLink.Unavailable | RedisException e) {
      // the lease expires by itself
    }
  }

}
