package io.freshcache.client;

import io.freshcache.client.internal.ClusterConnection;
import io.freshcache.client.internal.JitteredTtl;
import io.freshcache.client.internal.ScriptRunner;
import io.freshcache.client.internal.SingleFlight;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Codec;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.CodecException;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cache-aside reads through a Redis Cluster, coherent with the database through leases and
 * version fences.
 *
 * <pre>{@code
 * try (CacheClient cache = CacheClient.create(CacheClientConfig.fromEnv())) {
 *   Product p = cache.getOrLoad("catalog:product:42", Product.class, CachePolicy.PRODUCT_CATALOG,
 *       () -> productDao.find(42));
 *   // after changing the row yourself:
 *   cache.invalidate("catalog:product:42");
 * }
 * }</pre>
 *
 * <p><b>Reads.</b> A hit is one {@code GET} and an envelope decode. On a miss, concurrent callers
 * in this JVM share one flight per key; that flight runs the {@code getOrLease} script, which
 * returns the value if another client filled it meanwhile, grants the lease (then this client
 * loads and fills), or reports it busy (then this client waits with capped, jittered exponential
 * backoff, at most the policy's lease time, and finally loads without filling). A fill is
 * rejected if an invalidation revoked the lease or a newer version was applied meanwhile, so a
 * reader that loaded old data never stores it after the change. If Redis fails or times out, the
 * read is served by the loader: a cache failure never fails a read.
 *
 * <p><b>Not yet here</b> (tracked in the client-lib issue): async API, circuit breaker and rate
 * limiter, early refresh (XFetch), negative caching, near cache, write-through, write-behind
 * publishing, codecs other than JSON, encryption.
 *
 * <p>Thread-safe; create one per application and close it on shutdown.
 */
public final class CacheClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheClient.class);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final CacheClientConfig config;
  private final ClusterConnection connection;
  private final ScriptRunner scripts;
  private final SingleFlight flights = new SingleFlight();
  private final JitteredTtl jitter = new JitteredTtl(() -> ThreadLocalRandom.current().nextDouble());
  private final Clock clock;
  private final MeterRegistry meters;
  private final Counter hits;
  private final Counter misses;
  private final Counter loads;
  private final Counter fallbacks;
  private final Counter leaseBusy;
  private final Counter fillsRejected;

  private CacheClient(CacheClientConfig config, MeterRegistry meters, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.meters = meters;
    this.connection = ClusterConnection.open(config);
    this.scripts = new ScriptRunner(connection.sync());
    this.hits = Counter.builder("cache.hit").description("reads served from Redis").register(meters);
    this.misses = Counter.builder("cache.miss").description("reads not served from Redis").register(meters);
    this.loads = Counter.builder("cache.loader.calls").description("loader invocations").register(meters);
    this.fallbacks = Counter.builder("cache.fallbacks")
        .description("reads served by the loader because Redis failed").register(meters);
    this.leaseBusy = Counter.builder("cache.lease.busy")
        .description("lease attempts that found the lease taken").register(meters);
    this.fillsRejected = Counter.builder("cache.fill.rejected")
        .description("fills refused because the lease was revoked or a newer version was known")
        .register(meters);
    log.info("freshcache client connected to {}", config.redisNodes());
  }

  /**
   * Connects to the cluster, with metrics in a private registry.
   *
   * @throws CacheUnavailableException if no seed node can be reached
   */
  public static CacheClient create(CacheClientConfig config) {
    return create(config, new SimpleMeterRegistry());
  }

  /**
   * Connects to the cluster and registers the client's meters ({@code cache_hit_total},
   * {@code cache_miss_total}, {@code cache_loader_calls_total}, {@code cache_fallbacks_total},
   * {@code cache_lease_busy_total}, {@code cache_fill_rejected_total} in Prometheus naming) in
   * {@code meters}.
   *
   * @throws CacheUnavailableException if no seed node can be reached
   */
  public static CacheClient create(CacheClientConfig config, MeterRegistry meters) {
    return new CacheClient(config, meters, Clock.systemUTC());
  }

  /**
   * Reads {@code key} with the config's default policy; see {@link #getOrLoad(String, Class,
   * CachePolicy, Loader)}.
   */
  public <T> T getOrLoad(String key, Class<T> type, Loader<? extends T> loader) {
    return getOrLoad(key, type, config.defaultPolicy(), loader);
  }

  /**
   * Reads {@code key} from the cache, or loads and caches it.
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, decoded with the JSON codec
   * @param policy how the entity is cached
   * @param loader reads the value from the source of truth; {@code null} means "does not exist"
   *     and is not cached
   * @return the value, or {@code null} if the loader found none
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception (unchecked ones propagate as
   *     they are); Redis failures never make this method throw
   */
  public <T> T getOrLoad(String key, Class<T> type, CachePolicy policy, Loader<? extends T> loader) {
    return getOrLoadVersioned(key, type, policy, () -> Versioned.unversioned(loader.load()));
  }

  /**
   * Reads {@code key} from the cache, or loads it with its data version and caches it unless a
   * newer version of the key is already known (from an invalidation or upsert event).
   *
   * @return the value, or {@code null} if the loader found none
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception
   */
  public <T> T getOrLoadVersioned(String key, Class<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    CacheKey k = CacheKey.parse(key);
    byte[] valueKey = bytes(k.valueKey(policy.schemaVersion()));
    byte[] raw;
    try {
      raw = connection.sync().get(valueKey);
    } catch (RedisException e) {
      return fallback(k, e, loader);
    }
    if (raw != null) {
      T v = decode(k, raw, type);
      if (v != null) {
        hits.increment();
        return v;
      }
    }
    misses.increment();
    return flights.run(k.toString(), () -> loadThroughLease(k, valueKey, type, policy, loader));
  }

  /**
   * Drops {@code key}'s cached value (every schema version) and revokes any lease, so a reader
   * that is loading it now cannot store what it read. Does not raise the version fence.
   *
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws CacheUnavailableException if Redis could not be reached; the caller should retry,
   *     since the entry may be stale until its TTL
   */
  public void invalidate(String key) {
    apply(CacheKey.parse(key), Versioned.NO_VERSION, config.defaultPolicy());
  }

  /**
   * As {@link #invalidate(String)}, and raises the key's fence to {@code version}: a later fill
   * of data read at an older version is rejected.
   *
   * @param version the version of the change, at least 0
   * @return {@code true} if applied, {@code false} if a newer version was already applied
   * @throws IllegalArgumentException if {@code key} is invalid or {@code version} negative
   * @throws CacheUnavailableException if Redis could not be reached
   */
  public boolean invalidate(String key, long version) {
    if (version < 0) {
      throw new IllegalArgumentException("version must be >= 0 but was " + version);
    }
    return apply(CacheKey.parse(key), version, config.defaultPolicy());
  }

  /**
   * @return {@code true} if a node answered {@code PING} within the command timeout
   */
  public boolean ping() {
    try {
      return "PONG".equals(connection.sync().ping());
    } catch (RedisException e) {
      return false;
    }
  }

  /** @return the registry holding this client's meters */
  public MeterRegistry meters() {
    return meters;
  }

  /** @return a snapshot of the read counters since the client was created */
  public Stats stats() {
    return new Stats((long) hits.count(), (long) misses.count(), (long) loads.count(),
        (long) fallbacks.count(), (long) leaseBusy.count(), (long) fillsRejected.count());
  }

  /** Closes the connections. */
  @Override
  public void close() {
    connection.close();
  }

  /**
   * Read counters of one client.
   *
   * @param hits reads served from Redis
   * @param misses reads that missed (including those a concurrent fill then served)
   * @param loaderCalls loader invocations
   * @param fallbacks reads served by the loader because Redis failed
   * @param leaseBusy lease attempts that found the lease taken
   * @param fillsRejected fills refused by a revoked lease or a newer fence
   */
  public record Stats(long hits, long misses, long loaderCalls, long fallbacks, long leaseBusy,
      long fillsRejected) {}

  private <T> T loadThroughLease(CacheKey k, byte[] valueKey, Class<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    byte[] leaseKey = bytes(k.leaseKey());
    byte[] token = bytes(UUID.randomUUID().toString());
    byte[] leaseMs = bytes(Long.toString(policy.leaseTime().toMillis()));
    long deadline = System.nanoTime() + policy.leaseTime().toNanos();
    long backoff = FIRST_BACKOFF_NANOS;
    while (true) {
      List<Object> r;
      try {
        r = scripts.run(CacheScripts.GET_OR_LEASE, ScriptOutputType.MULTI,
            new byte[][] {valueKey, leaseKey}, token, leaseMs);
      } catch (RedisException e) {
        return fallback(k, e, loader);
      }
      long status = (Long) r.get(0);
      if (status == CacheScripts.LEASE_VALUE) {
        T v = decode(k, (byte[]) r.get(1), type);
        if (v != null) {
          return v;
        }
        // a corrupt entry: load without the lease, the next fill overwrites it
        return callLoader(k, loader).value();
      }
      if (status == CacheScripts.LEASE_GRANTED) {
        return loadAndFill(k, valueKey, leaseKey, token, policy, loader);
      }
      leaseBusy.increment();
      long now = System.nanoTime();
      if (now >= deadline) {
        log.debug("lease on {} still busy after {}; loading without filling", k, policy.leaseTime());
        return callLoader(k, loader).value();
      }
      long leftNanos = TimeUnit.MILLISECONDS.toNanos((Long) r.get(1));
      long sleep = Math.min(Math.min(backoff, Math.max(leftNanos, FIRST_BACKOFF_NANOS)), deadline - now);
      LockSupport.parkNanos(sleep / 2 + ThreadLocalRandom.current().nextLong(sleep / 2 + 1));
      if (Thread.currentThread().isInterrupted()) {
        return callLoader(k, loader).value();
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
    }
  }

  private <T> T loadAndFill(CacheKey k, byte[] valueKey, byte[] leaseKey, byte[] token,
      CachePolicy policy, VersionedLoader<? extends T> loader) {
    long start = System.nanoTime();
    Versioned<? extends T> loaded;
    try {
      loaded = callLoader(k, loader);
    } catch (RuntimeException | Error e) {
      release(k, leaseKey, token);
      throw e;
    }
    long loadMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    if (loaded.value() == null) {
      release(k, leaseKey, token);
      return null;
    }
    Codec codec = Codecs.json();
    long now = clock.millis();
    long ttlMs = jitter.millis(policy.ttl(), policy.jitter());
    byte[] envelope = new Envelope(codec.id(), 0, loaded.version(), now, now + ttlMs,
        (int) Math.min(Integer.MAX_VALUE, loadMs), codec.encode(loaded.value())).encode();
    try {
      long r = scripts.run(CacheScripts.FILL, ScriptOutputType.INTEGER,
          new byte[][] {valueKey, leaseKey, bytes(k.fenceKey())}, token,
          bytes(Long.toString(loaded.version())), envelope, bytes(Long.toString(ttlMs)),
          bytes(CacheScripts.schemaField(policy.schemaVersion())),
          bytes(Long.toString(policy.fenceTtl().toMillis())));
      if (r != CacheScripts.FILL_OK) {
        fillsRejected.increment();
        log.debug("fill of {} rejected ({})", k, r == CacheScripts.FILL_FENCED ? "fenced" : "lease lost");
      }
    } catch (RedisException e) {
      log.debug("fill of {} failed: {}", k, e.toString());
    }
    return loaded.value();
  }

  private void release(CacheKey k, byte[] leaseKey, byte[] token) {
    try {
      scripts.run(CacheScripts.RELEASE, ScriptOutputType.INTEGER, new byte[][] {leaseKey}, token);
    } catch (RedisException e) {
      log.debug("lease release of {} failed, it expires by itself: {}", k, e.toString());
    }
  }

  private boolean apply(CacheKey k, long version, CachePolicy policy) {
    try {
      long r = scripts.run(CacheScripts.APPLY, ScriptOutputType.INTEGER,
          new byte[][] {bytes(k.fenceKey()), bytes(k.leaseKey()), bytes(k.valueKey(policy.schemaVersion()))},
          bytes(CacheScripts.OP_INVALIDATE), bytes(Long.toString(version)), new byte[0], bytes("0"),
          bytes(CacheScripts.schemaField(policy.schemaVersion())),
          bytes(Long.toString(policy.fenceTtl().toMillis())), bytes(k.valueKeyPrefix()));
      return r == CacheScripts.APPLY_APPLIED;
    } catch (RedisException e) {
      throw new CacheUnavailableException(k.toString(), "invalidation failed: " + e.getMessage(), e);
    }
  }

  private <T> T fallback(CacheKey k, RedisException e, VersionedLoader<? extends T> loader) {
    fallbacks.increment();
    log.debug("redis failed for {}, reading from the loader: {}", k, e.toString());
    return callLoader(k, loader).value();
  }

  private <T> Versioned<? extends T> callLoader(CacheKey k, VersionedLoader<? extends T> loader) {
    loads.increment();
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

  private <T> T decode(CacheKey k, byte[] raw, Class<T> type) {
    try {
      Envelope e = Envelope.decode(raw);
      return Codecs.byId(e.codecId()).decode(e.payload(), type);
    } catch (CorruptEnvelopeException | CodecException e) {
      log.warn("unreadable cache entry for {} treated as a miss: {}", k, e.getMessage());
      return null;
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
