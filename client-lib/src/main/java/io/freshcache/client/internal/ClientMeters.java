package io.freshcache.client.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The client's meters, with Prometheus-style names once exported ({@code cache.hit} becomes
 * {@code cache_hit_total}). Counters are tagged with the policy name ({@code entity}) and, for
 * hits and misses, the tier ({@code near} or {@code redis}). Meters are looked up once per
 * policy and kept, so the hot path does no registry lookups.
 *
 * <p>Beside its own meters the client registers the standard cache meter that Micrometer's
 * Caffeine and JCache binders and Spring's cache metrics use, {@code cache.gets} (Prometheus:
 * {@code cache_gets_total}) with tags {@code cache} (the policy name) and {@code result}
 * ({@code hit} or {@code miss}), so dashboards made for those caches show freshcache too. A hit
 * is a read answered by the near cache or Redis; a miss is a read Redis did not answer with a
 * value, or one served by the loader while Redis was bypassed ({@link #FALLBACKS}). They are
 * function counters over the same counts as {@link #HIT}, {@link #MISS} and {@link #FALLBACKS},
 * so the hot path counts once.
 */
public final class ClientMeters {
  /** Meter names, as registered (Micrometer dot notation). */
  public static final String HIT = "cache.hit";
  /** Misses. */
  public static final String MISS = "cache.miss";
  /**
   * The standard cache meter (Micrometer's cache binders, Spring): reads by {@code result}
   * ({@code hit}, {@code miss}), tag {@code cache} = the policy name.
   */
  public static final String GETS = "cache.gets";
  /** Latency timer of client operations, tag {@code op}. */
  public static final String LATENCY = "cache.latency";
  /** Leases granted. */
  public static final String LEASE_GRANTED = "cache.lease.granted";
  /** Lease attempts that found the lease taken. */
  public static final String LEASE_BUSY = "cache.lease.busy";
  /** Loader invocations. */
  public static final String LOADER_CALLS = "cache.loader.calls";
  /** Reads served by the loader because Redis was bypassed. */
  public static final String FALLBACKS = "cache.fallbacks";
  /** Bypassed reads refused by the rate limiter. */
  public static final String LOAD_SHED = "cache.load.shed";
  /** Fills refused by a revoked lease or a newer fence. */
  public static final String FILL_REJECTED = "cache.fill.rejected";
  /** Values over the policy's size limit. */
  public static final String OVERSIZE = "cache.oversize";
  /** Early refreshes started. */
  public static final String EARLY_REFRESH = "cache.early.refresh";
  /** Near-cache flushes (gap or reconnect). */
  public static final String NEAR_FLUSH = "cache.near.flushes";
  /** Near-cache notices received. */
  public static final String NEAR_NOTICES = "cache.near.notices";
  /** Invalidation notices this client failed to publish. */
  public static final String NOTICE_FAILURES = "cache.notice.failures";
  /** Writes (invalidate, write-through) no replica acknowledged within the timeout. */
  public static final String REPLICA_ACK_TIMEOUTS = "cache.replica.ack.timeouts";
  /** Notice losses the near cache's watchdog found, tag {@code reason} ({@code gap}, {@code backward}). */
  public static final String NEAR_NOTICES_LOST = "cache.near.notices.lost";
  /** Near-cache hits refused because the key's notice channel was silent longer than the budget. */
  public static final String NEAR_SILENT_REFUSALS = "cache.near.silent.refusals";
  /**
   * Freshness heartbeat: its row's commit → its notice received by this client, seconds;
   * registered by the heartbeat probe: {@code freshcache_heartbeat_notice_lag_seconds} (histogram).
   */
  public static final String HEARTBEAT_NOTICE_LAG = "freshcache.heartbeat.notice.lag";
  /**
   * Near-cache sampler checks, tags {@code window} ({@code sample}, then M and each re-check
   * window) and {@code result}; see {@link NearCacheSampler}. Registered by the sampler:
   * {@code cache_near_sample_checks_total{window,result}}.
   */
  public static final String NEAR_SAMPLE_CHECKS = "cache.near.sample.checks";
  /**
   * Near-cache sampler violations confirmed (stale past the last window), tag {@code result}:
   * {@code cache_near_sample_violations_total{result}}.
   */
  public static final String NEAR_SAMPLE_VIOLATIONS = "cache.near.sample.violations";
  /**
   * "Nines consistent within" each sampler window, and {@code confirmed}, tag {@code window}:
   * {@code cache_near_sample_nines{window}}.
   */
  public static final String NEAR_SAMPLE_NINES = "cache.near.sample.nines";
  /**
   * Near entries the sampler is following (apparently stale, waiting for a re-check):
   * {@code cache_near_sample_pending}.
   */
  public static final String NEAR_SAMPLE_PENDING = "cache.near.sample.pending";
  /** Writes that skipped {@code WAIT} because no replica was attached to their master. */
  public static final String REPLICA_ACKS_SKIPPED = "cache.replica.acks.skipped";

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Entity> entities = new ConcurrentHashMap<>();
  private final Counter nearFlushes;
  private final Counter nearNotices;
  private final Counter nearSilentRefusals;
  private final Counter noticeFailures;
  private final Counter replicaAckTimeouts;
  private final Counter replicaAcksSkipped;
  private final Counter noticesLostGap;
  private final Counter noticesLostBackward;
  private final Timer getLatency;
  private final Timer missLatency;
  private final Timer invalidateLatency;

  /** Per-policy counters. */
  public static final class Entity {
    /** {@link #HIT}, tier {@code redis}. */
    public final Counter redisHits;
    /** {@link #HIT}, tier {@code near}. */
    public final Counter nearHits;
    /** {@link #MISS}, tier {@code redis}. */
    public final Counter redisMisses;
    /** {@link #MISS}, tier {@code near}. */
    public final Counter nearMisses;
    /** {@link #LEASE_GRANTED}. */
    public final Counter leaseGranted;
    /** {@link #LEASE_BUSY}. */
    public final Counter leaseBusy;
    /** {@link #LOADER_CALLS}. */
    public final Counter loaderCalls;
    /** {@link #FALLBACKS}. */
    public final Counter fallbacks;
    /** {@link #LOAD_SHED}. */
    public final Counter loadShed;
    /** {@link #FILL_REJECTED}. */
    public final Counter fillRejected;
    /** {@link #OVERSIZE}. */
    public final Counter oversize;
    /** {@link #EARLY_REFRESH}. */
    public final Counter earlyRefresh;

    Entity(MeterRegistry r, String entity) {
      redisHits = Counter.builder(HIT).tag("entity", entity).tag("tier", "redis").register(r);
      nearHits = Counter.builder(HIT).tag("entity", entity).tag("tier", "near").register(r);
      redisMisses = Counter.builder(MISS).tag("entity", entity).tag("tier", "redis").register(r);
      nearMisses = Counter.builder(MISS).tag("entity", entity).tag("tier", "near").register(r);
      leaseGranted = Counter.builder(LEASE_GRANTED).tag("entity", entity).register(r);
      leaseBusy = Counter.builder(LEASE_BUSY).tag("entity", entity).register(r);
      loaderCalls = Counter.builder(LOADER_CALLS).tag("entity", entity).register(r);
      fallbacks = Counter.builder(FALLBACKS).tag("entity", entity).register(r);
      loadShed = Counter.builder(LOAD_SHED).tag("entity", entity).register(r);
      fillRejected = Counter.builder(FILL_REJECTED).tag("entity", entity).register(r);
      oversize = Counter.builder(OVERSIZE).tag("entity", entity).register(r);
      earlyRefresh = Counter.builder(EARLY_REFRESH).tag("entity", entity).register(r);
      FunctionCounter.builder(GETS, this, e -> e.redisHits.count() + e.nearHits.count())
          .tag("cache", entity).tag("result", "hit")
          .description("the number of times cache lookup methods have returned a cached value")
          .register(r);
      FunctionCounter.builder(GETS, this, e -> e.redisMisses.count() + e.fallbacks.count())
          .tag("cache", entity).tag("result", "miss")
          .description("the number of times cache lookup methods have returned an uncached value")
          .register(r);
    }
  }

  /** @param registry where the meters are registered */
  public ClientMeters(MeterRegistry registry) {
    this.registry = registry;
    this.nearFlushes = Counter.builder(NEAR_FLUSH).register(registry);
    this.nearNotices = Counter.builder(NEAR_NOTICES).register(registry);
    this.nearSilentRefusals = Counter.builder(NEAR_SILENT_REFUSALS).register(registry);
    this.noticeFailures = Counter.builder(NOTICE_FAILURES).register(registry);
    this.replicaAckTimeouts = Counter.builder(REPLICA_ACK_TIMEOUTS).register(registry);
    this.replicaAcksSkipped = Counter.builder(REPLICA_ACKS_SKIPPED).register(registry);
    this.noticesLostGap = Counter.builder(NEAR_NOTICES_LOST).tag("reason", "gap").register(registry);
    this.noticesLostBackward = Counter.builder(NEAR_NOTICES_LOST).tag("reason", "backward").register(registry);
    this.getLatency = timer("get");
    this.missLatency = timer("load");
    this.invalidateLatency = timer("invalidate");
  }

  private Timer timer(String op) {
    return Timer.builder(LATENCY).tag("op", op).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1).dividedBy(100)).maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
  }

  /**
   * @param entity the policy name, the {@code entity} tag
   * @return the counters of the policy named {@code entity}, created on first use
   */
  public Entity entity(String entity) {
    Entity e = entities.get(entity);
    return e != null ? e : entities.computeIfAbsent(entity, n -> new Entity(registry, n));
  }

  /** @return the timer of reads that hit (tag op=get) */
  public Timer getLatency() {
    return getLatency;
  }

  /** @return the timer of reads that missed and loaded (tag op=load) */
  public Timer missLatency() {
    return missLatency;
  }

  /** @return the timer of invalidations */
  public Timer invalidateLatency() {
    return invalidateLatency;
  }

  /** @return the near-cache flush counter */
  public Counter nearFlushes() {
    return nearFlushes;
  }

  /** @return the counter of near-cache hits refused after a silent notice channel */
  public Counter nearSilentRefusals() {
    return nearSilentRefusals;
  }

  /** @return the counter of near-cache notices received */
  public Counter nearNotices() {
    return nearNotices;
  }

  /** @return the counter of notices this client failed to publish */
  public Counter noticeFailures() {
    return noticeFailures;
  }

  /** @return the counter of writes no replica acknowledged in time */
  public Counter replicaAckTimeouts() {
    return replicaAckTimeouts;
  }

  /** @return the counter of writes that skipped {@code WAIT}: no replica was attached to their master */
  public Counter replicaAcksSkipped() {
    return replicaAcksSkipped;
  }

  /**
   * Counts one notice loss found by the near cache's watchdog.
   *
   * @param reason {@code gap} (a counter ahead of the notices received) or {@code backward} (a
   *     counter behind them, after a failover)
   */
  public void noticesLost(String reason) {
    ("backward".equals(reason) ? noticesLostBackward : noticesLostGap).increment();
  }

  /**
   * Registers a gauge.
   *
   * @param name the meter name (dot notation)
   * @param description the meter's description
   * @param value sampled on each scrape
   */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  /** @return the registry */
  public MeterRegistry registry() {
    return registry;
  }

  /**
   * @param counter picks the counter of an entity, e.g. {@code e -> e.loaderCalls}
   * @return the sum of a counter over all entities
   */
  public long total(java.util.function.Function<Entity, Counter> counter) {
    long sum = 0;
    for (Entity e : entities.values()) {
      sum += (long) counter.apply(e).count();
    }
    return sum;
  }
}
