package io.freshcache.client;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.freshcache.client.internal.AsyncReads;
import io.freshcache.client.internal.ClientMeters;
import io.freshcache.client.internal.EntryCodec;
import io.freshcache.client.internal.JitteredTtl;
import io.freshcache.client.internal.LoaderBudget;
import io.freshcache.client.internal.NearCache;
import io.freshcache.client.internal.ReadContext;
import io.freshcache.client.internal.RedisLink;
import io.freshcache.client.internal.ReplicaAckGate;
import io.freshcache.client.internal.ScriptRunner;
import io.freshcache.client.internal.SyncReads;
import io.freshcache.client.internal.WritePublisher;
import io.freshcache.client.internal.XFetch;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Codec;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.JacksonCodec;
import io.freshcache.protocol.NoticeChannels;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cache-aside reads through a Redis Cluster, kept coherent with the database by leases and
 * version fences; the entry point of freshcache for applications.
 *
 * <pre>{@code
 * try (CacheClient cache = CacheClient.create(CacheClientConfig.fromEnv())) {
 *   Product p = cache.getOrLoad("catalog:product:42", Product.class, CachePolicy.PRODUCT_CATALOG,
 *       () -> productDao.find(42));
 *   cache.invalidate("catalog:product:42");
 * }
 * }</pre>
 *
 * <p><b>Reads</b> ({@link #getOrLoad}, {@link #getOrLoadAsync}): the near cache if the policy
 * uses it; else one {@code GET} and an envelope decode. On a miss, concurrent callers in this JVM
 * share one flight per key, and across JVMs a Redis lease lets exactly one caller load per lease
 * period; the others wait with capped jittered backoff and get the filled value. A fill is
 * rejected if an invalidation revoked the lease or a newer version is known, so a reader that
 * loaded old data cannot store it after the change. Hot keys are refreshed early in the
 * background (XFetch). If Redis fails, is slow, or the circuit breaker is open, the read goes to
 * the loader through a rate limiter: a cache failure never fails a read, but a read beyond the
 * loader budget fails with {@link LoadSheddingException} to protect the database.
 *
 * <p><b>Writes</b>: {@link #invalidate} drops a key everywhere (all schema versions, near caches
 * via notices) and can raise its version fence; {@link #writeThrough} writes the database, then
 * the cache; {@link #publishWrite} sends an upsert to Kafka for cache-writer to apply.
 *
 * <p>Values should be immutable (records): with the near cache on, callers share instances.
 * Thread-safe; create one per application and close it on shutdown.
 */
public final class CacheClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheClient.class);

  private final CacheClientConfig config;
  private final RedisLink link;
  private final ClientMeters meters;
  private final NearCache near;
  private final ExecutorService loaderPool;
  private final ReadContext ctx;
  private final SyncReads syncReads;
  private final AsyncReads asyncReads;
  private final io.freshcache.client.internal.TokenReads tokenReads;
  private final EntryCodec codec;
  private final Codec json;
  private final JitteredTtl jitter = new JitteredTtl(() -> ThreadLocalRandom.current().nextDouble());
  private final Clock clock = Clock.systemUTC();
  private final ReplicaAckGate acks;
  private volatile WritePublisher publisher;
  private final io.freshcache.client.internal.NearCacheSampler sampler;
  /**
   * Test seam: how long the notice channel of {@code key} has been silent in this client's near
   * cache.
   */
  long nearSilentNanos(String key) {
    return near.silentNanos(CacheKey.parse(key));
  }

  /** Test seam: runs between this client's first near-cache drop and the Redis apply. */
  volatile Runnable beforeApply = () -> { };

  private CacheClient(CacheClientConfig config, MeterRegistry registry, Codec json,
      io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry breakerRegistry) {
    this.config = config;
    this.meters = new ClientMeters(registry);
    this.codec = new EntryCodec(config.encryptionKey(), json);
    this.json = json;
    this.near = new NearCache(config.nearCacheMaxEntries(), () -> meters.nearFlushes().increment(),
        () -> meters.nearNotices().increment(), meters::noticesLost, config.nearCacheNoticeCheck(),
        config.redis().commandTimeout());
    AtomicInteger n = new AtomicInteger();
    this.loaderPool = new ThreadPoolExecutor(config.loaderThreads(), config.loaderThreads(), 60,
        TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "freshcache-loader-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    ((ThreadPoolExecutor) loaderPool).allowCoreThreadTimeOut(true);
    RateLimiter limiter = RateLimiter.of("freshcache-loader",
        LoaderBudget.config(config.loaderRateLimit(), config.loaderRateLimitWait()));
    try {
      this.link = new RedisLink(config, breakerRegistry);
    } catch (RuntimeException e) {
      near.close();
      loaderPool.shutdownNow();
      throw e;
    }
    this.acks = new ReplicaAckGate(config.replicaAcks(), config.effectiveReplicaAckTimeout().toMillis());
    this.ctx = new ReadContext(link, codec, meters, near, jitter,
        new XFetch(() -> ThreadLocalRandom.current().nextDouble()), limiter, loaderPool, clock);
    this.syncReads = new SyncReads(ctx);
    this.asyncReads = new AsyncReads(ctx);
    this.tokenReads = new io.freshcache.client.internal.TokenReads(ctx);
    near.refuseHitsAfterSilence(config.nearCacheSilenceBudget(), meters.nearSilentRefusals()::increment);
    near.onHeartbeatNotice(new io.freshcache.client.internal.HeartbeatProbe(link, registry));
    link.onConnect(l -> loaderPool.execute(() -> near.subscribe(l)));
    meters.gauge("redis.connections.active", "open Redis command connections", () -> link.connected() ? 1 : 0);
    meters.gauge("cache.circuit.state", "worst state of the masters' breakers: 0 closed, 1 open, 2 half-open, 3 other",
        () -> switch (link.circuitState()) {
          case CLOSED -> 0;
          case OPEN -> 1;
          case HALF_OPEN -> 2;
          default -> 3;
        });
    meters.gauge("cache.circuit.open", "masters whose breaker is not closed",
        () -> link.circuitStates().values().stream().filter(st -> st != CircuitBreaker.State.CLOSED).count());
    meters.gauge("cache.near.size", "near-cache entries", near::size);
    meters.gauge("cache.near.subscribed", "1 while near caching is on (notices subscribed)",
        () -> near.subscribed() ? 1 : 0);
    meters.gauge("cache.near.channels.down", "notice channels kept out of the near cache: their counter"
        + " could not be read", near::channelsDown);
    this.sampler = config.nearCacheSamplePerSecond() <= 0 ? null
        : io.freshcache.client.internal.NearCacheSampler.start(near, link, config.nearCacheSamplePerSecond(),
            config.nearCacheSampleDelay(), config.nearCacheSampleWindows(), registry);
  }

  /**
   * Creates a client with metrics in a private registry (see {@link #meters()}). Does not fail if
   * Redis is unreachable (unless {@code REDIS_FAIL_FAST}): the client connects in the background
   * and reads go to the loader meanwhile. It fails at once if Redis answers but cannot be used as
   * configured. Kafka is not contacted until the first publish.
   *
   * @param config the settings, not null
   * @return a new client; close it when the application shuts down
   * @throws io.freshcache.redis.RedisSetupException if Redis answered but is not the
   *     configured kind (cluster, standalone, sentinel), refused the credentials, or failed the TLS
   *     handshake; the message names the server and what was found
   * @throws io.lettuce.core.RedisException if Redis is unreachable and the config asks to fail fast
   */
  public static CacheClient create(CacheClientConfig config) {
    return create(config, new SimpleMeterRegistry());
  }

  /**
   * Creates a client and registers its meters in {@code registry}: {@code cache_hit_total} and
   * {@code cache_miss_total} (tags {@code entity}, {@code tier} = near|redis),
   * {@code cache_latency_seconds} (histogram, tag {@code op} = get|load|invalidate),
   * {@code redis_connections_active}, {@code cache_lease_granted_total},
   * {@code cache_lease_busy_total}, {@code cache_loader_calls_total}, {@code cache_fallbacks_total},
   * {@code cache_load_shed_total}, {@code cache_fill_rejected_total}, {@code cache_oversize_total},
   * {@code cache_early_refresh_total}, {@code cache_circuit_state} (worst state of the masters'
   * breakers), {@code cache_circuit_open} (masters whose breaker is not closed),
   * {@code cache_near_size}, {@code cache_near_subscribed}, {@code cache_near_flushes_total},
   * {@code cache_near_notices_total}, {@code cache_notice_failures_total},
   * {@code cache_replica_ack_timeouts_total}; with the near-cache sampler on,
   * {@code cache_near_sample_checks_total} (tags {@code window}, {@code result}),
   * {@code cache_near_sample_violations_total}, {@code cache_near_sample_nines} (tag
   * {@code window}) and {@code cache_near_sample_pending} (see {@link #nearCacheConsistency()}).
   *
   * @param config the settings, not null
   * @param registry where the meters are registered, not null
   * @return a new client; close it when the application shuts down
   * @throws io.freshcache.redis.RedisSetupException as {@link #create(CacheClientConfig)}
   * @throws io.lettuce.core.RedisException as {@link #create(CacheClientConfig)}
   */
  public static CacheClient create(CacheClientConfig config, MeterRegistry registry) {
    return new CacheClient(config, registry, null, null);
  }

  /**
   * A builder for a client that uses parts of the application: its meter registry, its Jackson
   * mapper for the JSON codec, its resilience4j breaker registry.
   *
   * @param config the settings, not null
   * @return a builder; {@link Builder#build()} creates the client as {@link #create(CacheClientConfig)}
   */
  public static Builder builder(CacheClientConfig config) {
    return new Builder(java.util.Objects.requireNonNull(config, "config"));
  }

  /** Creates a {@link CacheClient} that uses parts of the application; see {@link #builder}. */
  public static final class Builder {
    private final CacheClientConfig config;
    private MeterRegistry meterRegistry;
    private Codec json;
    private io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry breakerRegistry;

    private Builder(CacheClientConfig config) {
      this.config = config;
    }

    /**
     * @param registry where the client's meters go (see {@link #create(CacheClientConfig,
     *     MeterRegistry)}); default a private {@code SimpleMeterRegistry}
     * @return this builder
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = registry;
      return this;
    }

    /**
     * The JSON codec of this client (codec name {@code json}, envelope id
     * {@link Codecs#JSON_ID}) encodes and decodes with a copy of {@code mapper}, so cached JSON
     * follows the application's modules and naming; unknown properties are ignored on read.
     * Other clients and cache-writer decode the same bytes with their own mapper, so keep the
     * mapper's output readable by a plain one (no default typing). Default: a plain mapper with
     * every module on the class path.
     *
     * @param mapper a Jackson 2 mapper, or {@code null} for the default
     * @return this builder
     */
    public Builder jsonMapper(com.fasterxml.jackson.databind.ObjectMapper mapper) {
      this.json = mapper == null ? null : new JacksonCodec(Codecs.JSON_ID, "json", mapper);
      return this;
    }

    /**
     * @param registry the application's resilience4j registry: the client's breakers (one per
     *     Redis master, named {@code freshcache-redis-host:port}) are created in it, so its
     *     metrics and endpoints show them; default: private breakers
     * @return this builder
     */
    public Builder circuitBreakerRegistry(io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry) {
      this.breakerRegistry = registry;
      return this;
    }

    /**
     * @return a new client; close it when the application shuts down
     * @throws io.freshcache.redis.RedisSetupException as {@link #create(CacheClientConfig)}
     * @throws io.lettuce.core.RedisException as {@link #create(CacheClientConfig)}
     */
    public CacheClient build() {
      return new CacheClient(config, meterRegistry == null ? new SimpleMeterRegistry() : meterRegistry,
          json, breakerRegistry);
    }
  }

  /**
   * Reads {@code key} with the config's default policy ({@link CacheClientConfig#defaultPolicy()});
   * see {@link #getOrLoad(String, Class, CachePolicy, Loader)}.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, used to decode it from Redis; a key may be read as several
   *     types (each read gets its own type; concurrent loads of one type are shared)
   * @param loader reads the value from the source of truth on a miss, not null; {@code null}
   *     means "does not exist"
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception (unchecked ones propagate
   *     unchanged)
   * @throws LoadSheddingException if the read had to go to the loader without the cache and the
   *     loader budget is used up
   */
  public <T> T getOrLoad(String key, Class<T> type, Loader<? extends T> loader) {
    return getOrLoad(key, type, config.defaultPolicy(), loader);
  }

  /**
   * Reads {@code key} from the cache, or loads and caches it. The loader runs on the calling
   * thread (early refreshes run it on the client's loader pool).
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, used to decode it from Redis; a key may be read as several
   *     types (each read gets its own type; concurrent loads of one type are shared)
   * @param policy how the entity is cached, not null
   * @param loader reads the value from the source of truth, not null; {@code null} means "does
   *     not exist"
   * @return the value, or {@code null} if the loader found none (now, or when a "not found" was
   *     cached under the policy's {@link CachePolicy#negativeTtl()})
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception (unchecked ones propagate
   *     unchanged); loader failures are never cached
   * @throws LoadSheddingException if Redis is bypassed and the loader budget is used up, or if
   *     another caller's lease stayed busy for the policy's lease time and the budget is used up
   */
  public <T> T getOrLoad(String key, Class<T> type, CachePolicy policy, Loader<? extends T> loader) {
    return getOrLoadVersioned(key, type, policy, () -> Versioned.unversioned(loader.load()));
  }

  /**
   * As {@link #getOrLoad(String, Class, CachePolicy, Loader)}, with the data version the value
   * was read at: the fill is rejected if a newer version of the key is already known, which
   * makes loaders that read lagging replicas safe.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, used to decode it from Redis; a key may be read as several
   *     types (each read gets its own type; concurrent loads of one type are shared)
   * @param policy how the entity is cached, not null
   * @param loader reads the value and the version it was read at, not null; a {@code null}
   *     value means "does not exist", and a {@code null} result counts as
   *     {@link Versioned#unversioned(Object) Versioned.unversioned(null)}
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception (unchecked ones propagate
   *     unchanged)
   * @throws LoadSheddingException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   */
  public <T> T getOrLoadVersioned(String key, Class<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    return syncReads.get(CacheKey.parse(key), TypeRef.of(type), policy, loader);
  }

  /**
   * Reads {@code key} from the cache only: the near cache (if the policy uses it), else one
   * {@code GET}. Nothing is loaded and no lease is taken; a Redis failure reads as a miss. For
   * callers that load and store themselves (Spring's {@code Cache.get(key)}); prefer
   * {@link #getOrLoad}, whose lease keeps concurrent misses from all loading.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's type
   * @param policy how the entity is cached, not null
   * @return empty on a miss; a {@link Hit} with the value, or with {@code null} for a cached
   *     "not found"
   * @throws IllegalArgumentException if {@code key} is not a valid key
   */
  public <T> java.util.Optional<Hit<T>> getIfCached(String key, TypeRef<T> type, CachePolicy policy) {
    return syncReads.peek(CacheKey.parse(key), type, policy);
  }

  /**
   * As {@link #getOrLoad(String, Class, Loader)} for a generic type, with the default policy.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's full type, e.g. {@code new TypeRef<List<Product>>() {}}; reads of
   *     one key as different types never share a near-cache entry or a load
   * @param loader reads the value from the source of truth on a miss, not null
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   * @throws LoadSheddingException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   */
  public <T> T getOrLoad(String key, TypeRef<T> type, Loader<? extends T> loader) {
    return getOrLoad(key, type, config.defaultPolicy(), loader);
  }

  /**
   * As {@link #getOrLoad(String, Class, CachePolicy, Loader)} for a generic type such as
   * {@code List<Product>} or {@code Map<String, Price>}.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's full type, e.g. {@code new TypeRef<List<Product>>() {}}; reads of
   *     one key as different types never share a near-cache entry or a load
   * @param policy how the entity is cached, not null
   * @param loader reads the value from the source of truth, not null
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   * @throws LoadSheddingException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   */
  public <T> T getOrLoad(String key, TypeRef<T> type, CachePolicy policy, Loader<? extends T> loader) {
    return getOrLoadVersioned(key, type, policy, () -> Versioned.unversioned(loader.load()));
  }

  /**
   * As {@link #getOrLoadVersioned(String, Class, CachePolicy, VersionedLoader)} for a generic
   * type.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's full type
   * @param policy how the entity is cached, not null
   * @param loader reads the value and the version it was read at, not null
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   * @throws LoadSheddingException as {@link #getOrLoad(String, Class, CachePolicy, Loader)}
   */
  public <T> T getOrLoadVersioned(String key, TypeRef<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    return syncReads.get(CacheKey.parse(key), type, policy, loader);
  }

  /**
   * As {@link #getOrLoadAsync(String, Class, CachePolicy, Loader)} for a generic type.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's full type
   * @param policy how the entity is cached, not null
   * @param loader reads the value from the source of truth, not null
   * @return a future of the value ({@code null} if it does not exist)
   * @throws IllegalArgumentException if {@code key} is not a valid key (thrown at once)
   */
  public <T> CompletableFuture<T> getOrLoadAsync(String key, TypeRef<T> type, CachePolicy policy,
      Loader<? extends T> loader) {
    return getOrLoadVersionedAsync(key, type, policy, () -> Versioned.unversioned(loader.load()));
  }

  /**
   * As {@link #getOrLoadVersionedAsync(String, Class, CachePolicy, VersionedLoader)} for a
   * generic type.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's full type
   * @param policy how the entity is cached, not null
   * @param loader reads the value and the version it was read at, not null
   * @return a future of the value ({@code null} if it does not exist)
   * @throws IllegalArgumentException if {@code key} is not a valid key (thrown at once)
   */
  public <T> CompletableFuture<T> getOrLoadVersionedAsync(String key, TypeRef<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    return asyncReads.get(CacheKey.parse(key), type, policy, loader);
  }

  /**
   * Reads {@code key} no older than the application's own write: see {@link ReadAfter}. A hit
   * needs a cached value at a version at least {@code after}'s; otherwise the loader runs and
   * its result is stored through the fenced apply (never over a newer value). The near cache is
   * not read.
   *
   * @param <T> the value type
   * @param key the logical key
   * @param type the value's class
   * @param policy how the entity is cached
   * @param after the token from the write
   * @param loader reads the value and its version from the source of truth (the primary: a
   *     version below the token is tried again, then fails)
   * @return the value, or {@code null} if it does not exist
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws LoaderException if the loader threw a checked exception
   * @throws IllegalStateException if the loader keeps returning versions below the token
   */
  public <T> T getOrLoad(String key, Class<T> type, CachePolicy policy, ReadAfter after,
      VersionedLoader<? extends T> loader) {
    return tokenReads.get(CacheKey.parse(key), type, policy, after, loader);
  }

  /**
   * Reads {@code key} without blocking; the loader runs on the client's loader pool
   * ({@link CacheClientConfig#loaderThreads()} threads).
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, used to decode it from Redis; a key may be read as several
   *     types (each read gets its own type; concurrent loads of one type are shared)
   * @param policy how the entity is cached, not null
   * @param loader reads the value from the source of truth, not null; {@code null} means "does
   *     not exist"
   * @return a future of the value ({@code null} if it does not exist); it fails only as
   *     {@link #getOrLoad} would throw
   * @throws IllegalArgumentException if {@code key} is not a valid key (thrown at once, not
   *     through the future)
   */
  public <T> CompletableFuture<T> getOrLoadAsync(String key, Class<T> type, CachePolicy policy,
      Loader<? extends T> loader) {
    return getOrLoadVersionedAsync(key, type, policy, () -> Versioned.unversioned(loader.load()));
  }

  /**
   * The async form of {@link #getOrLoadVersioned}; the loader runs on the client's loader pool.
   *
   * @param <T> the value type
   * @param key the logical key, {@code service:entity:identifier}
   * @param type the value's class, used to decode it from Redis; a key may be read as several
   *     types (each read gets its own type; concurrent loads of one type are shared)
   * @param policy how the entity is cached, not null
   * @param loader reads the value and the version it was read at, not null
   * @return a future of the value ({@code null} if it does not exist); it fails only as
   *     {@link #getOrLoadVersioned} would throw
   * @throws IllegalArgumentException if {@code key} is not a valid key (thrown at once, not
   *     through the future)
   */
  public <T> CompletableFuture<T> getOrLoadVersionedAsync(String key, Class<T> type, CachePolicy policy,
      VersionedLoader<? extends T> loader) {
    return asyncReads.get(CacheKey.parse(key), TypeRef.of(type), policy, loader);
  }

  /**
   * Drops {@code key}'s cached value (every schema version, in Redis and in every near cache) and
   * revokes any lease, so a reader loading it now cannot store what it read. Does not raise the
   * version fence. This client's near cache drops the key before and after the Redis apply;
   * other clients' near caches are told by a notice, tried twice. Returns once
   * {@link CacheClientConfig#replicaAcks()} replicas of the key's master acknowledged the change
   * ({@code WAIT}, default one), so a failover of that master cannot lose it; at most as many as
   * are attached to the master now (none: no wait, counted in {@code cache.replica.acks.skipped}).
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @throws IllegalArgumentException if {@code key} is not a valid key
   * @throws CacheUnavailableException if Redis could not be reached; retry, or publish the
   *     invalidation with {@link #publishInvalidate}
   * @throws NoticeFailedException (a {@link CacheUnavailableException}) if Redis applied the
   *     invalidation but the near-cache notice could not be sent; retry (it is idempotent)
   * @throws ReplicaAckTimeoutException (a {@link CacheUnavailableException}) if the master applied
   *     the invalidation and near caches were notified, but fewer than
   *     {@link CacheClientConfig#replicaAcks()} replicas (or the replicas attached to the
   *     master, if fewer) acknowledged it in time, so a failover
   *     now could lose it; retry (it is idempotent) or publish it with {@link #publishInvalidate}
   */
  public void invalidate(String key) {
    apply(CacheKey.parse(key), CacheEvent.Op.INVALIDATE, Versioned.NO_VERSION, null, config.defaultPolicy());
  }

  /**
   * As {@link #invalidate(String)}, and raises the key's fence to {@code version}: a later fill of
   * data read at an older version is rejected. The fence is kept for at least the fence TTL of
   * the config's default policy ({@link CachePolicy#fenceTtl()}).
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @param version the data version of the change, in [0, {@link
   *     io.freshcache.protocol.CacheScripts#MAX_VERSION}]
   * @return {@code true} if applied, {@code false} if a newer version was already applied
   * @throws IllegalArgumentException if {@code key} is invalid or {@code version} negative
   * @throws CacheUnavailableException if Redis could not be reached
   * @throws NoticeFailedException (a {@link CacheUnavailableException}) if Redis applied the
   *     invalidation but the near-cache notice could not be sent; retry (it is idempotent)
   * @throws ReplicaAckTimeoutException (a {@link CacheUnavailableException}) if the master applied
   *     the invalidation and near caches were notified, but fewer than
   *     {@link CacheClientConfig#replicaAcks()} replicas (or the replicas attached to the
   *     master, if fewer) acknowledged it in time, so a failover
   *     now could lose it; retry (it is idempotent) or publish it with {@link #publishInvalidate}
   */
  public boolean invalidate(String key, long version) {
    checkVersion(version);
    return apply(CacheKey.parse(key), CacheEvent.Op.INVALIDATE, version, null, config.defaultPolicy());
  }

  /**
   * Write-through for data that must be readable at once (sessions): runs {@code dbWrite}, then
   * stores {@code value} at {@code version} unless a newer version is already cached.
   *
   * <p>The value is encoded before the database is written, so a value the policy cannot
   * encode (codec failure, missing encryption key) fails without touching the database. A value
   * over the policy's size limit is written to the database but not cached: the entry is
   * invalidated and {@code cache.oversize} counts it. If the database write throws, the cache is
   * untouched and the exception propagates ({@link LoaderException} for checked ones). If the
   * cache write fails after the database write succeeded, the key is invalidated; if that fails
   * too, the invalidation is published to Kafka when configured (cache-writer applies it once
   * Redis is back), and otherwise a {@link CacheUnavailableException} reports that the entry may
   * be stale until its TTL. "Fails" includes a write the master applied but no replica
   * acknowledged in time ({@link CacheClientConfig#replicaAcks()}): a failover could lose it, so
   * it is followed by the same invalidation, publication or {@link ReplicaAckTimeoutException}.
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @param value the value to cache, not null; encoded with the policy's codec
   * @param version the data version the database write produced, in [0, {@link
   *     io.freshcache.protocol.CacheScripts#MAX_VERSION}]
   * @param policy how the entity is cached (codec, encryption, size limit, TTL, schema
   *     version), not null
   * @param dbWrite writes the database, not null; runs on the calling thread once the arguments
   *     are checked and the value is encoded
   * @return {@code true} if the cache now holds {@code value}, {@code false} if it was stale or
   *     the entry was invalidated instead
   * @throws IllegalArgumentException if the key or version is invalid or {@code value} is null
   *     (checked before {@code dbWrite} runs)
   * @throws io.freshcache.protocol.CodecException if the value cannot be encoded; raised before
   *     {@code dbWrite} runs
   * @throws IllegalStateException if the policy encrypts and no
   *     {@link CacheClientConfig#encryptionKey()} is configured; raised before {@code dbWrite}
   *     runs
   * @throws LoaderException if {@code dbWrite} threw a checked exception (unchecked ones
   *     propagate unchanged); the cache is untouched
   * @throws CacheUnavailableException if, after the database write, neither the cache write nor
   *     the invalidation reached Redis, and no Kafka is configured or publishing the
   *     invalidation failed too
   */
  public boolean writeThrough(String key, Object value, long version, CachePolicy policy, DatabaseWrite dbWrite) {
    CacheKey k = CacheKey.parse(key);
    checkVersion(version);
    if (value == null) {
      throw new IllegalArgumentException("writeThrough of " + key + " needs a value");
    }
    // encode first: a value that cannot be encoded fails before the database is touched, so a
    // database write is never followed by an exception that leaves the old entry cached
    long ttlMs = jitter.millis(policy.ttl(), policy.jitter());
    byte[] envelope;
    try {
      envelope = codec.encode(k, policy, value, version, clock.millis(), ttlMs, 0);
    } catch (EntryCodec.OversizeException tooBig) {
      envelope = null; // written to the database, but not cacheable: the entry is invalidated
      meters.entity(policy.name()).oversize.increment();
    }
    try {
      dbWrite.write();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new LoaderException(key, e);
    }
    if (envelope != null) {
      try {
        return apply(k, CacheEvent.Op.UPSERT, version, new byte[][] {envelope, bytes(Long.toString(ttlMs))}, policy);
      } catch (CacheUnavailableException first) {
        log.debug("cache write of {} failed after the database write; invalidating: {}", key, first.getMessage());
      }
    }
    invalidateAfterDatabaseWrite(k, version, policy);
    return false;
  }

  /** The database holds a newer value than the cache may: invalidate, or publish the invalidation. */
  private void invalidateAfterDatabaseWrite(CacheKey k, long version, CachePolicy policy) {
    String key = k.toString();
    try {
      apply(k, CacheEvent.Op.INVALIDATE, version, null, policy);
    } catch (CacheUnavailableException second) {
      if (config.kafka() == null) {
        throw new CacheUnavailableException(key, "the database write succeeded but the cache could"
            + " not be updated or invalidated; the entry may be stale until its TTL", second);
      }
      try {
        publishInvalidate(key, version).join();
      } catch (java.util.concurrent.CompletionException e) {
        throw new CacheUnavailableException(key, "the database write succeeded but the cache could"
            + " not be invalidated, in Redis or through Kafka; the entry may be stale until its TTL",
            e.getCause() == null ? e : e.getCause());
      }
      log.warn("cache write of {} failed after the database write; invalidation published", key);
    }
  }

  /**
   * Write-behind: publishes an upsert of {@code value} at {@code version} to the writes topic;
   * cache-writer applies it (fenced) and, where configured, flushes it to the database.
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @param value the value, not null; encoded with the policy's codec
   * @param version the data version of the write, in [0, {@link
   *     io.freshcache.protocol.CacheScripts#MAX_VERSION}]
   * @param policy supplies the codec, size limit, TTL (jittered here) and schema version of the
   *     event; not null and not encrypted
   * @return a future completed when the broker acknowledged the event, or failed with the
   *     producer's error
   * @throws IllegalStateException if no Kafka is configured ({@code KAFKA_BOOTSTRAP_SERVERS}), or
   *     {@code org.apache.kafka:kafka-clients} (an optional dependency) is not on the class path
   * @throws IllegalArgumentException if the key or version is invalid, {@code value} is null,
   *     the policy encrypts (encrypted write-behind is not supported yet), or the encoded value
   *     exceeds {@link CachePolicy#maxValueBytes()}
   * @throws io.freshcache.protocol.CodecException if the value cannot be encoded
   */
  public CompletableFuture<Void> publishWrite(String key, Object value, long version, CachePolicy policy) {
    CacheKey k = CacheKey.parse(key);
    checkVersion(version);
    if (value == null) {
      // a null would be published as the JSON text "null" and cached as a value
      throw new IllegalArgumentException("publishWrite of " + key + " needs a value; use"
          + " publishInvalidate for a row that is gone");
    }
    if (policy.encrypted()) {
      throw new IllegalArgumentException("publishWrite of " + key + ": encrypted policies are not"
          + " supported for write-behind yet");
    }
    Codec c = Codecs.byName(policy.codec());
    byte[] payload = (json != null && c.id() == Codecs.JSON_ID ? json : c).encode(value);
    if (payload.length > policy.maxValueBytes()) {
      throw new IllegalArgumentException("publishWrite of " + key + ": value of " + payload.length
          + " bytes exceeds the policy's limit of " + policy.maxValueBytes());
    }
    CacheEvent e = new CacheEvent(CacheEvent.Op.UPSERT, k, version,
        jitter.millis(policy.ttl(), policy.jitter()), policy.schemaVersion(), policy.codec(), payload,
        null, clock.millis());
    return publisher().publish(e);
  }

  /**
   * Publishes an invalidation of {@code key} at {@code version} to the writes topic;
   * cache-writer then applies it to Redis, fenced like {@link #invalidate(String, long)}.
   *
   * @param key the logical key, {@code service:entity:identifier}
   * @param version the data version of the change, in [0, {@link
   *     io.freshcache.protocol.CacheScripts#MAX_VERSION}]
   * @return a future completed when the broker acknowledged the event, or failed with the
   *     producer's error
   * @throws IllegalStateException if no Kafka is configured, or kafka-clients is not on the
   *     class path
   * @throws IllegalArgumentException if the key or version is invalid
   */
  public CompletableFuture<Void> publishInvalidate(String key, long version) {
    checkVersion(version);
    return publisher().publish(CacheEvent.invalidate(CacheKey.parse(key), version, clock.millis()));
  }

  /** @return {@code true} if a node answered {@code PING} within the command timeout */
  public boolean ping() {
    try {
      return "PONG".equals(link.commandsOrThrow().ping());
    } catch (RedisException | RedisLink.Unavailable e) {
      return false;
    }
  }

  /**
   * The breakers' state as one value. There is one circuit breaker per Redis master (a failed
   * master bypasses only its own slots; see {@link #circuitStates()}); this is the worst of the
   * current masters' states.
   *
   * @return {@code OPEN} if any current master's breaker is open, else {@code HALF_OPEN} if any
   *     is half-open, else {@code CLOSED}
   */
  public CircuitBreaker.State circuitState() {
    return link.circuitState();
  }

  /**
   * @return the circuit breaker state of each current master (from the client's view of the
   *     topology), by {@code host:port}; empty while not connected
   */
  public java.util.Map<String, CircuitBreaker.State> circuitStates() {
    return link.circuitStates();
  }

  /**
   * The near-cache entry of {@code key} under {@code policy}'s schema, for tests that compare
   * every near entry with the source of truth.
   */
  Object nearPeek(String key, CachePolicy policy) {
    return near.peek(CacheKey.parse(key), policy.schemaVersion());
  }

  /**
   * Test seam: the data version of the near-cache entry of {@code key} under {@code policy}'s
   * schema, or {@code null}.
   */
  Long nearPeekVersion(String key, CachePolicy policy) {
    return near.peekVersion(CacheKey.parse(key), policy.schemaVersion());
  }

  /**
   * What the near-cache consistency sampler has found so far: how many near entries it compared
   * with Redis, how many Redis held something newer for at first sight, at M and at each window
   * while the near cache still held them, how many outlasted the last window (confirmed, against
   * Redis), the "nines consistent within" each window, and the latest findings. The sampler runs
   * only with {@link CacheClientConfig#nearCacheSamplePerSecond()} above 0 (env
   * {@code NEAR_CACHE_SAMPLE_PER_S}); the same figures are the meters
   * {@code cache.near.sample.checks}, {@code .violations}, {@code .nines} and {@code .pending}.
   *
   * @return a snapshot; {@link NearCacheConsistency#enabled()} is false when the sampler is off
   */
  public NearCacheConsistency nearCacheConsistency() {
    io.freshcache.client.internal.NearCacheSampler s = sampler;
    if (s == null) {
      return NearCacheConsistency.off();
    }
    java.util.Map<String, Long> inconsistent = new java.util.LinkedHashMap<>();
    long errors = s.checks("sample", "error");
    for (String w : s.windowLabels()) {
      inconsistent.put(w, s.checks(w, "inconsistent"));
      errors += s.checks(w, "error");
    }
    return new NearCacheConsistency(true, s.sampled(), s.checks("sample", "consistent"),
        s.checks("sample", "apparent"), s.checks("sample", "unversioned"), errors, inconsistent, s.confirmed(),
        s.pending(), s.allNines(),
        s.findings().stream().map(io.freshcache.client.internal.NearCacheSampler.Finding::describe).toList());
  }

  /** @return the registry holding this client's meters */
  public MeterRegistry meters() {
    return meters.registry();
  }

  /** @return a snapshot of this client's counters, summed over all policies */
  public Stats stats() {
    return new Stats(meters.total(e -> e.redisHits) + meters.total(e -> e.nearHits),
        meters.total(e -> e.redisMisses), meters.total(e -> e.nearHits),
        meters.total(e -> e.loaderCalls), meters.total(e -> e.fallbacks), meters.total(e -> e.loadShed),
        meters.total(e -> e.leaseBusy), meters.total(e -> e.fillRejected), near.size());
  }

  /** Closes the connections, the producer and the loader pool. */
  @Override
  public void close() {
    if (sampler != null) {
      sampler.close();
    }
    near.close();
    link.close();
    WritePublisher p = publisher;
    if (p != null) {
      p.close();
    }
    loaderPool.shutdownNow();
  }

  /**
   * Counters of one client.
   *
   * @param hits reads served from the cache (Redis or near)
   * @param misses reads that missed in Redis
   * @param nearHits reads served from the near cache
   * @param loaderCalls loader invocations
   * @param fallbacks reads served by the loader because Redis was bypassed
   * @param loadShed bypassed reads refused by the rate limiter
   * @param leaseBusy lease attempts that found the lease taken
   * @param fillsRejected fills refused by a revoked lease or a newer fence
   * @param nearSize near-cache entries now
   */
  public record Stats(long hits, long misses, long nearHits, long loaderCalls, long fallbacks,
      long loadShed, long leaseBusy, long fillsRejected, long nearSize) {}

  private boolean apply(CacheKey k, CacheEvent.Op op, long version, byte[][] upsert, CachePolicy policy) {
    long t0 = System.nanoTime();
    near.drop(k);
    beforeApply.run();
    RedisClusterCommands<byte[], byte[]> cmds;
    try {
      cmds = link.commandsOrThrow();
    } catch (RedisLink.Unavailable u) {
      throw new CacheUnavailableException(k.toString(), op.wireName() + " failed: " + u.getMessage(), u);
    }
    RedisLink.MasterWrite<Long> w;
    try {
      // on the master's own connection, then WAIT on that connection: see RedisLink.writeOnMaster
      w = link.writeOnMaster(k.fenceKey(), node -> ScriptRunner.<Long>run(node, CacheScripts.APPLY,
          ScriptOutputType.INTEGER,
          new byte[][] {bytes(k.fenceKey()), bytes(k.leaseKey()), bytes(k.valueKey(policy.schemaVersion()))},
          bytes(CacheScripts.opArg(op)), bytes(Long.toString(version)),
          upsert == null ? new byte[0] : upsert[0], upsert == null ? bytes("0") : upsert[1],
          bytes(CacheScripts.schemaField(policy.schemaVersion())),
          bytes(Long.toString(policy.fenceTtl().toMillis())), bytes(k.valueKeyPrefix())),
          acks.required(), acks::waitMs);
      link.report(k.fenceKey(), t0, null);
    } catch (RedisException | RedisLink.Unavailable e) {
      if (e instanceof RedisException re) {
        link.report(k.fenceKey(), t0, re);
      }
      throw new CacheUnavailableException(k.toString(), op.wireName() + " failed: " + e.getMessage(), e);
    }
    // a local read that captured the near-cache epoch after the first drop may have read the
    // old value from Redis before the apply: this second drop makes its store fail
    near.drop(k);
    if (acks.required() > 0 && w.wanted() == 0) {
      meters.replicaAcksSkipped().increment(); // no replica attached to acknowledge: see RedisLink.liveReplicas
    }
    boolean acked = w.wanted() == 0 || acks.record(w.node(), w.acks(), w.wanted());
    try {
      notifyNearCaches(cmds, k, op);
    } catch (NoticeFailedException nf) {
      if (!acked) {
        ReplicaAckTimeoutException e = notAcknowledged(k, op, w);
        e.addSuppressed(nf);
        throw e;
      }
      throw nf;
    }
    meters.invalidateLatency().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    if (!acked) {
      throw notAcknowledged(k, op, w);
    }
    return w.result() == CacheScripts.APPLY_APPLIED;
  }

  private ReplicaAckTimeoutException notAcknowledged(CacheKey k, CacheEvent.Op op, RedisLink.MasterWrite<Long> w) {
    meters.replicaAckTimeouts().increment();
    return new ReplicaAckTimeoutException(k.toString(), op.wireName() + " applied on master " + w.node()
        + " and near caches notified, but " + w.acks() + " of " + w.wanted() + " replicas acknowledged it"
        + " in time; a failover now could lose it: retry, or publish the invalidation", w.acks(), w.wanted());
  }

  /**
   * Tells every near cache to drop {@code k}; tried twice.
   *
   * @throws NoticeFailedException if both attempts failed: Redis holds the change, but other
   *     clients' near caches may keep the old value until their near-cache TTL
   */
  private void notifyNearCaches(RedisClusterCommands<byte[], byte[]> cmds, CacheKey k, CacheEvent.Op op) {
    int ch = NoticeChannels.indexOf(k);
    RedisException last = null;
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        ScriptRunner.run(cmds, CacheScripts.NOTIFY, ScriptOutputType.INTEGER,
            new byte[][] {bytes(NoticeChannels.sequenceKey(ch))}, bytes(NoticeChannels.channel(ch)),
            NoticeChannels.body(List.of(k)));
        return;
      } catch (RedisException e) {
        last = e;
      }
    }
    meters.noticeFailures().increment();
    log.warn("{} of {} applied in Redis, but its near-cache notice failed twice; other clients'"
        + " near caches may keep the old value until their near-cache TTL: {}", op.wireName(), k, last.toString());
    throw new NoticeFailedException(k.toString(), op.wireName() + " applied in Redis, but the near-cache"
        + " notice failed (" + last.getMessage() + "); other clients' near caches may keep the old value"
        + " until their near-cache TTL; retry, or publish the invalidation", last);
  }

  private WritePublisher publisher() {
    WritePublisher p = publisher;
    if (p == null) {
      synchronized (this) {
        p = publisher;
        if (p == null) {
          if (config.kafka() == null) {
            throw new IllegalStateException("publishing needs Kafka: set KAFKA_BOOTSTRAP_SERVERS or"
                + " CacheClientConfig.builder().kafkaBootstrapServers(...)");
          }
          requireKafkaClients(CacheClient.class.getClassLoader(), KAFKA_PRODUCER_CLASS);
          p = new WritePublisher(config.kafka(), config.writesTopic());
          publisher = p;
        }
      }
    }
    return p;
  }

  /** The class whose absence means kafka-clients is not on the class path. */
  static final String KAFKA_PRODUCER_CLASS = "org.apache.kafka.clients.producer.KafkaProducer";

  /**
   * kafka-clients is an optional dependency of the client: only publishing needs it.
   *
   * @throws IllegalStateException naming the missing dependency if {@code producerClass} cannot
   *     be loaded
   */
  static void requireKafkaClients(ClassLoader loader, String producerClass) {
    try {
      Class.forName(producerClass, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException("publishing needs the Kafka client, which is an optional"
          + " dependency of freshcache-client: add org.apache.kafka:kafka-clients (" + producerClass
          + " is not on the class path)", e);
    }
  }

  private static void checkVersion(long version) {
    if (version < 0 || version > CacheScripts.MAX_VERSION) {
      throw new IllegalArgumentException("version must be in [0, " + CacheScripts.MAX_VERSION
          + "] but was " + version);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
