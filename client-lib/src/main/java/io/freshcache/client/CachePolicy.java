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
 *     lag); lease and fence state are always read from masters. With {@code nearCache} on, near
 *     misses read the master while the near cache is in use. Default false
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
   * Validates the policy. Prefer {@link #of(String, Duration)} or {@link #builder(String)},
   * which fill in the defaults.
   *
   * @param name the policy's name, not null; lower-case letters, digits, {@code _} and
   *     {@code -}, starting with a letter or digit, at most 64 characters
   * @param ttl the time to live before jitter, not null, at least 1 ms
   * @param jitter relative jitter in [0, 0.9]
   * @param schemaVersion the schema version of the value's shape, at least 1
   * @param leaseTime how long a loader may hold the lease, not null, at least 1 ms
   * @param fenceTtl how long fences are kept, not null, at least the longest jittered TTL
   *     ({@code ttl × (1 + jitter)})
   * @param earlyRefreshBeta XFetch's β in [0, 100]; 0 turns early refresh off
   * @param maxValueBytes the largest encoded value cached, at least 1
   * @param codec the name of a codec registered in {@link Codecs}, not null
   * @param encrypted whether values are encrypted
   * @param negativeTtl how long a "not found" is cached, not null, in [0, {@code ttl}]
   * @param replicaReads whether hits may be read from replicas
   * @param nearCache whether the near cache is used
   * @param nearCacheTtl how long a near-cache entry lives at most, not null, in
   *     [1 ms, {@code ttl}]
   * @throws NullPointerException if a setting that must not be null is null
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
   * {@link #DEFAULT_FENCE_TTL} or twice the TTL, whichever is longer, and the near-cache TTL at
   * {@link #DEFAULT_NEAR_CACHE_TTL} or the TTL, whichever is shorter.
   *
   * @param name the policy's name: lower-case letters, digits, {@code _} and {@code -}, at most
   *     64 characters
   * @param ttl the time to live before jitter, not null, at least 1 ms
   * @return the validated policy
   * @throws NullPointerException if {@code name} or {@code ttl} is null
   * @throws IllegalArgumentException if the name or TTL is invalid
   */
  public static CachePolicy of(String name, Duration ttl) {
    return builder(name).ttl(ttl).build();
  }

  /**
   * @param name the policy's name: lower-case letters, digits, {@code _} and {@code -}, at most
   *     64 characters; checked by {@link Builder#build()}
   * @return a builder for a policy named {@code name}, every setting at its default
   */
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

  /**
   * Returns this policy with another TTL. The fence TTL and near-cache TTL are derived anew from
   * the new TTL as in {@link #of(String, Duration)}, even if they were set explicitly before.
   *
   * @param newTtl the new time to live before jitter, not null, at least 1 ms
   * @return this policy with another TTL
   * @throws NullPointerException if {@code newTtl} is null
   * @throws IllegalArgumentException if the resulting policy is invalid (e.g. the TTL is too
   *     short, or the negative TTL now exceeds it)
   */
  public CachePolicy withTtl(Duration newTtl) {
    Builder b = toBuilder();
    b.fenceTtl = null;
    b.nearCacheTtl = null;
    return b.ttl(newTtl).build();
  }

  /**
   * @param newJitter the new relative jitter, in [0, 0.9]
   * @return this policy with another relative jitter
   * @throws IllegalArgumentException if the jitter is out of range or the fence TTL no longer
   *     covers the longest jittered TTL
   */
  public CachePolicy withJitter(double newJitter) {
    return toBuilder().jitter(newJitter).build();
  }

  /**
   * @param newSchemaVersion the new schema version, at least 1
   * @return this policy with another schema version
   * @throws IllegalArgumentException if {@code newSchemaVersion} is below 1
   */
  public CachePolicy withSchemaVersion(int newSchemaVersion) {
    return toBuilder().schemaVersion(newSchemaVersion).build();
  }

  /**
   * @param newLeaseTime the new lease time, not null, at least 1 ms
   * @return this policy with another lease time
   * @throws NullPointerException if {@code newLeaseTime} is null
   * @throws IllegalArgumentException if {@code newLeaseTime} is shorter than 1 ms
   */
  public CachePolicy withLeaseTime(Duration newLeaseTime) {
    return toBuilder().leaseTime(newLeaseTime).build();
  }

  /**
   * @param newFenceTtl the new fence TTL, not null, at least the longest jittered TTL
   * @return this policy with another fence TTL
   * @throws NullPointerException if {@code newFenceTtl} is null
   * @throws IllegalArgumentException if {@code newFenceTtl} is shorter than the longest jittered
   *     TTL
   */
  public CachePolicy withFenceTtl(Duration newFenceTtl) {
    return toBuilder().fenceTtl(newFenceTtl).build();
  }

  /**
   * @param on whether decoded values are also kept in the client's near cache
   * @return this policy with the near cache on or off
   */
  public CachePolicy withNearCache(boolean on) {
    return toBuilder().nearCache(on).build();
  }

  /**
   * @param codecName the name of a codec registered in {@link Codecs}, e.g. {@code cbor}
   * @return this policy writing values with the codec named {@code codecName}
   * @throws NullPointerException if {@code codecName} is null
   * @throws IllegalArgumentException if no codec has that name
   */
  public CachePolicy withCodec(String codecName) {
    return toBuilder().codec(codecName).build();
  }

  /**
   * Builds a {@link CachePolicy}; unset settings take their defaults. The setters do not
   * validate: {@link #build()} does.
   */
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

    /**
     * @param v the TTL before jitter, at least 1 ms; default 1 h
     * @return this builder
     */
    public Builder ttl(Duration v) {
      this.ttl = v;
      return this;
    }

    /**
     * @param v relative jitter in [0, 0.9]; default {@value CachePolicy#DEFAULT_JITTER}
     * @return this builder
     */
    public Builder jitter(double v) {
      this.jitter = v;
      return this;
    }

    /**
     * @param v schema version, at least 1; default 1
     * @return this builder
     */
    public Builder schemaVersion(int v) {
      this.schemaVersion = v;
      return this;
    }

    /**
     * @param v lease time, at least 1 ms; default {@link CachePolicy#DEFAULT_LEASE_TIME}
     * @return this builder
     */
    public Builder leaseTime(Duration v) {
      this.leaseTime = v;
      return this;
    }

    /**
     * @param v fence lifetime, at least the longest jittered TTL; default (also if set to
     *     {@code null}) {@link CachePolicy#DEFAULT_FENCE_TTL} or twice the TTL, whichever is
     *     longer
     * @return this builder
     */
    public Builder fenceTtl(Duration v) {
      this.fenceTtl = v;
      return this;
    }

    /**
     * @param v XFetch β in [0, 100], 0 = off; default
     *     {@value CachePolicy#DEFAULT_EARLY_REFRESH_BETA}
     * @return this builder
     */
    public Builder earlyRefreshBeta(double v) {
      this.earlyRefreshBeta = v;
      return this;
    }

    /**
     * @param v size limit of an encoded value, bytes, at least 1; default
     *     {@value CachePolicy#DEFAULT_MAX_VALUE_BYTES}
     * @return this builder
     */
    public Builder maxValueBytes(int v) {
      this.maxValueBytes = v;
      return this;
    }

    /**
     * @param v the name of a codec registered in {@link Codecs}; default {@code json}
     * @return this builder
     */
    public Builder codec(String v) {
      this.codec = v;
      return this;
    }

    /**
     * @param v whether values are encrypted (needs
     *     {@link CacheClientConfig#encryptionKey()}); default false
     * @return this builder
     */
    public Builder encrypted(boolean v) {
      this.encrypted = v;
      return this;
    }

    /**
     * @param v how long "not found" is cached, in [0, TTL]; zero (the default) = off
     * @return this builder
     */
    public Builder negativeTtl(Duration v) {
      this.negativeTtl = v;
      return this;
    }

    /**
     * @param v whether hits may read replicas; default false. With {@link #nearCache()} on
     *     as well, reads after a near miss go to the master while the near cache is in use (a
     *     replica can lag behind a notice the near cache already handled, so its value could not
     *     be near-cached safely), and to replicas only while it is not
     * @return this builder
     */
    public Builder replicaReads(boolean v) {
      this.replicaReads = v;
      return this;
    }

    /**
     * @param v whether the near cache is used; default false
     * @return this builder
     */
    public Builder nearCache(boolean v) {
      this.nearCache = v;
      return this;
    }

    /**
     * @param v near-cache entry lifetime, in [1 ms, TTL]; default (also if set to {@code null})
     *     {@link CachePolicy#DEFAULT_NEAR_CACHE_TTL} or the TTL, whichever is shorter
     * @return this builder
     */
    public Builder nearCacheTtl(Duration v) {
      this.nearCacheTtl = v;
      return this;
    }

    /**
     * @return the validated policy
     * @throws NullPointerException if the name, the TTL or another setting that must not be
     *     null is null
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
