package io.freshcache.client;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How one kind of entity is cached: its TTL, the jitter applied to it, the schema version of the
 * stored value's shape and the lease (stampede lock) time.
 *
 * <p>Presets for the common cases: {@link #USER_PROFILES} (300 s), {@link #PRODUCT_CATALOG}
 * (3600 s) and {@link #SESSION_TOKENS} (900 s). Derive others with {@link #of(String, Duration)}
 * and the {@code with*} methods:
 *
 * <pre>{@code
 * CachePolicy orders = CachePolicy.of("orders", Duration.ofMinutes(10)).withJitter(0.1);
 * }</pre>
 *
 * @param name the policy's name, used as the {@code entity} tag of metrics; lower-case letters,
 *     digits, {@code _} and {@code -}
 * @param ttl the time to live before jitter; Redis expires the value after it (hard expiry)
 * @param jitter the relative jitter applied to {@code ttl}, in [0, 0.9]: each fill lives
 *     {@code ttl × (1 ± jitter)}, default {@value #DEFAULT_JITTER}, so keys filled together do
 *     not expire together
 * @param schemaVersion the application's version of the value's shape, at least 1; bump it when
 *     the cached class changes incompatibly and old entries become unreachable without a flush
 * @param leaseTime how long a loader may hold the lease; waiters give up and load themselves
 *     after it, default {@link #DEFAULT_LEASE_TIME}
 * @param fenceTtl how long version fences and schema markers are kept; must be at least the
 *     longest TTL, default {@link #DEFAULT_FENCE_TTL}. Events replayed from further back than
 *     this can resurrect old upserts.
 */
public record CachePolicy(String name, Duration ttl, double jitter, int schemaVersion,
    Duration leaseTime, Duration fenceTtl) {

  // declared before the presets, which are validated against it
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /** Default relative TTL jitter: ±20%. */
  public static final double DEFAULT_JITTER = 0.2;
  /** Default lease time: 5 s. */
  public static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(5);
  /** Default fence lifetime: 24 h. */
  public static final Duration DEFAULT_FENCE_TTL = Duration.ofHours(24);

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
    if (fenceTtl.compareTo(ttl.plus(ttl.multipliedBy(Math.round(jitter * 1000)).dividedBy(1000))) < 0) {
      throw new IllegalArgumentException("fenceTtl must be at least the longest jittered ttl ("
          + ttl + " +" + Math.round(jitter * 100) + "%) but was " + fenceTtl);
    }
  }

  /**
   * A policy with the default jitter, schema version 1, default lease time, and a fence TTL of
   * {@link #DEFAULT_FENCE_TTL} or twice the TTL, whichever is longer.
   *
   * @throws IllegalArgumentException if the name or TTL is invalid
   */
  public static CachePolicy of(String name, Duration ttl) {
    Duration fence = ttl.multipliedBy(2).compareTo(DEFAULT_FENCE_TTL) > 0 ? ttl.multipliedBy(2) : DEFAULT_FENCE_TTL;
    return new CachePolicy(name, ttl, DEFAULT_JITTER, 1, DEFAULT_LEASE_TIME, fence);
  }

  /** @return this policy with another TTL (the fence TTL grows with it if needed) */
  public CachePolicy withTtl(Duration newTtl) {
    Duration fence = newTtl.multipliedBy(2).compareTo(fenceTtl) > 0 ? newTtl.multipliedBy(2) : fenceTtl;
    return new CachePolicy(name, newTtl, jitter, schemaVersion, leaseTime, fence);
  }

  /** @return this policy with another relative jitter */
  public CachePolicy withJitter(double newJitter) {
    return new CachePolicy(name, ttl, newJitter, schemaVersion, leaseTime, fenceTtl);
  }

  /** @return this policy with another schema version */
  public CachePolicy withSchemaVersion(int newSchemaVersion) {
    return new CachePolicy(name, ttl, jitter, newSchemaVersion, leaseTime, fenceTtl);
  }

  /** @return this policy with another lease time */
  public CachePolicy withLeaseTime(Duration newLeaseTime) {
    return new CachePolicy(name, ttl, jitter, schemaVersion, newLeaseTime, fenceTtl);
  }

  /** @return this policy with another fence TTL */
  public CachePolicy withFenceTtl(Duration newFenceTtl) {
    return new CachePolicy(name, ttl, jitter, schemaVersion, leaseTime, newFenceTtl);
  }
}
