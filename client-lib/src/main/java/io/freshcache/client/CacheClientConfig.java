package io.freshcache.client;

import io.freshcache.client.internal.WritePublisher;
import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.protocol.config.RedisConnectionConfig;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link CacheClient}. Build one with {@link #builder()} or read it from the
 * environment with {@link #fromEnv()}; either way every setting is validated and a bad one fails
 * at build time with a {@link ConfigException} naming the setting (or variable) and the value.
 * Immutable and thread-safe; {@link #toBuilder()} derives a variant.
 *
 * <p>The settings come in parts: the Redis connection ({@link #redis()}, a
 * {@link RedisConnectionConfig}: {@code REDIS_*}, with the client's command timeout of
 * {@value #DEFAULT_COMMAND_TIMEOUT_MS} ms), Kafka for {@link CacheClient#publishWrite}
 * ({@link #kafka()}, a {@link KafkaClientConfig}: {@code KAFKA_BOOTSTRAP_SERVERS} and the
 * pass-through {@code KAFKA_*} properties, except {@code acks}, {@code enable.idempotence} and the
 * serializers, which the publisher sets itself), the default policy, the circuit breakers, the loader
 * budget while Redis is bypassed, the near cache and replica acknowledgement. Every variable,
 * with the shared rules ({@code _FILE} secrets, durations with units), is described in
 * {@code docs/configuration.md}.
 *
 * <table>
 *   <caption>Environment variables of the client's own settings</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code REDIS_*}</td><td>{@link #redis()}, see {@link RedisConnectionConfig};
 *       {@code REDIS_NODES} is required</td><td>command timeout {@value #DEFAULT_COMMAND_TIMEOUT_MS} ms</td></tr>
 *   <tr><td>{@code KAFKA_BOOTSTRAP_SERVERS}, {@code KAFKA_*}</td><td>{@link #kafka()}: Kafka
 *       for {@code publishWrite}; unset bootstrap servers = publishing off</td><td>none</td></tr>
 *   <tr><td>{@code CACHE_DEFAULT_TTL}</td><td>TTL of {@link #defaultPolicy()}: seconds, a
 *       duration with a unit ({@code 10m}) or ISO-8601 ({@code PT10M})</td><td>3600 s</td></tr>
 *   <tr><td>{@code CACHE_JITTER_RANGE}</td><td>relative TTL jitter of {@link #defaultPolicy()},
 *       {@code 0.2} or {@code 20%}</td><td>0.2</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_THRESHOLD}</td><td>failure rate of a master's calls that opens
 *       its breaker, percent ({@code 5} or {@code 5%}); see "Circuit breakers" below</td>
 *       <td>{@value #DEFAULT_CIRCUIT_BREAKER_THRESHOLD}</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_TIMEOUT}</td><td>time open before half-open: seconds or a
 *       duration</td><td>10 s</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_SLOW_CALL_MS}</td><td>a Redis call slower than this counts as
 *       slow; 80% slow calls in 10 s open the breaker</td><td>2 × the slowest of 21 round trips
 *       measured at start, at least 250 ms</td></tr>
 *   <tr><td>{@code LOADER_RATE_LIMIT}</td><td>loader calls per second allowed while Redis is
 *       bypassed (breaker open or Redis failing)</td><td>{@value #DEFAULT_LOADER_RATE_LIMIT}</td></tr>
 *   <tr><td>{@code LOADER_RATE_LIMIT_WAIT_MS}</td><td>how long a bypassed read waits for that
 *       budget before {@link LoadSheddingException}; 0 = do not wait</td><td>500 ms</td></tr>
 *   <tr><td>{@code NEAR_CACHE_MAX_ENTRIES}</td><td>near-cache size bound</td>
 *       <td>{@value #DEFAULT_NEAR_CACHE_MAX_ENTRIES}</td></tr>
 *   <tr><td>{@code NEAR_CACHE_NOTICE_CHECK_MS}</td><td>period of the near cache's notice watchdog;
 *       {@code 0} = off; see "Near-cache notice watchdog" below</td><td>500 ms</td></tr>
 *   <tr><td>{@code NEAR_CACHE_SILENCE_BUDGET_MS}</td><td>refuse near-cache hits of a notice
 *       channel silent for longer than this (the read goes to Redis); for deployments that run
 *       cdc-ingest's freshness heartbeat ({@code CDC_HEARTBEAT_INTERVAL_MS}), a few heartbeat
 *       periods; {@code 0} = off</td><td>0 (off)</td></tr>
 *   <tr><td>{@code NEAR_CACHE_SAMPLE_PER_S}</td><td>near entries the consistency sampler compares
 *       with Redis per second; see "Near-cache consistency sampler" below; {@code 0} = off</td>
 *       <td>0 (off)</td></tr>
 *   <tr><td>{@code NEAR_CACHE_SAMPLE_DELAY_MS}</td><td>M: how long after the sampler first sees an
 *       entry Redis holds something newer for it checks again</td><td>10 s</td></tr>
 *   <tr><td>{@code NEAR_CACHE_SAMPLE_WINDOWS}</td><td>longer re-check windows, increasing, each
 *       longer than M ({@code 1m,5m,10m}; a bare number is ms); an entry still held after the
 *       last is a confirmed violation</td><td>{@value #DEFAULT_NEAR_CACHE_SAMPLE_WINDOWS}</td></tr>
 *   <tr><td>{@code CACHE_WRITES_TOPIC}</td><td>topic of published writes</td>
 *       <td>{@value #DEFAULT_WRITES_TOPIC}</td></tr>
 *   <tr><td>{@code CACHE_ENCRYPTION_KEY} / {@code _FILE}</td><td>AES key, base64 of 16, 24 or
 *       32 bytes, for policies with {@code encrypted}; never logged</td><td>none</td></tr>
 *   <tr><td>{@code CACHE_LOADER_THREADS}</td><td>threads running loaders of async reads</td>
 *       <td>{@value #DEFAULT_LOADER_THREADS}</td></tr>
 *   <tr><td>{@code REDIS_REPLICA_ACKS}</td><td>replicas that must acknowledge an
 *       {@code invalidate} or {@code writeThrough} ({@code WAIT}) before it returns, at most the
 *       replicas attached to the master; {@code 0} = do not wait</td><td>{@value #DEFAULT_REPLICA_ACKS}</td></tr>
 *   <tr><td>{@code REDIS_REPLICA_ACK_TIMEOUT_MS}</td><td>how long to wait for them (the
 *       {@code WAIT} command gets this plus the command timeout)</td><td>1000 ms</td></tr>
 * </table>
 *
 * <p><b>Circuit breakers.</b> There is one breaker per Redis master, so a failed master sends
 * only the reads of its own slots to the loader. Each judges its node's calls of the last 10 s
 * once there are 50; connection errors, timeouts and {@code CLUSTERDOWN}/{@code LOADING}/
 * {@code MASTERDOWN}/{@code TRYAGAIN} replies count as failures, other error replies do not (the
 * node answered). A timeout or slow call during which the client JVM itself was stalled for a
 * quarter of the call or more (CPU starvation, a GC pause, a stopped process: measured by a
 * sleeping daemon thread) is not counted. After a promotion the slots map to the new master's
 * breaker as soon as the client's topology shows it; an open breaker whose node reconnects, or
 * any open breaker after a topology change, turns half-open at once instead of waiting out
 * {@code CIRCUIT_BREAKER_TIMEOUT}.
 *
 * <p><b>Replica acknowledgement.</b> Redis replicates asynchronously: a master that fails before
 * its replica received an invalidation takes the invalidation with it, and the promoted replica
 * serves the old value until its TTL. So {@code invalidate} and {@code writeThrough} send
 * {@code WAIT replicaAcks timeout} on the master connection that carried the write (WAIT counts
 * that connection's writes). If fewer replicas acknowledge in time, the change is still applied on
 * the master and near caches are notified, and the call throws
 * {@link ReplicaAckTimeoutException} (a {@link CacheUnavailableException}): retry it (it is
 * idempotent) or publish the invalidation through Kafka. After a wait timed out on a node, the
 * next second of writes to that node only checks (a 1 ms {@code WAIT}) instead of waiting again,
 * so a master that lost its replica does not make every write slow; it still reports every
 * unacknowledged write. {@code cache.replica.ack.timeouts} counts them. A write waits for at most
 * as many replicas as are attached to its master and in sync ({@code state=online} in the
 * master's {@code INFO replication}, read at most once a second per master): a shard whose
 * replicas are all gone (killed, disconnected) is written without {@code WAIT}, counted in
 * {@code cache.replica.acks.skipped}, instead of every write failing for as long as they stay
 * down. A replica that is attached but does not answer (frozen, overloaded) still counts: it may
 * hold the write and be promoted, so the write is reported unacknowledged. What this gives up: a
 * write made while no replica is attached is not on a replica that attaches within the next
 * second and is promoted before it has resynchronised.
 *
 * <p><b>Near-cache notice watchdog.</b> Lettuce does not move a sharded subscription
 * ({@code SSUBSCRIBE}) to the new owner of the channel's slot after a failover, so a notice
 * channel can go silent without any error, and a notice counter can go backward when the promoted
 * replica lacked its last increments. Every {@code NEAR_CACHE_NOTICE_CHECK_MS} (and at once, and
 * again a second later, on each topology change) the near cache reads the 16 channels'
 * counters from their masters: a counter ahead of the last notice handled at two checks in a row,
 * or behind it, drops that channel's entries, subscribes the channel again and takes the counter
 * as its new baseline ({@code cache.near.notices.lost}); a counter that cannot be read drops the
 * channel's entries and keeps the channel out of the near cache until a check reads it again.
 * A near entry can therefore outlive a lost notice by about two periods plus the command timeout.
 *
 * <p><b>Near-cache consistency sampler.</b> With {@code NEAR_CACHE_SAMPLE_PER_S} above 0 a daemon
 * thread picks that many near entries a second at random and reads, in one script on the key's
 * master, the key's fence and the value header of the entry's schema. Each entry remembers the
 * data version of the envelope it came from; if Redis holds something newer (a fence past it or a
 * delete at it, a value past it), the entry is checked again M after it was first seen, and at
 * each window, while the near cache still holds it: {@code cache.near.sample.checks},
 * {@code cache.near.sample.violations}, {@code cache.near.sample.nines} and
 * {@link CacheClient#nearCacheConsistency()} report it as the ops consistency checker reports
 * Redis, against Redis instead of the database. Entries without a data version are counted as
 * {@code unversioned} and skipped.
 */
public final class CacheClientConfig {
  /** Default Redis command timeout of the client, ms: a read that waits longer goes to the loader. */
  public static final long DEFAULT_COMMAND_TIMEOUT_MS = 500;
  /** Default Redis command timeout: {@value #DEFAULT_COMMAND_TIMEOUT_MS} ms. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(DEFAULT_COMMAND_TIMEOUT_MS);
  /** Default failure rate that opens the breaker: 5%. */
  public static final double DEFAULT_CIRCUIT_BREAKER_THRESHOLD = 5;
  /** Default time the breaker stays open: 10 s. */
  public static final Duration DEFAULT_CIRCUIT_BREAKER_TIMEOUT = Duration.ofSeconds(10);
  /** Default loader budget while Redis is bypassed: 200 calls/s. */
  public static final int DEFAULT_LOADER_RATE_LIMIT = 200;
  /** Default wait for that budget: 500 ms. */
  public static final Duration DEFAULT_LOADER_RATE_LIMIT_WAIT = Duration.ofMillis(500);
  /** Default near-cache size bound. */
  public static final long DEFAULT_NEAR_CACHE_MAX_ENTRIES = 10_000;
  /** Default topic of published writes. */
  public static final String DEFAULT_WRITES_TOPIC = "freshcache.writes";
  /** Default number of async loader threads. */
  public static final int DEFAULT_LOADER_THREADS = 8;
  /** Default number of replicas that acknowledge an invalidation or write-through: 1. */
  public static final int DEFAULT_REPLICA_ACKS = 1;
  /** Default wait for replica acknowledgements: 1000 ms. */
  public static final Duration DEFAULT_REPLICA_ACK_TIMEOUT = Duration.ofMillis(1000);
  /** Default period of the near cache's notice watchdog: 500 ms. */
  public static final Duration DEFAULT_NEAR_CACHE_NOTICE_CHECK = Duration.ofMillis(500);
  /** Default near-cache silence budget: {@link Duration#ZERO}, off. */
  public static final Duration DEFAULT_NEAR_CACHE_SILENCE_BUDGET = Duration.ZERO;
  /** Default near-cache sampler rate: 0, off. */
  public static final int DEFAULT_NEAR_CACHE_SAMPLE_PER_SECOND = 0;
  /** Default M of the near-cache sampler: 10 s. */
  public static final Duration DEFAULT_NEAR_CACHE_SAMPLE_DELAY = Duration.ofSeconds(10);
  /** Default re-check windows of the near-cache sampler. */
  public static final String DEFAULT_NEAR_CACHE_SAMPLE_WINDOWS = "1m,5m,10m";
  /** Default policy: one hour, named {@code default}. */
  public static final CachePolicy DEFAULT_POLICY = CachePolicy.of("default", Duration.ofSeconds(3600));

  private final RedisConnectionConfig redis;
  private final KafkaClientConfig kafka;
  private final CachePolicy defaultPolicy;
  private final double circuitBreakerThreshold;
  private final Duration circuitBreakerTimeout;
  private final Duration slowCallThreshold;
  private final int loaderRateLimit;
  private final Duration loaderRateLimitWait;
  private final long nearCacheMaxEntries;
  private final String writesTopic;
  private final byte[] encryptionKey;
  private final int loaderThreads;
  private final int replicaAcks;
  private final Duration replicaAckTimeout;
  private final Duration nearCacheNoticeCheck;
  private final Duration nearCacheSilenceBudget;
  private final int nearCacheSamplePerSecond;
  private final Duration nearCacheSampleDelay;
  private final List<Duration> nearCacheSampleWindows;

  private CacheClientConfig(Builder b, RedisConnectionConfig redis) {
    this.redis = redis;
    this.kafka = b.kafka;
    this.defaultPolicy = b.defaultPolicy;
    this.circuitBreakerThreshold = b.circuitBreakerThreshold;
    this.circuitBreakerTimeout = b.circuitBreakerTimeout;
    this.slowCallThreshold = b.slowCallThreshold;
    this.loaderRateLimit = b.loaderRateLimit;
    this.loaderRateLimitWait = b.loaderRateLimitWait;
    this.nearCacheMaxEntries = b.nearCacheMaxEntries;
    this.writesTopic = b.writesTopic;
    this.encryptionKey = b.encryptionKey == null ? null : b.encryptionKey.clone();
    this.loaderThreads = b.loaderThreads;
    this.replicaAcks = b.replicaAcks;
    this.replicaAckTimeout = b.replicaAckTimeout;
    this.nearCacheNoticeCheck = b.nearCacheNoticeCheck;
    this.nearCacheSilenceBudget = b.nearCacheSilenceBudget;
    this.nearCacheSamplePerSecond = b.nearCacheSamplePerSecond;
    this.nearCacheSampleDelay = b.nearCacheSampleDelay;
    this.nearCacheSampleWindows = List.copyOf(b.nearCacheSampleWindows);
  }

  /**
   * @return a builder with every setting at its default; the Redis nodes must be set (with
   *     {@link Builder#redis} or {@link Builder#redisNodes})
   */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder holding these settings */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.redis = redis.toBuilder();
    b.kafka = kafka;
    b.defaultPolicy = defaultPolicy;
    b.circuitBreakerThreshold = circuitBreakerThreshold;
    b.circuitBreakerTimeout = circuitBreakerTimeout;
    b.slowCallThreshold = slowCallThreshold;
    b.loaderRateLimit = loaderRateLimit;
    b.loaderRateLimitWait = loaderRateLimitWait;
    b.nearCacheMaxEntries = nearCacheMaxEntries;
    b.writesTopic = writesTopic;
    b.encryptionKey = encryptionKey;
    b.loaderThreads = loaderThreads;
    b.replicaAcks = replicaAcks;
    b.replicaAckTimeout = replicaAckTimeout;
    b.nearCacheNoticeCheck = nearCacheNoticeCheck;
    b.nearCacheSilenceBudget = nearCacheSilenceBudget;
    b.nearCacheSamplePerSecond = nearCacheSamplePerSecond;
    b.nearCacheSampleDelay = nearCacheSampleDelay;
    b.nearCacheSampleWindows = nearCacheSampleWindows;
    return b;
  }

  /**
   * Reads the settings from the process environment; see the table above.
   *
   * @return the validated config; variables that are unset or blank take their defaults
   * @throws ConfigException naming the variable and its bad value, or {@code REDIS_NODES} if unset
   */
  public static CacheClientConfig fromEnv() {
    return fromEnv(EnvSettings.system());
  }

  /**
   * Reads the settings from {@code env}, as {@link #fromEnv()} does from the process environment.
   *
   * @param env variable names to values, e.g. {@link System#getenv()}; not null
   * @return the validated config; variables that are missing or blank take their defaults
   * @throws ConfigException naming the variable and its bad value, or {@code REDIS_NODES} if unset
   */
  public static CacheClientConfig fromEnv(Map<String, String> env) {
    return fromEnv(EnvSettings.of(env));
  }

  /**
   * Reads the settings through the shared reader (see {@link EnvSettings} for the rules).
   *
   * @param env the environment
   * @return the validated config
   * @throws ConfigException naming the variable and its bad value, or {@code REDIS_NODES} if unset
   */
  public static CacheClientConfig fromEnv(EnvSettings env) {
    Builder b = builder();
    b.redis(RedisConnectionConfig.fromEnv(env,
        RedisConnectionConfig.builder().commandTimeout(DEFAULT_COMMAND_TIMEOUT)));
    if (env.string("KAFKA_BOOTSTRAP_SERVERS").isPresent()) {
      b.kafka(KafkaClientConfig.fromEnv(env, null));
    }
    CachePolicy policy = DEFAULT_POLICY;
    policy = env.duration("CACHE_DEFAULT_TTL", ChronoUnit.SECONDS, Duration.ofMillis(1))
        .map(policy::withTtl).orElse(policy);
    policy = env.fraction("CACHE_JITTER_RANGE", 0, 0.9).map(policy::withJitter).orElse(policy);
    b.defaultPolicy(policy);
    env.decimal("CIRCUIT_BREAKER_THRESHOLD", Double.MIN_VALUE, 100).ifPresent(b::circuitBreakerThreshold);
    env.duration("CIRCUIT_BREAKER_TIMEOUT", ChronoUnit.SECONDS, Duration.ofMillis(1)).ifPresent(b::circuitBreakerTimeout);
    env.duration("CIRCUIT_BREAKER_SLOW_CALL_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::slowCallThreshold);
    env.integer("LOADER_RATE_LIMIT", 1, 1_000_000).ifPresent(b::loaderRateLimit);
    env.duration("LOADER_RATE_LIMIT_WAIT_MS", ChronoUnit.MILLIS, Duration.ZERO).ifPresent(b::loaderRateLimitWait);
    env.longValue("NEAR_CACHE_MAX_ENTRIES", 1, Long.MAX_VALUE).ifPresent(b::nearCacheMaxEntries);
    env.duration("NEAR_CACHE_NOTICE_CHECK_MS", ChronoUnit.MILLIS, Duration.ZERO).ifPresent(b::nearCacheNoticeCheck);
    env.duration("NEAR_CACHE_SILENCE_BUDGET_MS", ChronoUnit.MILLIS, Duration.ZERO).ifPresent(b::nearCacheSilenceBudget);
    env.integer("NEAR_CACHE_SAMPLE_PER_S", 0, 100_000).ifPresent(b::nearCacheSamplePerSecond);
    env.duration("NEAR_CACHE_SAMPLE_DELAY_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::nearCacheSampleDelay);
    env.list("NEAR_CACHE_SAMPLE_WINDOWS").ifPresent(items -> {
      List<Duration> windows = new java.util.ArrayList<>();
      for (String item : items) {
        try {
          windows.add(EnvSettings.parseDuration(item, ChronoUnit.MILLIS));
        } catch (RuntimeException e) {
          throw ConfigException.invalid("NEAR_CACHE_SAMPLE_WINDOWS", String.join(",", items),
              "durations separated by commas (1m,5m,10m; a bare number is ms)");
        }
      }
      b.nearCacheSampleWindows(windows);
    });
    env.string("CACHE_WRITES_TOPIC").ifPresent(b::writesTopic);
    env.secret("CACHE_ENCRYPTION_KEY").ifPresent(key -> {
      byte[] raw;
      try {
        raw = Base64.getDecoder().decode(key.trim());
      } catch (IllegalArgumentException e) {
        throw ConfigException.invalidSecret("CACHE_ENCRYPTION_KEY", "base64");
      }
      if (raw.length != 16 && raw.length != 24 && raw.length != 32) {
        throw ConfigException.invalidSecret("CACHE_ENCRYPTION_KEY", "base64 of 16, 24 or 32 bytes, but it"
            + " decoded to " + raw.length + " bytes");
      }
      b.encryptionKey(raw);
    });
    env.integer("CACHE_LOADER_THREADS", 1, 1024).ifPresent(b::loaderThreads);
    env.integer("REDIS_REPLICA_ACKS", 0, 16).ifPresent(b::replicaAcks);
    env.duration("REDIS_REPLICA_ACK_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::replicaAckTimeout);
    return b.build();
  }

  /** @return how the client connects to Redis: topology, nodes, credentials, TLS, timeouts */
  public RedisConnectionConfig redis() {
    return redis;
  }

  /**
   * @return Kafka for {@link CacheClient#publishWrite} (bootstrap servers and pass-through
   *     properties), or {@code null} when publishing is off
   */
  public KafkaClientConfig kafka() {
    return kafka;
  }

  /** @return the policy {@link CacheClient#getOrLoad(String, Class, Loader)} uses */
  public CachePolicy defaultPolicy() {
    return defaultPolicy;
  }

  /** @return failure rate of Redis calls, percent in (0, 100], that opens a master's breaker */
  public double circuitBreakerThreshold() {
    return circuitBreakerThreshold;
  }

  /** @return how long a breaker stays open before letting probes through */
  public Duration circuitBreakerTimeout() {
    return circuitBreakerTimeout;
  }

  /**
   * @return a Redis call slower than this is slow; {@code null} = twice the slowest of 21 round
   *     trips measured at start, at least 250 ms
   */
  public Duration slowCallThreshold() {
    return slowCallThreshold;
  }

  /** @return loader calls per second while Redis is bypassed */
  public int loaderRateLimit() {
    return loaderRateLimit;
  }

  /** @return how long a bypassed read waits for the loader budget */
  public Duration loaderRateLimitWait() {
    return loaderRateLimitWait;
  }

  /** @return the near-cache size bound, entries */
  public long nearCacheMaxEntries() {
    return nearCacheMaxEntries;
  }

  /** @return the topic of published writes */
  public String writesTopic() {
    return writesTopic;
  }

  /** @return a copy of the AES key for encrypted policies, or {@code null} */
  public byte[] encryptionKey() {
    return encryptionKey == null ? null : encryptionKey.clone();
  }

  /** @return threads that run the loaders of async reads */
  public int loaderThreads() {
    return loaderThreads;
  }

  /** @return replicas that must acknowledge an invalidation or write-through, 0 to not wait */
  public int replicaAcks() {
    return replicaAcks;
  }

  /** @return how long to wait for those acknowledgements */
  public Duration replicaAckTimeout() {
    return replicaAckTimeout;
  }

  /**
   * @return period of the near cache's notice watchdog; {@link Duration#ZERO} = off (a lost
   *     subscription is then bounded only by the near-cache TTL)
   */
  public Duration nearCacheNoticeCheck() {
    return nearCacheNoticeCheck;
  }

  /**
   * @return how long a notice channel may be silent before near-cache hits of its keys are
   *     refused (fail closed to Redis); {@link Duration#ZERO} = off
   */
  public Duration nearCacheSilenceBudget() {
    return nearCacheSilenceBudget;
  }

  /**
   * @return near entries the consistency sampler compares with Redis per second; 0 = off (see
   *     "Near-cache consistency sampler" above)
   */
  public int nearCacheSamplePerSecond() {
    return nearCacheSamplePerSecond;
  }

  /** @return M of the near-cache sampler: when an apparently stale entry is checked again */
  public Duration nearCacheSampleDelay() {
    return nearCacheSampleDelay;
  }

  /** @return the near-cache sampler's longer re-check windows, increasing, each longer than M */
  public List<Duration> nearCacheSampleWindows() {
    return nearCacheSampleWindows;
  }

  /**
   * @return the {@code WAIT} timeout actually used: {@link #replicaAckTimeout()}, at least 1 ms.
   *     A {@code WAIT} command itself may run for that long plus the command timeout before it
   *     times out as a command.
   */
  public Duration effectiveReplicaAckTimeout() {
    return replicaAckTimeout.toMillis() < 1 ? Duration.ofMillis(1) : replicaAckTimeout;
  }

  /** @return every setting; the Redis password, Kafka secrets and the encryption key masked */
  @Override
  public String toString() {
    return "CacheClientConfig[redis=" + redis + ", kafka=" + (kafka == null ? "off" : kafka)
        + ", defaultPolicy=" + defaultPolicy
        + ", circuitBreakerThreshold=" + circuitBreakerThreshold + "%, circuitBreakerTimeout="
        + circuitBreakerTimeout + ", slowCallThreshold=" + (slowCallThreshold == null ? "auto" : slowCallThreshold)
        + ", loaderRateLimit=" + loaderRateLimit + "/s, loaderRateLimitWait=" + loaderRateLimitWait
        + ", nearCacheMaxEntries=" + nearCacheMaxEntries
        + ", writesTopic=" + writesTopic + ", encryptionKey=" + (encryptionKey == null ? "none" : "****")
        + ", loaderThreads=" + loaderThreads + ", replicaAcks=" + replicaAcks
        + ", replicaAckTimeout=" + replicaAckTimeout + ", nearCacheNoticeCheck=" + nearCacheNoticeCheck
        + ", nearCacheSilenceBudget=" + nearCacheSilenceBudget
        + ", nearCacheSamplePerSecond=" + nearCacheSamplePerSecond + ", nearCacheSampleDelay=" + nearCacheSampleDelay
        + ", nearCacheSampleWindows=" + nearCacheSampleWindows + "]";
  }

  @Override
  public boolean equals(Object o) {
    // toString masks the secrets, so they are compared on their own
    return o instanceof CacheClientConfig c && toString().equals(c.toString())
        && redis.equals(c.redis) && Objects.equals(kafka, c.kafka)
        && Arrays.equals(encryptionKey, c.encryptionKey);
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /**
   * Builds a {@link CacheClientConfig}; every setting starts at its default. The setters do not
   * validate: {@link #build()} does, and throws a {@link ConfigException} naming the setting and
   * the bad value. Not thread-safe.
   */
  public static final class Builder {
    private RedisConnectionConfig.Builder redis = RedisConnectionConfig.builder().commandTimeout(DEFAULT_COMMAND_TIMEOUT);
    private KafkaClientConfig kafka;
    private CachePolicy defaultPolicy = DEFAULT_POLICY;
    private double circuitBreakerThreshold = DEFAULT_CIRCUIT_BREAKER_THRESHOLD;
    private Duration circuitBreakerTimeout = DEFAULT_CIRCUIT_BREAKER_TIMEOUT;
    private Duration slowCallThreshold;
    private int loaderRateLimit = DEFAULT_LOADER_RATE_LIMIT;
    private Duration loaderRateLimitWait = DEFAULT_LOADER_RATE_LIMIT_WAIT;
    private long nearCacheMaxEntries = DEFAULT_NEAR_CACHE_MAX_ENTRIES;
    private String writesTopic = DEFAULT_WRITES_TOPIC;
    private byte[] encryptionKey;
    private int loaderThreads = DEFAULT_LOADER_THREADS;
    private int replicaAcks = DEFAULT_REPLICA_ACKS;
    private Duration replicaAckTimeout = DEFAULT_REPLICA_ACK_TIMEOUT;
    private Duration nearCacheNoticeCheck = DEFAULT_NEAR_CACHE_NOTICE_CHECK;
    private Duration nearCacheSilenceBudget = DEFAULT_NEAR_CACHE_SILENCE_BUDGET;
    private int nearCacheSamplePerSecond = DEFAULT_NEAR_CACHE_SAMPLE_PER_SECOND;
    private Duration nearCacheSampleDelay = DEFAULT_NEAR_CACHE_SAMPLE_DELAY;
    private List<Duration> nearCacheSampleWindows = List.of(Duration.ofMinutes(1), Duration.ofMinutes(5),
        Duration.ofMinutes(10));

    private Builder() {}

    /**
     * @param redis the Redis part; replaces every Redis setting made before (the
     *     {@code redis*}/timeout setters below change it afterwards)
     * @return this builder
     */
    public Builder redis(RedisConnectionConfig redis) {
      this.redis = Objects.requireNonNull(redis, "redis").toBuilder();
      return this;
    }

    /**
     * @param nodes Redis nodes as {@code host:port} (cluster seeds, or see
     *     {@link RedisConnectionConfig.Builder#nodes}); sets the Redis part's nodes
     * @return this builder
     */
    public Builder redisNodes(List<String> nodes) {
      redis.nodes(nodes);
      return this;
    }

    /**
     * @param password the Redis password, or {@code null} for none; sets the Redis part's password
     * @return this builder
     */
    public Builder redisPassword(String password) {
      redis.password(password);
      return this;
    }

    /**
     * @param tls whether to connect with TLS; sets the Redis part's {@code tls}
     * @return this builder
     */
    public Builder tls(boolean tls) {
      redis.tls(tls);
      return this;
    }

    /**
     * @param timeout the Redis command timeout, positive; default {@link #DEFAULT_COMMAND_TIMEOUT}
     * @return this builder
     */
    public Builder commandTimeout(Duration timeout) {
      redis.commandTimeout(timeout);
      return this;
    }

    /**
     * @param timeout the Redis connect timeout, positive; default
     *     {@value RedisConnectionConfig#DEFAULT_CONNECT_TIMEOUT_MS} ms
     * @return this builder
     */
    public Builder connectTimeout(Duration timeout) {
      redis.connectTimeout(timeout);
      return this;
    }

    /**
     * @param period the periodic cluster topology refresh, positive; default
     *     {@value RedisConnectionConfig#DEFAULT_TOPOLOGY_REFRESH_MS} ms
     * @return this builder
     */
    public Builder topologyRefreshPeriod(Duration period) {
      redis.topologyRefresh(period);
      return this;
    }

    /**
     * @param kafka Kafka for {@link CacheClient#publishWrite}, or {@code null} (the default) to
     *     disable publishing
     * @return this builder
     */
    public Builder kafka(KafkaClientConfig kafka) {
      this.kafka = kafka;
      return this;
    }

    /**
     * @param servers Kafka bootstrap servers ({@code host:port,...}) for publishing, keeping the
     *     pass-through properties of {@link #kafka} if any; {@code null} or blank disables publishing
     * @return this builder
     * @throws ConfigException if {@code servers} is not a {@code host:port} list
     */
    public Builder kafkaBootstrapServers(String servers) {
      if (servers == null || servers.isBlank()) {
        this.kafka = null;
      } else {
        this.kafka = (kafka == null ? KafkaClientConfig.builder() : kafka.toBuilder())
            .bootstrapServers(servers.trim()).build();
      }
      return this;
    }

    /**
     * @param policy the policy of the calls without one, not null; default {@link #DEFAULT_POLICY}
     * @return this builder
     */
    public Builder defaultPolicy(CachePolicy policy) {
      this.defaultPolicy = policy;
      return this;
    }

    /**
     * @param percent failure rate that opens the breaker, (0, 100]; default
     *     {@value CacheClientConfig#DEFAULT_CIRCUIT_BREAKER_THRESHOLD}
     * @return this builder
     */
    public Builder circuitBreakerThreshold(double percent) {
      this.circuitBreakerThreshold = percent;
      return this;
    }

    /**
     * @param timeout time the breaker stays open, positive; default {@link #DEFAULT_CIRCUIT_BREAKER_TIMEOUT}
     * @return this builder
     */
    public Builder circuitBreakerTimeout(Duration timeout) {
      this.circuitBreakerTimeout = timeout;
      return this;
    }

    /**
     * @param threshold slow-call threshold, positive, or {@code null} (the default) for twice the
     *     slowest of 21 round trips measured at connect, at least 250 ms
     * @return this builder
     */
    public Builder slowCallThreshold(Duration threshold) {
      this.slowCallThreshold = threshold;
      return this;
    }

    /**
     * @param perSecond loader calls per second while Redis is bypassed, at least 1; default
     *     {@value CacheClientConfig#DEFAULT_LOADER_RATE_LIMIT}
     * @return this builder
     */
    public Builder loaderRateLimit(int perSecond) {
      this.loaderRateLimit = perSecond;
      return this;
    }

    /**
     * @param wait how long a bypassed read waits for the budget, not negative ({@link Duration#ZERO}:
     *     do not wait); default {@link #DEFAULT_LOADER_RATE_LIMIT_WAIT}
     * @return this builder
     */
    public Builder loaderRateLimitWait(Duration wait) {
      this.loaderRateLimitWait = wait;
      return this;
    }

    /**
     * @param max near-cache size bound, in entries, at least 1; default
     *     {@value CacheClientConfig#DEFAULT_NEAR_CACHE_MAX_ENTRIES}
     * @return this builder
     */
    public Builder nearCacheMaxEntries(long max) {
      this.nearCacheMaxEntries = max;
      return this;
    }

    /**
     * @param period how often the near cache checks that no notice was lost (see "Near-cache
     *     notice watchdog" in {@link CacheClientConfig}), not negative; {@link Duration#ZERO}
     *     turns the watchdog off; default {@link #DEFAULT_NEAR_CACHE_NOTICE_CHECK}
     * @return this builder
     */
    public Builder nearCacheNoticeCheck(Duration period) {
      this.nearCacheNoticeCheck = period;
      return this;
    }

    /**
     * Fail closed on a silent notice stream: while a near-cache notice channel has received
     * nothing (no invalidation, no heartbeat) for longer than {@code budget}, hits of its keys
     * are refused and the read goes to Redis ({@code cache.near.silent.refusals} counts them).
     * Notices come at least once per heartbeat period on every channel when cdc-ingest writes
     * the freshness heartbeat ({@code CDC_HEARTBEAT_INTERVAL_MS}); choose a budget of a few
     * periods. Without the heartbeat a quiet channel is indistinguishable from a lost one, so
     * leave it off.
     *
     * @param budget the longest silence after which hits are still served, not negative;
     *     {@link Duration#ZERO} = off; default {@link #DEFAULT_NEAR_CACHE_SILENCE_BUDGET}
     * @return this builder
     */
    public Builder nearCacheSilenceBudget(Duration budget) {
      this.nearCacheSilenceBudget = budget;
      return this;
    }

    /**
     * Turns on the near-cache consistency sampler (see "Near-cache consistency sampler" in
     * {@link CacheClientConfig}): a daemon thread compares this many random near entries a second
     * with the fence and value Redis holds for their keys. Each sample costs one small script on
     * the key's master, and each second one pass over the near cache's entries picks them.
     *
     * @param perSecond entries per second, in 0..100000; 0 = off; default
     *     {@value CacheClientConfig#DEFAULT_NEAR_CACHE_SAMPLE_PER_SECOND}
     * @return this builder
     */
    public Builder nearCacheSamplePerSecond(int perSecond) {
      this.nearCacheSamplePerSecond = perSecond;
      return this;
    }

    /**
     * @param delay M: how long after the sampler first sees an entry Redis holds something newer
     *     for it checks that entry again (a notice may be in flight until then), positive; default
     *     {@link #DEFAULT_NEAR_CACHE_SAMPLE_DELAY}
     * @return this builder
     */
    public Builder nearCacheSampleDelay(Duration delay) {
      this.nearCacheSampleDelay = delay;
      return this;
    }

    /**
     * @param windows the sampler's longer re-check windows, at least one, increasing, each longer
     *     than M; an entry still held stale after the last one is a confirmed violation; default
     *     {@value CacheClientConfig#DEFAULT_NEAR_CACHE_SAMPLE_WINDOWS}
     * @return this builder
     */
    public Builder nearCacheSampleWindows(List<Duration> windows) {
      this.nearCacheSampleWindows = windows;
      return this;
    }

    /**
     * @param topic topic of published writes, not blank; default {@value CacheClientConfig#DEFAULT_WRITES_TOPIC}
     * @return this builder
     */
    public Builder writesTopic(String topic) {
      this.writesTopic = topic;
      return this;
    }

    /**
     * @param key AES key of 16, 24 or 32 bytes, or {@code null} (the default); copied by {@link #build()}
     * @return this builder
     */
    public Builder encryptionKey(byte[] key) {
      this.encryptionKey = key;
      return this;
    }

    /**
     * @param threads threads running async loaders and early refreshes, in 1..1024; default
     *     {@value CacheClientConfig#DEFAULT_LOADER_THREADS}
     * @return this builder
     */
    public Builder loaderThreads(int threads) {
      this.loaderThreads = threads;
      return this;
    }

    /**
     * @param replicas replicas that must acknowledge an invalidation or write-through
     *     ({@code WAIT}) before it returns, in 0..16, 0 to not wait; default
     *     {@value CacheClientConfig#DEFAULT_REPLICA_ACKS}. See the class comment.
     * @return this builder
     */
    public Builder replicaAcks(int replicas) {
      this.replicaAcks = replicas;
      return this;
    }

    /**
     * @param timeout how long to wait for those acknowledgements, positive; default
     *     {@link #DEFAULT_REPLICA_ACK_TIMEOUT}
     * @return this builder
     */
    public Builder replicaAckTimeout(Duration timeout) {
      this.replicaAckTimeout = timeout;
      return this;
    }

    /**
     * @return the validated config
     * @throws ConfigException naming the bad setting and its value
     */
    public CacheClientConfig build() {
      RedisConnectionConfig r = redis.build();
      if (kafka != null) {
        kafka.apply(Map.of(), WritePublisher.RESERVED); // a reserved KAFKA_* property fails here, at start
      }
      if (defaultPolicy == null) {
        throw ConfigException.invalid("defaultPolicy", null, "a policy");
      }
      if (!(circuitBreakerThreshold > 0 && circuitBreakerThreshold <= 100)) {
        throw ConfigException.invalid("circuitBreakerThreshold", circuitBreakerThreshold, "a percentage in (0, 100]");
      }
      positive("circuitBreakerTimeout", circuitBreakerTimeout);
      if (slowCallThreshold != null) {
        positive("slowCallThreshold", slowCallThreshold);
      }
      if (loaderRateLimit < 1) {
        throw ConfigException.invalid("loaderRateLimit", loaderRateLimit, "at least 1 per second");
      }
      if (loaderRateLimitWait == null || loaderRateLimitWait.isNegative()) {
        throw ConfigException.invalid("loaderRateLimitWait", loaderRateLimitWait, "a duration, not negative");
      }
      if (nearCacheMaxEntries < 1) {
        throw ConfigException.invalid("nearCacheMaxEntries", nearCacheMaxEntries, "at least 1");
      }
      if (nearCacheSilenceBudget == null || nearCacheSilenceBudget.isNegative()) {
        throw ConfigException.invalid("nearCacheSilenceBudget", nearCacheSilenceBudget, "a duration, not negative");
      }
      if (writesTopic == null || writesTopic.isBlank()) {
        throw ConfigException.invalid("writesTopic", writesTopic, "a topic name");
      }
      if (encryptionKey != null && encryptionKey.length != 16 && encryptionKey.length != 24
          && encryptionKey.length != 32) {
        throw ConfigException.invalidSecret("encryptionKey", "16, 24 or 32 bytes long, but it has "
            + encryptionKey.length);
      }
      if (loaderThreads < 1 || loaderThreads > 1024) {
        throw ConfigException.invalid("loaderThreads", loaderThreads, "in 1..1024");
      }
      if (replicaAcks < 0 || replicaAcks > 16) {
        throw ConfigException.invalid("replicaAcks", replicaAcks, "in 0..16");
      }
      positive("replicaAckTimeout", replicaAckTimeout);
      if (nearCacheNoticeCheck == null || nearCacheNoticeCheck.isNegative()) {
        throw ConfigException.invalid("nearCacheNoticeCheck", nearCacheNoticeCheck, "a duration, not negative (0: off)");
      }
      if (nearCacheSamplePerSecond < 0 || nearCacheSamplePerSecond > 100_000) {
        throw ConfigException.invalid("nearCacheSamplePerSecond", nearCacheSamplePerSecond, "in 0..100000 (0: off)");
      }
      positive("nearCacheSampleDelay", nearCacheSampleDelay);
      if (nearCacheSampleWindows == null || nearCacheSampleWindows.isEmpty()
          || nearCacheSampleWindows.stream().anyMatch(Objects::isNull)) {
        throw ConfigException.invalid("nearCacheSampleWindows", nearCacheSampleWindows, "at least one window");
      }
      Duration previous = nearCacheSampleDelay;
      for (Duration w : nearCacheSampleWindows) {
        if (w.compareTo(previous) <= 0) {
          throw ConfigException.invalid("nearCacheSampleWindows", nearCacheSampleWindows,
              "increasing windows, each longer than nearCacheSampleDelay (" + nearCacheSampleDelay + ")");
        }
        previous = w;
      }
      return new CacheClientConfig(this, r);
    }

    private static void positive(String name, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw ConfigException.invalid(name, d, "a positive duration");
      }
    }
  }
}
