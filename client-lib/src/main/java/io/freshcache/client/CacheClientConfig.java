package io.freshcache.client;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link CacheClient}. Build one with {@link #builder()} or read it from the
 * environment with {@link #fromEnv()}; either way every setting is validated and a bad one fails
 * at build time naming the setting and the value.
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code REDIS_NODES}</td><td>comma-separated {@code host:port} seed nodes</td>
 *       <td>{@value #DEFAULT_REDIS_NODES}</td></tr>
 *   <tr><td>{@code REDIS_PASSWORD}</td><td>Redis password (never logged)</td><td>none</td></tr>
 *   <tr><td>{@code REDIS_TLS}</td><td>{@code true} to connect with TLS</td><td>false</td></tr>
 *   <tr><td>{@code CACHE_DEFAULT_TTL}</td><td>TTL of {@link #defaultPolicy()}: seconds, or an
 *       ISO-8601 duration such as {@code PT10M}</td><td>3600</td></tr>
 *   <tr><td>{@code CACHE_JITTER_RANGE}</td><td>relative TTL jitter of {@link #defaultPolicy()},
 *       {@code 0.2} or {@code 20%}</td><td>0.2</td></tr>
 *   <tr><td>{@code REDIS_COMMAND_TIMEOUT_MS}</td><td>command timeout, ms</td><td>500</td></tr>
 *   <tr><td>{@code REDIS_CONNECT_TIMEOUT_MS}</td><td>connect timeout, ms</td><td>1000</td></tr>
 *   <tr><td>{@code REDIS_TOPOLOGY_REFRESH_MS}</td><td>periodic cluster topology refresh, ms</td>
 *       <td>1000</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_THRESHOLD}</td><td>failure rate of a master's calls that opens
 *       its breaker, percent ({@code 5} or {@code 5%}); see "Circuit breakers" below</td><td>5</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_TIMEOUT}</td><td>time open before half-open: seconds or
 *       ISO-8601</td><td>10</td></tr>
 *   <tr><td>{@code CIRCUIT_BREAKER_SLOW_CALL_MS}</td><td>a Redis call slower than this counts as
 *       slow; 80% slow calls in 10 s open the breaker</td><td>2 × the slowest of 21 round trips
 *       measured at start, at least 250 ms</td></tr>
 *   <tr><td>{@code LOADER_RATE_LIMIT}</td><td>loader calls per second allowed while Redis is
 *       bypassed (breaker open or Redis failing)</td><td>200</td></tr>
 *   <tr><td>{@code LOADER_RATE_LIMIT_WAIT_MS}</td><td>how long a bypassed read waits for that
 *       budget before {@link LoadSheddingException}</td><td>500</td></tr>
 *   <tr><td>{@code NEAR_CACHE_MAX_ENTRIES}</td><td>near-cache size bound</td><td>10000</td></tr>
 *   <tr><td>{@code NEAR_CACHE_NOTICE_CHECK_MS}</td><td>period of the near cache's notice watchdog,
 *       ms; {@code 0} = off; see "Near-cache notice watchdog" below</td><td>500</td></tr>
 *   <tr><td>{@code KAFKA_BOOTSTRAP_SERVERS}</td><td>Kafka, for {@code publishWrite}; unset = off</td>
 *       <td>none</td></tr>
 *   <tr><td>{@code CACHE_WRITES_TOPIC}</td><td>topic of published writes</td>
 *       <td>{@value #DEFAULT_WRITES_TOPIC}</td></tr>
 *   <tr><td>{@code CACHE_ENCRYPTION_KEY}</td><td>AES key, base64 of 16, 24 or 32 bytes, for
 *       policies with {@code encrypted}; never logged</td><td>none</td></tr>
 *   <tr><td>{@code CACHE_LOADER_THREADS}</td><td>threads running loaders of async reads</td>
 *       <td>8</td></tr>
 *   <tr><td>{@code REDIS_REPLICA_ACKS}</td><td>replicas that must acknowledge an
 *       {@code invalidate} or {@code writeThrough} ({@code WAIT}) before it returns, at most the
 *       replicas attached to the master; {@code 0} = do not wait</td><td>1</td></tr>
 *   <tr><td>{@code REDIS_REPLICA_ACK_TIMEOUT_MS}</td><td>how long to wait for them, ms (the
 *       {@code WAIT} command gets this plus the command timeout)</td><td>1000</td></tr>
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
 * @param redisNodes seed nodes as {@code host:port}, at least one
 * @param redisPassword the password, or {@code null}
 * @param tls whether to use TLS
 * @param defaultPolicy the policy {@link CacheClient#getOrLoad(String, Class, Loader)} uses
 * @param commandTimeout how long a Redis command may take before the read falls back
 * @param connectTimeout how long connecting to a node may take
 * @param topologyRefreshPeriod how often the cluster topology is refreshed; adaptive refresh on
 *     {@code MOVED}, {@code ASK} and reconnects is always on
 * @param circuitBreakerThreshold failure rate of Redis calls, percent in (0, 100], that opens the
 *     circuit breaker
 * @param circuitBreakerTimeout how long the breaker stays open before letting probes through
 * @param slowCallThreshold a Redis call slower than this is slow; {@code null} = twice the
 *     slowest of 21 round trips measured at start, at least 250 ms
 * @param loaderRateLimit loader calls per second while Redis is bypassed
 * @param loaderRateLimitWait how long a bypassed read waits for the rate limiter
 * @param nearCacheMaxEntries near-cache size bound
 * @param kafkaBootstrapServers Kafka for {@link CacheClient#publishWrite}, or {@code null}
 * @param writesTopic the topic of published writes
 * @param encryptionKey the AES key for encrypted policies, or {@code null}
 * @param loaderThreads threads that run the loaders of async reads
 * @param replicaAcks replicas that must acknowledge an invalidation or write-through before it
 *     returns, 0 to not wait
 * @param replicaAckTimeout how long to wait for those acknowledgements
 * @param nearCacheNoticeCheck period of the near cache's notice watchdog; {@link Duration#ZERO}
 *     turns it off (a lost subscription is then bounded only by the near-cache TTL)
 */
public record CacheClientConfig(List<String> redisNodes, String redisPassword, boolean tls,
    CachePolicy defaultPolicy, Duration commandTimeout, Duration connectTimeout,
    Duration topologyRefreshPeriod, double circuitBreakerThreshold, Duration circuitBreakerTimeout,
    Duration slowCallThreshold, int loaderRateLimit, Duration loaderRateLimitWait,
    long nearCacheMaxEntries, String kafkaBootstrapServers, String writesTopic,
    byte[] encryptionKey, int loaderThreads, int replicaAcks, Duration replicaAckTimeout,
    Duration nearCacheNoticeCheck) {

  /** Default seed nodes: the local stack that {@code dev/stack} starts. */
  public static final String DEFAULT_REDIS_NODES =
      "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005";
  /** Default command timeout: 500 ms (a read that waits longer goes to the loader). */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(500);
  /** Default connect timeout: 1 s. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(1);
  /** Default periodic topology refresh: 1 s (measured to halve failover recovery). */
  public static final Duration DEFAULT_TOPOLOGY_REFRESH = Duration.ofSeconds(1);
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
  /** Default policy: one hour, named {@code default}. */
  public static final CachePolicy DEFAULT_POLICY = CachePolicy.of("default", Duration.ofSeconds(3600));

  /**
   * Validates the settings. Prefer {@link #builder()}, which fills in the defaults.
   *
   * @param redisNodes seed nodes, not null and not empty; each {@code host:port} with a port in
   *     1..65535; the list is copied
   * @param redisPassword the password, or {@code null} for none
   * @param tls whether to connect with TLS
   * @param defaultPolicy the policy of the calls without one, not null
   * @param commandTimeout the Redis command timeout, not null, positive
   * @param connectTimeout the connect timeout, not null, positive
   * @param topologyRefreshPeriod the periodic topology refresh, not null, positive
   * @param circuitBreakerThreshold the failure rate that opens the breaker, percent in (0, 100]
   * @param circuitBreakerTimeout how long the breaker stays open, not null, positive
   * @param slowCallThreshold the slow-call threshold, positive, or {@code null} for automatic
   * @param loaderRateLimit loader calls per second while Redis is bypassed, at least 1
   * @param loaderRateLimitWait how long a bypassed read waits for the budget, not null, not
   *     negative ({@link Duration#ZERO}: do not wait)
   * @param nearCacheMaxEntries the near-cache size bound, at least 1
   * @param kafkaBootstrapServers Kafka bootstrap servers, or {@code null} (a blank string
   *     counts as {@code null}) to disable publishing
   * @param writesTopic the topic of published writes, not null
   * @param encryptionKey an AES key of 16, 24 or 32 bytes, or {@code null}; the array is copied
   * @param loaderThreads threads that run the loaders of async reads, in 1..1024
   * @param replicaAcks replicas that must acknowledge an invalidation or write-through, in
   *     0..16 (0: do not wait)
   * @param replicaAckTimeout how long to wait for them, not null, positive
   * @param nearCacheNoticeCheck the notice watchdog's period, not null, not negative
   *     ({@link Duration#ZERO}: off)
   * @throws NullPointerException if a setting that must not be null is null
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CacheClientConfig {
    Objects.requireNonNull(redisNodes, "redisNodes");
    Objects.requireNonNull(defaultPolicy, "defaultPolicy");
    Objects.requireNonNull(commandTimeout, "commandTimeout");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(topologyRefreshPeriod, "topologyRefreshPeriod");
    if (redisNodes.isEmpty()) {
      throw new IllegalArgumentException("redisNodes must name at least one host:port");
    }
    redisNodes = List.copyOf(redisNodes);
    for (String node : redisNodes) {
      parseNode(node);
    }
    positive("commandTimeout", commandTimeout);
    positive("connectTimeout", connectTimeout);
    positive("topologyRefreshPeriod", topologyRefreshPeriod);
    Objects.requireNonNull(circuitBreakerTimeout, "circuitBreakerTimeout");
    Objects.requireNonNull(loaderRateLimitWait, "loaderRateLimitWait");
    Objects.requireNonNull(writesTopic, "writesTopic");
    if (!(circuitBreakerThreshold > 0 && circuitBreakerThreshold <= 100)) {
      throw new IllegalArgumentException("circuitBreakerThreshold must be a percentage in (0, 100] but was "
          + circuitBreakerThreshold);
    }
    positive("circuitBreakerTimeout", circuitBreakerTimeout);
    if (slowCallThreshold != null) {
      positive("slowCallThreshold", slowCallThreshold);
    }
    if (loaderRateLimit < 1) {
      throw new IllegalArgumentException("loaderRateLimit must be at least 1 per second but was " + loaderRateLimit);
    }
    if (loaderRateLimitWait.isNegative()) {
      throw new IllegalArgumentException("loaderRateLimitWait must not be negative but was " + loaderRateLimitWait);
    }
    if (nearCacheMaxEntries < 1) {
      throw new IllegalArgumentException("nearCacheMaxEntries must be positive but was " + nearCacheMaxEntries);
    }
    if (kafkaBootstrapServers != null && kafkaBootstrapServers.isBlank()) {
      kafkaBootstrapServers = null;
    }
    if (encryptionKey != null) {
      if (encryptionKey.length != 16 && encryptionKey.length != 24 && encryptionKey.length != 32) {
        throw new IllegalArgumentException("encryptionKey must have 16, 24 or 32 bytes but had "
            + encryptionKey.length);
      }
      encryptionKey = encryptionKey.clone();
    }
    if (loaderThreads < 1 || loaderThreads > 1024) {
      throw new IllegalArgumentException("loaderThreads must be in 1..1024 but was " + loaderThreads);
    }
    if (replicaAcks < 0 || replicaAcks > 16) {
      throw new IllegalArgumentException("replicaAcks must be in 0..16 but was " + replicaAcks);
    }
    Objects.requireNonNull(replicaAckTimeout, "replicaAckTimeout");
    positive("replicaAckTimeout", replicaAckTimeout);
    Objects.requireNonNull(nearCacheNoticeCheck, "nearCacheNoticeCheck");
    if (nearCacheNoticeCheck.isNegative()) {
      throw new IllegalArgumentException("nearCacheNoticeCheck must not be negative but was " + nearCacheNoticeCheck);
    }
  }

  /**
   * The settings before the near-cache notice watchdog was configurable, with
   * {@link #DEFAULT_NEAR_CACHE_NOTICE_CHECK}; kept for source compatibility. Prefer
   * {@link #builder()}.
   *
   * @param redisNodes see the canonical constructor
   * @param redisPassword see the canonical constructor
   * @param tls see the canonical constructor
   * @param defaultPolicy see the canonical constructor
   * @param commandTimeout see the canonical constructor
   * @param connectTimeout see the canonical constructor
   * @param topologyRefreshPeriod see the canonical constructor
   * @param circuitBreakerThreshold see the canonical constructor
   * @param circuitBreakerTimeout see the canonical constructor
   * @param slowCallThreshold see the canonical constructor
   * @param loaderRateLimit see the canonical constructor
   * @param loaderRateLimitWait see the canonical constructor
   * @param nearCacheMaxEntries see the canonical constructor
   * @param kafkaBootstrapServers see the canonical constructor
   * @param writesTopic see the canonical constructor
   * @param encryptionKey see the canonical constructor
   * @param loaderThreads see the canonical constructor
   * @param replicaAcks see the canonical constructor
   * @param replicaAckTimeout see the canonical constructor
   * @throws NullPointerException if a setting that must not be null is null
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CacheClientConfig(List<String> redisNodes, String redisPassword, boolean tls,
      CachePolicy defaultPolicy, Duration commandTimeout, Duration connectTimeout,
      Duration topologyRefreshPeriod, double circuitBreakerThreshold, Duration circuitBreakerTimeout,
      Duration slowCallThreshold, int loaderRateLimit, Duration loaderRateLimitWait,
      long nearCacheMaxEntries, String kafkaBootstrapServers, String writesTopic,
      byte[] encryptionKey, int loaderThreads, int replicaAcks, Duration replicaAckTimeout) {
    this(redisNodes, redisPassword, tls, defaultPolicy, commandTimeout, connectTimeout,
        topologyRefreshPeriod, circuitBreakerThreshold, circuitBreakerTimeout, slowCallThreshold,
        loaderRateLimit, loaderRateLimitWait, nearCacheMaxEntries, kafkaBootstrapServers, writesTopic,
        encryptionKey, loaderThreads, replicaAcks, replicaAckTimeout, DEFAULT_NEAR_CACHE_NOTICE_CHECK);
  }

  /**
   * The settings before replica acknowledgement existed, with {@link #DEFAULT_REPLICA_ACKS} and
   * {@link #DEFAULT_REPLICA_ACK_TIMEOUT}; kept for source compatibility. Prefer {@link #builder()}.
   *
   * @param redisNodes see the canonical constructor
   * @param redisPassword see the canonical constructor
   * @param tls see the canonical constructor
   * @param defaultPolicy see the canonical constructor
   * @param commandTimeout see the canonical constructor
   * @param connectTimeout see the canonical constructor
   * @param topologyRefreshPeriod see the canonical constructor
   * @param circuitBreakerThreshold see the canonical constructor
   * @param circuitBreakerTimeout see the canonical constructor
   * @param slowCallThreshold see the canonical constructor
   * @param loaderRateLimit see the canonical constructor
   * @param loaderRateLimitWait see the canonical constructor
   * @param nearCacheMaxEntries see the canonical constructor
   * @param kafkaBootstrapServers see the canonical constructor
   * @param writesTopic see the canonical constructor
   * @param encryptionKey see the canonical constructor
   * @param loaderThreads see the canonical constructor
   * @throws NullPointerException if a setting that must not be null is null
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CacheClientConfig(List<String> redisNodes, String redisPassword, boolean tls,
      CachePolicy defaultPolicy, Duration commandTimeout, Duration connectTimeout,
      Duration topologyRefreshPeriod, double circuitBreakerThreshold, Duration circuitBreakerTimeout,
      Duration slowCallThreshold, int loaderRateLimit, Duration loaderRateLimitWait,
      long nearCacheMaxEntries, String kafkaBootstrapServers, String writesTopic,
      byte[] encryptionKey, int loaderThreads) {
    this(redisNodes, redisPassword, tls, defaultPolicy, commandTimeout, connectTimeout,
        topologyRefreshPeriod, circuitBreakerThreshold, circuitBreakerTimeout, slowCallThreshold,
        loaderRateLimit, loaderRateLimitWait, nearCacheMaxEntries, kafkaBootstrapServers, writesTopic,
        encryptionKey, loaderThreads, DEFAULT_REPLICA_ACKS, DEFAULT_REPLICA_ACK_TIMEOUT,
        DEFAULT_NEAR_CACHE_NOTICE_CHECK);
  }

  /**
   * @return the {@code WAIT} timeout actually used: {@link #replicaAckTimeout()}, at least 1 ms.
   *     A {@code WAIT} command itself may run for that long plus the command timeout before it
   *     times out as a command.
   */
  public Duration effectiveReplicaAckTimeout() {
    return replicaAckTimeout.toMillis() < 1 ? Duration.ofMillis(1) : replicaAckTimeout;
  }

  /** @return a copy of the encryption key, or {@code null} */
  @Override
  public byte[] encryptionKey() {
    return encryptionKey == null ? null : encryptionKey.clone();
  }

  /** @return a builder holding these settings */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.redisNodes = redisNodes;
    b.redisPassword = redisPassword;
    b.tls = tls;
    b.defaultPolicy = defaultPolicy;
    b.commandTimeout = commandTimeout;
    b.connectTimeout = connectTimeout;
    b.topologyRefreshPeriod = topologyRefreshPeriod;
    b.circuitBreakerThreshold = circuitBreakerThreshold;
    b.circuitBreakerTimeout = circuitBreakerTimeout;
    b.slowCallThreshold = slowCallThreshold;
    b.loaderRateLimit = loaderRateLimit;
    b.loaderRateLimitWait = loaderRateLimitWait;
    b.nearCacheMaxEntries = nearCacheMaxEntries;
    b.kafkaBootstrapServers = kafkaBootstrapServers;
    b.writesTopic = writesTopic;
    b.encryptionKey = encryptionKey;
    b.loaderThreads = loaderThreads;
    b.replicaAcks = replicaAcks;
    b.replicaAckTimeout = replicaAckTimeout;
    b.nearCacheNoticeCheck = nearCacheNoticeCheck;
    return b;
  }

  /** @return a builder with every setting at its default */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads the settings from the process environment; see the table above.
   *
   * @return the validated config; variables that are unset or blank take their defaults
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CacheClientConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /**
   * Reads the settings from {@code env}, as {@link #fromEnv()} does from the process environment.
   *
   * @param env variable names to values, e.g. {@link System#getenv()}; not null
   * @return the validated config; variables that are missing or blank take their defaults
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CacheClientConfig fromEnv(Map<String, String> env) {
    Builder b = builder();
    String nodes = env.get("REDIS_NODES");
    if (nodes != null && !nodes.isBlank()) {
      List<String> list = new ArrayList<>();
      for (String n : nodes.split(",")) {
        String t = n.trim();
        if (!t.isEmpty()) {
          try {
            parseNode(t);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("REDIS_NODES: " + e.getMessage(), e);
          }
          list.add(t);
        }
      }
      b.redisNodes(list);
    }
    String pw = env.get("REDIS_PASSWORD");
    if (pw != null && !pw.isEmpty()) {
      b.redisPassword(pw);
    }
    String tls = env.get("REDIS_TLS");
    if (tls != null && !tls.isBlank()) {
      if (!tls.equalsIgnoreCase("true") && !tls.equalsIgnoreCase("false")) {
        throw new IllegalArgumentException("REDIS_TLS must be true or false but was '" + tls + "'");
      }
      b.tls(Boolean.parseBoolean(tls));
    }
    CachePolicy policy = DEFAULT_POLICY;
    String ttl = env.get("CACHE_DEFAULT_TTL");
    if (ttl != null && !ttl.isBlank()) {
      policy = policy.withTtl(parseDuration("CACHE_DEFAULT_TTL", ttl, true));
    }
    String jitter = env.get("CACHE_JITTER_RANGE");
    if (jitter != null && !jitter.isBlank()) {
      try {
        String t = jitter.trim();
        double j = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1)) / 100
            : Double.parseDouble(t);
        policy = policy.withJitter(j);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("CACHE_JITTER_RANGE must be a fraction in [0, 0.9] such"
            + " as 0.2 or 20% but was '" + jitter + "'", e);
      }
    }
    b.defaultPolicy(policy);
    b.commandTimeout(envMillis(env, "REDIS_COMMAND_TIMEOUT_MS", DEFAULT_COMMAND_TIMEOUT));
    b.connectTimeout(envMillis(env, "REDIS_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT));
    b.topologyRefreshPeriod(envMillis(env, "REDIS_TOPOLOGY_REFRESH_MS", DEFAULT_TOPOLOGY_REFRESH));
    String threshold = env.get("CIRCUIT_BREAKER_THRESHOLD");
    if (threshold != null && !threshold.isBlank()) {
      try {
        String t = threshold.trim();
        double pct = Double.parseDouble(t.endsWith("%") ? t.substring(0, t.length() - 1) : t);
        if (!(pct > 0 && pct <= 100)) {
          throw new NumberFormatException();
        }
        b.circuitBreakerThreshold(pct);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("CIRCUIT_BREAKER_THRESHOLD must be a percentage in (0, 100]"
            + " such as 5 or 5% but was '" + threshold + "'", e);
      }
    }
    String timeout = env.get("CIRCUIT_BREAKER_TIMEOUT");
    if (timeout != null && !timeout.isBlank()) {
      b.circuitBreakerTimeout(parseDuration("CIRCUIT_BREAKER_TIMEOUT", timeout, true));
    }
    if (env.get("CIRCUIT_BREAKER_SLOW_CALL_MS") != null && !env.get("CIRCUIT_BREAKER_SLOW_CALL_MS").isBlank()) {
      b.slowCallThreshold(envMillis(env, "CIRCUIT_BREAKER_SLOW_CALL_MS", null));
    }
    b.loaderRateLimit((int) envLong(env, "LOADER_RATE_LIMIT", DEFAULT_LOADER_RATE_LIMIT, 1_000_000));
    b.loaderRateLimitWait(envMillis(env, "LOADER_RATE_LIMIT_WAIT_MS", DEFAULT_LOADER_RATE_LIMIT_WAIT));
    b.nearCacheMaxEntries(envLong(env, "NEAR_CACHE_MAX_ENTRIES", DEFAULT_NEAR_CACHE_MAX_ENTRIES, Long.MAX_VALUE));
    String kafka = env.get("KAFKA_BOOTSTRAP_SERVERS");
    if (kafka != null && !kafka.isBlank()) {
      b.kafkaBootstrapServers(kafka.trim());
    }
    String topic = env.get("CACHE_WRITES_TOPIC");
    if (topic != null && !topic.isBlank()) {
      b.writesTopic(topic.trim());
    }
    String key = env.get("CACHE_ENCRYPTION_KEY");
    if (key != null && !key.isBlank()) {
      byte[] raw;
      try {
        raw = java.util.Base64.getDecoder().decode(key.trim());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("CACHE_ENCRYPTION_KEY must be base64 (value not shown)", e);
      }
      if (raw.length != 16 && raw.length != 24 && raw.length != 32) {
        throw new IllegalArgumentException("CACHE_ENCRYPTION_KEY must decode to 16, 24 or 32 bytes but"
            + " decoded to " + raw.length + " (value not shown)");
      }
      b.encryptionKey(raw);
    }
    b.loaderThreads((int) envLong(env, "CACHE_LOADER_THREADS", DEFAULT_LOADER_THREADS, 1024));
    String acks = env.get("REDIS_REPLICA_ACKS");
    if (acks != null && !acks.isBlank()) {
      try {
        int n = Integer.parseInt(acks.trim());
        if (n < 0 || n > 16) {
          throw new NumberFormatException();
        }
        b.replicaAcks(n);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("REDIS_REPLICA_ACKS must be an integer in 0..16 but was '"
            + acks + "'", e);
      }
    }
    b.replicaAckTimeout(envMillis(env, "REDIS_REPLICA_ACK_TIMEOUT_MS", DEFAULT_REPLICA_ACK_TIMEOUT));
    String check = env.get("NEAR_CACHE_NOTICE_CHECK_MS");
    if (check != null && !check.isBlank()) {
      try {
        long ms = Long.parseLong(check.trim());
        if (ms < 0) {
          throw new NumberFormatException();
        }
        b.nearCacheNoticeCheck(Duration.ofMillis(ms));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("NEAR_CACHE_NOTICE_CHECK_MS must be a number of milliseconds, 0 or"
            + " more, but was '" + check + "'", e);
      }
    }
    return b.build();
  }

  /**
   * @return the Redis connection part (derived from the flat settings until the configuration
   *     model is converted)
   */
  public io.freshcache.protocol.config.RedisConnectionConfig redis() {
    return io.freshcache.protocol.config.RedisConnectionConfig.builder().nodes(redisNodes)
        .password(redisPassword).tls(tls).commandTimeout(commandTimeout).connectTimeout(connectTimeout)
        .topologyRefresh(topologyRefreshPeriod).build();
  }

  /** @return the password masked, so the record can be logged */
  @Override
  public String toString() {
    return "CacheClientConfig[redisNodes=" + redisNodes + ", redisPassword="
        + (redisPassword == null ? "none" : "****") + ", tls=" + tls + ", defaultPolicy="
        + defaultPolicy + ", commandTimeout=" + commandTimeout + ", connectTimeout="
        + connectTimeout + ", topologyRefreshPeriod=" + topologyRefreshPeriod
        + ", circuitBreakerThreshold=" + circuitBreakerThreshold + "%, circuitBreakerTimeout="
        + circuitBreakerTimeout + ", slowCallThreshold=" + (slowCallThreshold == null ? "auto" : slowCallThreshold)
        + ", loaderRateLimit=" + loaderRateLimit + "/s, loaderRateLimitWait=" + loaderRateLimitWait
        + ", nearCacheMaxEntries=" + nearCacheMaxEntries + ", kafka=" + kafkaBootstrapServers
        + ", writesTopic=" + writesTopic + ", encryptionKey=" + (encryptionKey == null ? "none" : "****")
        + ", loaderThreads=" + loaderThreads + ", replicaAcks=" + replicaAcks
        + ", replicaAckTimeout=" + replicaAckTimeout + ", nearCacheNoticeCheck=" + nearCacheNoticeCheck + "]";
  }

  @Override
  public boolean equals(Object o) {
    // toString masks the secrets, so they are compared on their own
    return o instanceof CacheClientConfig c && toString().equals(c.toString())
        && Objects.equals(redisPassword, c.redisPassword)
        && java.util.Arrays.equals(encryptionKey, c.encryptionKey);
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  private static long envLong(Map<String, String> env, String name, long dflt, long max) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n < 1 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer in 1.." + max + " but was '" + v + "'", e);
    }
  }

  static String[] parseNode(String node) {
    int colon = node == null ? -1 : node.lastIndexOf(':');
    if (colon <= 0 || colon == node.length() - 1) {
      throw new IllegalArgumentException("node must be host:port but was '" + node + "'");
    }
    String port = node.substring(colon + 1);
    try {
      int p = Integer.parseInt(port);
      if (p < 1 || p > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("node port must be 1..65535 but was '" + port
          + "' in '" + node + "'", e);
    }
    return new String[] {node.substring(0, colon), port};
  }

  private static Duration envMillis(Map<String, String> env, String name, Duration dflt) {
    // dflt may be null only when the caller checked that the variable is set
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long ms = Long.parseLong(v.trim());
      if (ms <= 0) {
        throw new NumberFormatException();
      }
      return Duration.ofMillis(ms);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a positive number of milliseconds but was '"
          + v + "'", e);
    }
  }

  static Duration parseDuration(String name, String value, boolean secondsIfBare) {
    String t = value.trim();
    try {
      if (t.matches("\\d+")) {
        long n = Long.parseLong(t);
        if (n <= 0) {
          throw new IllegalArgumentException();
        }
        return secondsIfBare ? Duration.ofSeconds(n) : Duration.ofMillis(n);
      }
      Duration d = Duration.parse(t);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException();
      }
      return d;
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new IllegalArgumentException(name + " must be a positive number of seconds or an"
          + " ISO-8601 duration such as PT10M but was '" + value + "'", e);
    }
  }

  private static void positive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive but was " + d);
    }
  }

  /**
   * Builds a {@link CacheClientConfig}; every setting starts at its default. The setters do not
   * validate: {@link #build()} does.
   */
  public static final class Builder {
    private List<String> redisNodes = List.of(DEFAULT_REDIS_NODES.split(","));
    private String redisPassword;
    private boolean tls;
    private CachePolicy defaultPolicy = DEFAULT_POLICY;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration topologyRefreshPeriod = DEFAULT_TOPOLOGY_REFRESH;
    private double circuitBreakerThreshold = DEFAULT_CIRCUIT_BREAKER_THRESHOLD;
    private Duration circuitBreakerTimeout = DEFAULT_CIRCUIT_BREAKER_TIMEOUT;
    private Duration slowCallThreshold;
    private int loaderRateLimit = DEFAULT_LOADER_RATE_LIMIT;
    private Duration loaderRateLimitWait = DEFAULT_LOADER_RATE_LIMIT_WAIT;
    private long nearCacheMaxEntries = DEFAULT_NEAR_CACHE_MAX_ENTRIES;
    private String kafkaBootstrapServers;
    private String writesTopic = DEFAULT_WRITES_TOPIC;
    private byte[] encryptionKey;
    private int loaderThreads = DEFAULT_LOADER_THREADS;
    private int replicaAcks = DEFAULT_REPLICA_ACKS;
    private Duration replicaAckTimeout = DEFAULT_REPLICA_ACK_TIMEOUT;
    private Duration nearCacheNoticeCheck = DEFAULT_NEAR_CACHE_NOTICE_CHECK;

    private Builder() {}

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
     * @param timeout how long to wait for those acknowledgements, positive; default {@link CacheClientConfig#DEFAULT_REPLICA_ACK_TIMEOUT}
     * @return this builder
     */
    public Builder replicaAckTimeout(Duration timeout) {
      this.replicaAckTimeout = timeout;
      return this;
    }

    /**
     * @param period how often the near cache checks that no notice was lost (see "Near-cache
     *     notice watchdog" in {@link CacheClientConfig}), not negative; {@link Duration#ZERO}
     *     turns the watchdog off; default {@link CacheClientConfig#DEFAULT_NEAR_CACHE_NOTICE_CHECK}
     * @return this builder
     */
    public Builder nearCacheNoticeCheck(Duration period) {
      this.nearCacheNoticeCheck = period;
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
     * @param timeout time the breaker stays open, positive; default
     *     {@link CacheClientConfig#DEFAULT_CIRCUIT_BREAKER_TIMEOUT}
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
     * @param wait how long a bypassed read waits for the budget, not negative; default
     *     {@link CacheClientConfig#DEFAULT_LOADER_RATE_LIMIT_WAIT}
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
     * @param servers Kafka bootstrap servers ({@code host:port,...}), or {@code null} (the
     *     default) to disable publishing
     * @return this builder
     */
    public Builder kafkaBootstrapServers(String servers) {
      this.kafkaBootstrapServers = servers;
      return this;
    }

    /**
     * @param topic topic of published writes, not null; default
     *     {@value CacheClientConfig#DEFAULT_WRITES_TOPIC}
     * @return this builder
     */
    public Builder writesTopic(String topic) {
      this.writesTopic = topic;
      return this;
    }

    /**
     * @param key AES key of 16, 24 or 32 bytes, or {@code null} (the default); copied by
     *     {@link #build()}
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
     * @param nodes seed nodes as {@code host:port}, at least one; default
     *     {@value CacheClientConfig#DEFAULT_REDIS_NODES}
     * @return this builder
     */
    public Builder redisNodes(List<String> nodes) {
      this.redisNodes = nodes;
      return this;
    }

    /**
     * @param password the Redis password, or {@code null} (the default) for none
     * @return this builder
     */
    public Builder redisPassword(String password) {
      this.redisPassword = password;
      return this;
    }

    /**
     * @param tls whether to connect with TLS; default false
     * @return this builder
     */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /**
     * @param policy the policy of the calls without one, not null; default
     *     {@link CacheClientConfig#DEFAULT_POLICY}
     * @return this builder
     */
    public Builder defaultPolicy(CachePolicy policy) {
      this.defaultPolicy = policy;
      return this;
    }

    /**
     * @param timeout the command timeout, positive; default
     *     {@link CacheClientConfig#DEFAULT_COMMAND_TIMEOUT}
     * @return this builder
     */
    public Builder commandTimeout(Duration timeout) {
      this.commandTimeout = timeout;
      return this;
    }

    /**
     * @param timeout the connect timeout, positive; default
     *     {@link CacheClientConfig#DEFAULT_CONNECT_TIMEOUT}
     * @return this builder
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /**
     * @param period the periodic topology refresh, positive; default
     *     {@link CacheClientConfig#DEFAULT_TOPOLOGY_REFRESH}
     * @return this builder
     */
    public Builder topologyRefreshPeriod(Duration period) {
      this.topologyRefreshPeriod = period;
      return this;
    }

    /**
     * @return the validated config
     * @throws NullPointerException if a setting that must not be null was set to null
     * @throws IllegalArgumentException naming the bad setting and value
     */
    public CacheClientConfig build() {
      return new CacheClientConfig(redisNodes, redisPassword, tls, defaultPolicy, commandTimeout,
          connectTimeout, topologyRefreshPeriod, circuitBreakerThreshold, circuitBreakerTimeout,
          slowCallThreshold, loaderRateLimit, loaderRateLimitWait, nearCacheMaxEntries,
          kafkaBootstrapServers, writesTopic, encryptionKey, loaderThreads, replicaAcks, replicaAckTimeout,
          nearCacheNoticeCheck);
    }
  }
}
