package io.freshcache.client;

import io.freshcache.protocol.Codecs;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How one kind of entity is cached: TTL and jitter, schema version, lease time, early refresh,
 * size limit, codec, encryption, negative caching, replica reads and the near cache.
 *
 * <p>Presets for the common cases: {@link #USER_PROFILES} (300 s), {@link #PRODUCT_CATALOG}
 * (3600 s) and {@link #SESSION_TOKENS} (900 s). Derive others with {@link #of(String, Duration)},
 * the {@code with*} methods or {@link #toBuilder()}:
 *
 * <pre>{@code
 * CachePolicy orders = CachePolicy.of("orders", Duration.ofMinutes(10)).withJitter(0.1);
 * CachePolicy users = CachePolicy.USER_PROFILES.toBuilder().encrypted(true).nearCache(true).build();
 * }</pre>
 *
 * @param name the policy's name, the {@code entity} tag of metrics; lower-case letters, digits,
 *     {@code _} and {@code -}, at most 64
 * @param ttl the time to live before jitter; Redis expires the value after it (hard expiry)
 * @param jitter relative jitter in [0, 0.9]: each fill lives {@code ttl × (1 ± jitter)}, default
 *     {@value #DEFAULT_JITTER}, so keys filled together do not expire together
 * @param schemaVersion the application's version of the value's shape, at least 1; bump it when
 *     the cached class changes incompatibly: old entries become unreachable without a flush
 * @param leaseTime how long a loader may hold the lease; waiters give up after it and load
 *     themselves without filling, default {@link #DEFAULT_LEASE_TIME}
 * @param fenceTtl how long version fences and schema markers are kept; at least the longest
 *     jittered TTL, default {@link #DEFAULT_FENCE_TTL} or twice the TTL if longer. Events replayed
 *     from further back than this can resurrect old upserts.
 * @param earlyRefreshBeta XFetch's β: a hit recomputes the value in the background with
 *     probability rising as expiry nears ({@code now − Δ·β·ln(rand) ≥ expiry}, Δ the last load
 *     time); 0 turns early refresh off, values above 1 refresh earlier. Default
 *     {@value #DEFAULT_EARLY_REFRESH_BETA}
 * @param maxValueBytes the largest encoded value cached; a larger one is returned to the caller
 *     but not cached and counted in {@code cache_oversize_total}. Default
 *     {@value #DEFAULT_MAX_VALUE_BYTES}
 * @param codec the codec name values are written with ({@code json}, {@code cbor}, {@code smile},
 *     {@code msgpack}); readers decode any. Default {@code json}
 * @param encrypted whether values are encrypted with AES-GCM (the key comes from
 *     {@link CacheClientConfig#encryptionKey()}); for entities that hold personal data
 * @param negativeTtl how long a "not found" is cached; {@link Duration#ZERO} (the default) caches
 *     nothing for missing rows
 * @param replicaReads whether hits may be read from replicas (possibly stale by the replication
 *     lag); lease and fence state are always read from masters. Default false
 * @param nearCache whether decoded values are also kept in the client's in-process near cache,
 *     dropped by invalidation notices. Default false
 * @param nearCacheTtl how long a near-cache entry lives at most; never longer than {@code ttl}.
 *     Default {@link #DEFAULT_NEAR_CACHE_TTL} or {@code ttl} if shorter
 */
public record CachePolicy(String name, Duration ttl, double jitter, int schemaVersion,
    Duration leaseTime, Duration fenceTtl, double earlyRefreshBeta, int maxValueBytes, String codec,
    boolean encrypted, Duration negativeTtl, boolean replicaReads, boolean nearCache,
    Duration nearCacheTtl) {

  // declared before the presets, which are validated against it
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /** Default relative TTL jitter: ±20%. */
  public static final double DEFAULT_JITTER = 0.2;
  /** Default lease time: 5 s. */
  public static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(5);
  /** Default fence lifetime: 24 h. */
  public static final Duration DEFAULT_FENCE_TTL = Duration.ofHours(24);
  /** Default XFetch β: 1.0. */
  public static final double DEFAULT_EARLY_REFRESH_BETA = 1.0;
  /** Default size limit of an encoded value: 1 MiB. */
  public static final int DEFAULT_MAX_VALUE_BYTES = 1 << 20;
  /** Default near-cache entry lifetime: 30 s. */
  public static final Duration DEFAULT_NEAR_CACHE_TTL = Duration.ofSeconds(30);

  /** User profiles: 300 s, ±20%. */
  public static final CachePolicy USER_PROFILES = of("profiles", Duration.ofSeconds(300));
  /** Product catalog: 3600 s, ±20%. */
  public static final CachePolicy PRODUCT_CATALOG = of("catalog", Duration.ofSeconds(3600));
  /** Session tokens: 900 s, ±20%. */
  public static final CachePolicy SESSION_TOKENS = of("sessions", Duration.ofSeconds(900));

  /**
   * Validates the policy.
   *
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CachePolicy {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(leaseTime, "leaseTime");
    Objects.requireNonNull(fenceTtl, "fenceTtl");
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(negativeTtl, "negativeTtl");
    Objects.requireNonNull(nearCacheTtl, "nearCacheTtl");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("policy name must match " + NAME + " but was '" + name + "'");
    }
    if (ttl.toMillis() < 1) {
      throw new IllegalArgumentException("ttl must be at least 1 ms but was " + ttl);
    }
    if (!(jitter >= 0 && jitter <= 0.9)) {
      throw new IllegalArgumentException("jitter must be in [0, 0.9] but was " + jitter);
    }
    if (schemaVersion < 1) {
      throw new IllegalArgumentException("schemaVersion must be >= 1 but was " + schemaVersion);
    }
    if (leaseTime.toMillis() < 1) {
      throw new IllegalArgumentException("leaseTime must be at least 1 ms but was " + leaseTime);
    }
    Duration longest = ttl.plusMillis(Math.round(ttl.toMillis() * jitter));
    if (fenceTtl.compareTo(longest) < 0) {
      throw new IllegalArgumentException("fenceTtl must be at least the longest jittered ttl ("
          + longest + ") but was " + fenceTtl);
    }
    if (!(earlyRefreshBeta >= 0 && earlyRefreshBeta <= 100)) {
      throw new IllegalArgumentException("earlyRefreshBeta must be in [0, 100] but was " + earlyRefreshBeta);
    }
    if (maxValueBytes < 1) {
      throw new IllegalArgumentException("maxValueBytes must be positive but was " + maxValueBytes);
    }
    Codecs.byName(codec);
    if (negativeTtl.isNegative() || negativeTtl.compareTo(ttl) > 0) {
      throw new IllegalArgumentException("negativeTtl must be in [0, ttl] but was " + negativeTtl);
    }
    if (nearCacheTtl.toMillis() < 1 || nearCacheTtl.compareTo(ttl) > 0) {
      throw new IllegalArgumentException("nearCacheTtl must be in [1 ms, ttl " + ttl + "] but was "
          + nearCacheTtl);
    }
  }

  /**
   * A policy with every setting at its default and the fence TTL at
   * {@link #DEFAULT_FENCE_TTL} or twice the TTL, whichever is longer.
   *
   * @throws IllegalArgumentException if the name or TTL is invalid
   */
  public static CachePolicy of(String name, Duration ttl) {
    return builder(name).ttl(ttl).build();
  }

  /** @return a builder for a policy named {@code name}, every setting at its default */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** @return a builder holding this policy's settings */
  public Builder toBuilder() {
    Builder b = new Builder(name);
    b.ttl = ttl;
    b.jitter = jitter;
    b.schemaVersion = schemaVersion;
    b.leaseTime = leaseTime;
    b.fenceTtl = fenceTtl;
    b.earlyRefreshBeta = earlyRefreshBeta;
    b.maxValueBytes = maxValueBytes;
    b.codec = codec;
    b.encrypted = encrypted;
    b.negativeTtl = negativeTtl;
    b.replicaReads = replicaReads;
    b.nearCache = nearCache;
    b.nearCacheTtl = nearCacheTtl;
    return b;
  }

  /** @return this policy with another TTL (fence and near-cache TTL follow where they must) */
  public CachePolicy withTtl(Duration newTtl) {
    Builder b = toBuilder();
    b.fenceTtl = null;
    b.nearCacheTtl = null;
    return b.ttl(newTtl).build();
  }

  /** @return this policy with another relative jitter */
  public CachePolicy withJitter(double newJitter) {
    return toBuilder().jitter(newJitter).build();
  }

  /** @return this policy with another schema version */
  public CachePolicy withSchemaVersion(int newSchemaVersion) {
    return toBuilder().schemaVersion(newSchemaVersion).build();
  }

  /** @return this policy with another lease time */
  public CachePolicy withLeaseTime(Duration newLeaseTime) {
    return toBuilder().leaseTime(newLeaseTime).build();
  }

  /** @return this policy with another fence TTL */
  public CachePolicy withFenceTtl(Duration newFenceTtl) {
    return toBuilder().fenceTtl(newFenceTtl).build();
  }

  /** @return this policy with the near cache on or off */
  public CachePolicy withNearCache(boolean on) {
    return toBuilder().nearCache(on).build();
  }

  /** @return this policy writing values with the codec named {@code codecName} */
  public CachePolicy withCodec(String codecName) {
    return toBuilder().codec(codecName).build();
  }

  /** Builds a {@link CachePolicy}; unset settings take their defaults. */
  public static final class Builder {
    private final String name;
    private Duration ttl = Duration.ofHours(1);
    private double jitter = DEFAULT_JITTER;
    private int schemaVersion = 1;
    private Duration leaseTime = DEFAULT_LEASE_TIME;
    private Duration fenceTtl;
    private double earlyRefreshBeta = DEFAULT_EARLY_REFRESH_BETA;
    private int maxValueBytes = DEFAULT_MAX_VALUE_BYTES;
    private String codec = "json";
    private boolean encrypted;
    private Duration negativeTtl = Duration.ZERO;
    private boolean replicaReads;
    private boolean nearCache;
    private Duration nearCacheTtl;

    private Builder(String name) {
      this.name = name;
    }

    /** @param v the TTL before jitter; default 1 h */
    public Builder ttl(Duration v) {
      this.ttl = v;
      return this;
    }

    /** @param v relative jitter in [0, 0.9] */
    public Builder jitter(double v) {
      this.jitter = v;
      return this;
    }

    /** @param v schema version, at least 1 */
    public Builder schemaVersion(int v) {
      this.schemaVersion = v;
      return this;
    }

    /** @param v lease time */
    public Builder leaseTime(Duration v) {
      this.leaseTime = v;
      return this;
    }

    /** @param v fence lifetime */
    public Builder fenceTtl(Duration v) {
      this.fenceTtl = v;
      return this;
    }

    /** @param v XFetch β, 0 = off */
    public Builder earlyRefreshBeta(double v) {
      this.earlyRefreshBeta = v;
      return this;
    }

    /** @param v size limit of an encoded value, bytes */
    public Builder maxValueBytes(int v) {
      this.maxValueBytes = v;
      return this;
    }

    /** @param v codec name */
    public Builder codec(String v) {
      this.codec = v;
      return this;
    }

    /** @param v whether values are encrypted */
    public Builder encrypted(boolean v) {
      this.encrypted = v;
      return this;
    }

    /** @param v how long "not found" is cached; zero = off */
    public Builder negativeTtl(Duration v) {
      this.negativeTtl = v;
      return this;
    }

    /** @param v whether hits may read replicas */
    public Builder replicaReads(boolean v) {
      this.replicaReads = v;
      return this;
    }

    /** @param v whether the near cache is used */
    public Builder nearCache(boolean v) {
      this.nearCache = v;
      return this;
    }

    /** @param v near-cache entry lifetime, at most the TTL */
    public Builder nearCacheTtl(Duration v) {
      this.nearCacheTtl = v;
      return this;
    }

    /**
     * @return the validated policy
     * @throws IllegalArgumentException naming the bad setting and value
     */
    public CachePolicy build() {
      Objects.requireNonNull(ttl, "ttl");
      Duration fence = fenceTtl;
      if (fence == null) {
        fence = ttl.multipliedBy(2).compareTo(DEFAULT_FENCE_TTL) > 0 ? ttl.multipliedBy(2) : DEFAULT_FENCE_TTL;
      }
      Duration near = nearCacheTtl;
      if (near == null) {
        near = ttl.compareTo(DEFAULT_NEAR_CACHE_TTL) < 0 ? ttl : DEFAULT_NEAR_CACHE_TTL;
      }
      return new CachePolicy(name, ttl, jitter, schemaVersion, leaseTime, fence, earlyRefreshBeta,
          maxValueBytes, codec, encrypted, negativeTtl, replicaReads, nearCache, near);
    }
  }
}
