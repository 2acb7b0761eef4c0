package io.freshcache.writer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link CacheWriter}, validated when built; {@link #fromEnv()} maps environment
 * variables and fails fast naming the variable and its bad value.
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code KAFKA_BOOTSTRAP_SERVERS}</td><td>Kafka bootstrap servers</td><td>{@value #DEFAULT_KAFKA}</td></tr>
 *   <tr><td>{@code REDIS_NODES}</td><td>comma-separated {@code host:port} seed nodes</td><td>the local stack</td></tr>
 *   <tr><td>{@code REDIS_PASSWORD}</td><td>Redis password (never logged)</td><td>none</td></tr>
 *   <tr><td>{@code WRITER_TOPICS}</td><td>comma-separated topics to apply</td><td>{@value #DEFAULT_TOPICS}</td></tr>
 *   <tr><td>{@code WRITER_DLQ_TOPIC}</td><td>dead-letter topic</td><td>{@value #DEFAULT_DLQ_TOPIC}</td></tr>
 *   <tr><td>{@code WRITER_GROUP_ID}</td><td>consumer group</td><td>{@value #DEFAULT_GROUP_ID}</td></tr>
 *   <tr><td>{@code WRITER_BATCH_SIZE}</td><td>max records per poll and apply batch</td><td>{@value #DEFAULT_BATCH_SIZE}</td></tr>
 *   <tr><td>{@code WRITER_FENCE_TTL_MS}</td><td>lifetime of version fences, ms; longer than the longest cache TTL</td><td>86400000</td></tr>
 *   <tr><td>{@code WRITER_REDIS_TIMEOUT_MS}</td><td>Redis command timeout, ms</td><td>2000</td></tr>
 *   <tr><td>{@code WRITER_SESSION_TIMEOUT_MS}</td><td>Kafka group session timeout, ms: how soon
 *       the partitions of a crashed worker move to the others (the broker allows 6000..300000
 *       by default)</td><td>10000</td></tr>
 *   <tr><td>{@code WRITER_MAX_PAYLOAD_BYTES}</td><td>largest upsert payload applied; a larger one is
 *       dead-lettered and its key invalidated</td><td>{@value #DEFAULT_MAX_PAYLOAD_BYTES}</td></tr>
 *   <tr><td>{@code WRITER_HTTP_PORT}</td><td>port of {@code /health} and {@code /metrics}; 0 turns
 *       HTTP off</td><td>{@value #DEFAULT_HTTP_PORT}</td></tr>
 *   <tr><td>{@code WRITER_REPLICA_ACKS}</td><td>replicas that must acknowledge a batch's applies
 *       (Redis {@code WAIT}) on every master it touched before its offsets are committed, capped
 *       at the replicas attached to that master; 0 turns it off</td><td>{@value #DEFAULT_REPLICA_ACKS}</td></tr>
 *   <tr><td>{@code WRITER_REPLICA_ACK_TIMEOUT_MS}</td><td>how long a batch waits for those
 *       acknowledgements before it fails and is retried, ms; shorter than
 *       {@code WRITER_REDIS_TIMEOUT_MS}</td><td>1000</td></tr>
 *   <tr><td>{@code WRITER_MAX_UNAPPLIED_AGE_MS}</td><td>{@code /health} and {@code /health/ready}
 *       report the worker down while an event it fetched stays unapplied longer than this, ms</td><td>30000</td></tr>
 *   <tr><td>{@code WRITER_SINK_*}</td><td>the write-behind sink, see {@link WriteBehindConfig}</td><td>off</td></tr>
 * </table>
 *
 * @param kafkaBootstrapServers Kafka bootstrap servers
 * @param redisNodes Redis Cluster seed nodes as {@code host:port}
 * @param redisPassword the Redis password, or {@code null}
 * @param topics the topics to consume, at least one
 * @param dlqTopic where undecodable or invalid events go
 * @param groupId the consumer group; workers with one group share the partitions
 * @param batchSize the most records applied in one pipelined batch, 1..100000
 * @param fenceTtl how long a version fence is kept; replays from further back can resurrect old
 *     upserts
 * @param redisTimeout the Redis command timeout
 * @param sessionTimeout the Kafka group session timeout; a crashed worker's partitions move after it
 * @param maxPayloadBytes the largest upsert payload applied, 1..64 MiB; a larger one goes to the
 *     dead-letter topic and its key is invalidated
 * @param httpPort the port {@link CacheWriterMain} serves {@code /health} and {@code /metrics}
 *     on, 0 for none
 * @param replicaAcks how many replicas must acknowledge a batch's applies on each master it
 *     touched before its offsets are committed (Redis {@code WAIT} on the connection that carried
 *     them), at most the replicas attached to that master at the time; 0 for none. So that an
 *     apply acknowledged by a master that dies at once is not lost with it: the promoted replica
 *     has it, or the batch was not committed and is applied again
 * @param replicaAckTimeout how long a batch waits for the replicas' acknowledgement before it
 *     fails and is retried
 * @param maxUnappliedAge how long a fetched event may stay unapplied before {@link CacheWriter#health()}
 *     reports the worker not up (a stuck worker: Redis unreachable, a shard without a master)
 * @param sink the write-behind sink, or {@code null} for none
 */
public record CacheWriterConfig(String kafkaBootstrapServers, List<String> redisNodes,
    String redisPassword, List<String> topics, String dlqTopic, String groupId, int batchSize,
    Duration fenceTtl, Duration redisTimeout, Duration sessionTimeout, int maxPayloadBytes, int httpPort,
    int replicaAcks, Duration replicaAckTimeout, Duration maxUnappliedAge, WriteBehindConfig sink) {

  /** Default Kafka: the local stack. */
  public static final String DEFAULT_KAFKA = "127.0.0.1:9092";
  /** Default Redis seed nodes: the local stack. */
  public static final List<String> DEFAULT_REDIS_NODES = List.of("127.0.0.1:7000", "127.0.0.1:7001",
      "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004", "127.0.0.1:7005");
  /** Default topics: CDC changes and application writes. */
  public static final String DEFAULT_TOPICS = "freshcache.changes,freshcache.writes";
  /** Default dead-letter topic. */
  public static final String DEFAULT_DLQ_TOPIC = "freshcache.dlq";
  /** Default consumer group. */
  public static final String DEFAULT_GROUP_ID = "freshcache-writer";
  /** Default batch size. */
  public static final int DEFAULT_BATCH_SIZE = 500;
  /** Default fence lifetime: 24 h. */
  public static final Duration DEFAULT_FENCE_TTL = Duration.ofHours(24);
  /** Default Redis command timeout: 2 s. */
  public static final Duration DEFAULT_REDIS_TIMEOUT = Duration.ofSeconds(2);
  /** Default Kafka session timeout: 10 s. */
  public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);
  /** Default payload limit: 1 MiB, Kafka's default record limit. */
  public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;
  /** Default HTTP port of {@code /health} and {@code /metrics}. */
  public static final int DEFAULT_HTTP_PORT = 8081;
  /** Default replica acknowledgements per touched master: 1, capped at the replicas attached. */
  public static final int DEFAULT_REPLICA_ACKS = 1;
  /** Default wait for replica acknowledgements: 1 s. */
  public static final Duration DEFAULT_REPLICA_ACK_TIMEOUT = Duration.ofSeconds(1);
  /** Default bound on the age of a fetched, unapplied event before the worker is reported down: 30 s. */
  public static final Duration DEFAULT_MAX_UNAPPLIED_AGE = Duration.ofSeconds(30);

  /**
   * Validates the settings; {@code redisNodes} and {@code topics} are copied.
   *
   * @param kafkaBootstrapServers Kafka bootstrap servers; not null or blank (the form is left to
   *     the Kafka client)
   * @param redisNodes seed nodes, at least one; each {@code host:port} with a port of 1 to 5
   *     digits; not null and without null elements
   * @param redisPassword the Redis password, or {@code null} for none
   * @param topics the topics to consume, at least one; not null and without null elements
   * @param dlqTopic the dead-letter topic; not null and not one of {@code topics}
   * @param groupId the consumer group; not null or blank
   * @param batchSize 1..100000
   * @param fenceTtl at least 1 s; not null
   * @param redisTimeout at least 1 ms; not null
   * @param sessionTimeout 1 s..1 h; not null (the broker's own limits apply on top)
   * @param maxPayloadBytes 1..67108864 (64 MiB)
   * @param httpPort 0..65535; 0 serves nothing
   * @param replicaAcks 0..16; 0 waits for no replica
   * @param replicaAckTimeout at least 1 ms and, when {@code replicaAcks} is positive, shorter
   *     than {@code redisTimeout} (else the command would time out first); not null
   * @param maxUnappliedAge at least 1 s; not null
   * @param sink the write-behind sink, or {@code null} for none; its topic must not be
   *     {@code dlqTopic}
   * @throws IllegalArgumentException naming the setting and the bad value
   * @throws NullPointerException if a setting other than {@code redisPassword} or {@code sink} is
   *     null, or a list contains null
   */
  public CacheWriterConfig {
    Objects.requireNonNull(kafkaBootstrapServers, "kafkaBootstrapServers");
    Objects.requireNonNull(redisNodes, "redisNodes");
    Objects.requireNonNull(topics, "topics");
    Objects.requireNonNull(dlqTopic, "dlqTopic");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(fenceTtl, "fenceTtl");
    Objects.requireNonNull(redisTimeout, "redisTimeout");
    Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    Objects.requireNonNull(replicaAckTimeout, "replicaAckTimeout");
    Objects.requireNonNull(maxUnappliedAge, "maxUnappliedAge");
    if (kafkaBootstrapServers.isBlank()) {
      throw new IllegalArgumentException("kafkaBootstrapServers must not be blank");
    }
    redisNodes = List.copyOf(redisNodes);
    topics = List.copyOf(topics);
    if (redisNodes.isEmpty()) {
      throw new IllegalArgumentException("redisNodes must name at least one host:port");
    }
    for (String n : redisNodes) {
      int colon = n.lastIndexOf(':');
      if (colon <= 0 || !n.substring(colon + 1).matches("\\d{1,5}")
          || Integer.parseInt(n.substring(colon + 1)) < 1 || Integer.parseInt(n.substring(colon + 1)) > 65_535) {
        throw new IllegalArgumentException("redis node must be host:port with a port in 1..65535 but was '"
            + n + "'");
      }
    }
    if (topics.isEmpty()) {
      throw new IllegalArgumentException("topics must name at least one topic");
    }
    if (dlqTopic.isBlank() || topics.stream().anyMatch(String::isBlank)) {
      throw new IllegalArgumentException("topic names must not be blank but were " + topics
          + " and dlqTopic '" + dlqTopic + "'");
    }
    if (topics.contains(dlqTopic)) {
      throw new IllegalArgumentException("dlqTopic must not be one of the consumed topics but was '"
          + dlqTopic + "'");
    }
    if (groupId.isBlank()) {
      throw new IllegalArgumentException("groupId must not be blank");
    }
    if (batchSize < 1 || batchSize > 100_000) {
      throw new IllegalArgumentException("batchSize must be in 1..100000 but was " + batchSize);
    }
    if (fenceTtl.toMillis() < 1000) {
      throw new IllegalArgumentException("fenceTtl must be at least 1 s but was " + fenceTtl);
    }
    if (redisTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("redisTimeout must be positive but was " + redisTimeout);
    }
    if (sessionTimeout.toMillis() < 1000 || sessionTimeout.toMillis() > 3_600_000) {
      throw new IllegalArgumentException("sessionTimeout must be in 1 s..1 h but was " + sessionTimeout);
    }
    if (maxPayloadBytes < 1 || maxPayloadBytes > 64 << 20) {
      throw new IllegalArgumentException("maxPayloadBytes must be in 1..67108864 but was " + maxPayloadBytes);
    }
    if (httpPort < 0 || httpPort > 65_535) {
      throw new IllegalArgumentException("httpPort must be in 0..65535 but was " + httpPort);
    }
    if (replicaAcks < 0 || replicaAcks > 16) {
      throw new IllegalArgumentException("replicaAcks must be in 0..16 but was " + replicaAcks);
    }
    if (replicaAckTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("replicaAckTimeout must be at least 1 ms but was " + replicaAckTimeout);
    }
    if (replicaAcks > 0 && replicaAckTimeout.compareTo(redisTimeout) >= 0) {
      throw new IllegalArgumentException("replicaAckTimeout must be shorter than redisTimeout (" + redisTimeout
          + ") but was " + replicaAckTimeout);
    }
    if (maxUnappliedAge.toMillis() < 1000) {
      throw new IllegalArgumentException("maxUnappliedAge must be at least 1 s but was " + maxUnappliedAge);
    }
    if (sink != null && (sink.topic().equals(dlqTopic))) {
      throw new IllegalArgumentException("sink topic must not be the dead-letter topic but was '"
          + sink.topic() + "'");
    }
  }

  /**
   * @return the Redis connection part (derived from the flat settings until the configuration
   *     model is converted)
   */
  public io.freshcache.protocol.config.RedisConnectionConfig redis() {
    return io.freshcache.protocol.config.RedisConnectionConfig.builder().nodes(redisNodes)
        .password(redisPassword).commandTimeout(redisTimeout)
        .connectTimeout(java.time.Duration.ofSeconds(2)).build();
  }

  /** @return the default settings (the local stack) */
  public static CacheWriterConfig defaults() {
    return fromEnv(Map.of());
  }

  /**
   * Reads the settings from the process environment; see {@link #fromEnv(Map)}.
   *
   * @return the validated settings
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CacheWriterConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /**
   * Reads the settings from {@code env}; see the table above. An unset variable takes its
   * default, and so does a blank one, except that {@code KAFKA_BOOTSTRAP_SERVERS},
   * {@code WRITER_GROUP_ID}, {@code WRITER_DLQ_TOPIC} and {@code WRITER_SINK_TOPIC} are taken as
   * given when set, and only an empty {@code REDIS_PASSWORD} means none.
   *
   * @param env variable name to value, e.g. {@link System#getenv()}; not null
   * @return the validated settings
   * @throws IllegalArgumentException naming the variable and its bad value; a value that parses
   *     but breaks a rule of the record (e.g. {@code WRITER_FENCE_TTL_MS} under 1000) is reported
   *     with the prefix {@code cache-writer configuration:} and the setting's name instead
   * @throws NullPointerException if {@code env} is null
   */
  public static CacheWriterConfig fromEnv(Map<String, String> env) {
    try {
      return new CacheWriterConfig(
          env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA),
          list(env, "REDIS_NODES", DEFAULT_REDIS_NODES),
          blankToNull(env.get("REDIS_PASSWORD")),
          list(env, "WRITER_TOPICS", List.of(DEFAULT_TOPICS.split(","))),
          env.getOrDefault("WRITER_DLQ_TOPIC", DEFAULT_DLQ_TOPIC),
          env.getOrDefault("WRITER_GROUP_ID", DEFAULT_GROUP_ID),
          (int) positive(env, "WRITER_BATCH_SIZE", DEFAULT_BATCH_SIZE, 100_000),
          Duration.ofMillis(number(env, "WRITER_FENCE_TTL_MS", DEFAULT_FENCE_TTL.toMillis())),
          Duration.ofMillis(number(env, "WRITER_REDIS_TIMEOUT_MS", DEFAULT_REDIS_TIMEOUT.toMillis())),
          Duration.ofMillis(positive(env, "WRITER_SESSION_TIMEOUT_MS", DEFAULT_SESSION_TIMEOUT.toMillis(), 3_600_000)),
          (int) positive(env, "WRITER_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD_BYTES, 64 << 20),
          port(env, "WRITER_HTTP_PORT", DEFAULT_HTTP_PORT),
          (int) nonNegative(env, "WRITER_REPLICA_ACKS", DEFAULT_REPLICA_ACKS, 16),
          Duration.ofMillis(number(env, "WRITER_REPLICA_ACK_TIMEOUT_MS", DEFAULT_REPLICA_ACK_TIMEOUT.toMillis())),
          Duration.ofMillis(number(env, "WRITER_MAX_UNAPPLIED_AGE_MS", DEFAULT_MAX_UNAPPLIED_AGE.toMillis())),
          WriteBehindConfig.fromEnv(env));
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().matches("^[A-Z_]+: .*")) {
        throw e;
      }
      throw new IllegalArgumentException("cache-writer configuration: " + e.getMessage(), e);
    }
  }

  /**
   * @param newGroupId the consumer group; not null or blank
   * @return this config with another consumer group
   * @throws IllegalArgumentException if {@code newGroupId} is blank
   * @throws NullPointerException if {@code newGroupId} is null
   */
  public CacheWriterConfig withGroupId(String newGroupId) {
    return toBuilder().groupId(newGroupId).build();
  }

  /**
   * @param newTopics the topics to consume, at least one
   * @param newDlqTopic the dead-letter topic, not one of {@code newTopics} and not the sink's
   *     topic
   * @return this config consuming other topics
   * @throws IllegalArgumentException if {@code newTopics} is empty, or {@code newDlqTopic} is
   *     one of them or the sink's topic
   * @throws NullPointerException if an argument is null
   */
  public CacheWriterConfig withTopics(List<String> newTopics, String newDlqTopic) {
    return toBuilder().topics(newTopics).dlqTopic(newDlqTopic).build();
  }

  /**
   * @return a builder starting from {@link #defaults()}: the local stack, without a sink; the
   *     process environment is not read
   */
  public static Builder builder() {
    return defaults().toBuilder();
  }

  /** @return a builder starting from this config */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Builds a {@link CacheWriterConfig}. The setters take any value; {@link #build()} validates
   * (see the record's constructor for the rules). Not thread-safe.
   */
  public static final class Builder {
    private String kafkaBootstrapServers;
    private List<String> redisNodes;
    private String redisPassword;
    private List<String> topics;
    private String dlqTopic;
    private String groupId;
    private int batchSize;
    private Duration fenceTtl;
    private Duration redisTimeout;
    private Duration sessionTimeout;
    private int maxPayloadBytes;
    private int httpPort;
    private int replicaAcks;
    private Duration replicaAckTimeout;
    private Duration maxUnappliedAge;
    private WriteBehindConfig sink;

    private Builder(CacheWriterConfig c) {
      kafkaBootstrapServers = c.kafkaBootstrapServers;
      redisNodes = c.redisNodes;
      redisPassword = c.redisPassword;
      topics = c.topics;
      dlqTopic = c.dlqTopic;
      groupId = c.groupId;
      batchSize = c.batchSize;
      fenceTtl = c.fenceTtl;
      redisTimeout = c.redisTimeout;
      sessionTimeout = c.sessionTimeout;
      maxPayloadBytes = c.maxPayloadBytes;
      httpPort = c.httpPort;
      replicaAcks = c.replicaAcks;
      replicaAckTimeout = c.replicaAckTimeout;
      maxUnappliedAge = c.maxUnappliedAge;
      sink = c.sink;
    }

    /**
     * @param v Kafka bootstrap servers
     * @return this builder
     */
    public Builder kafkaBootstrapServers(String v) {
      kafkaBootstrapServers = v;
      return this;
    }

    /**
     * @param v Redis seed nodes as {@code host:port}, at least one
     * @return this builder
     */
    public Builder redisNodes(List<String> v) {
      redisNodes = v;
      return this;
    }

    /**
     * @param v Redis password, or {@code null} for none
     * @return this builder
     */
    public Builder redisPassword(String v) {
      redisPassword = v;
      return this;
    }

    /**
     * @param v topics to consume, at least one
     * @return this builder
     */
    public Builder topics(List<String> v) {
      topics = v;
      return this;
    }

    /**
     * @param v dead-letter topic, not one of the consumed topics
     * @return this builder
     */
    public Builder dlqTopic(String v) {
      dlqTopic = v;
      return this;
    }

    /**
     * @param v consumer group, not blank
     * @return this builder
     */
    public Builder groupId(String v) {
      groupId = v;
      return this;
    }

    /**
     * @param v most records per batch, 1..100000 (default
     *     {@value CacheWriterConfig#DEFAULT_BATCH_SIZE})
     * @return this builder
     */
    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    /**
     * @param v fence lifetime, at least 1 s (default 24 h)
     * @return this builder
     */
    public Builder fenceTtl(Duration v) {
      fenceTtl = v;
      return this;
    }

    /**
     * @param v Redis command timeout, at least 1 ms (default 2 s)
     * @return this builder
     */
    public Builder redisTimeout(Duration v) {
      redisTimeout = v;
      return this;
    }

    /**
     * @param v Kafka group session timeout, 1 s..1 h (default 10 s)
     * @return this builder
     */
    public Builder sessionTimeout(Duration v) {
      sessionTimeout = v;
      return this;
    }

    /**
     * @param v largest upsert payload applied, bytes, 1..67108864 (default 1 MiB)
     * @return this builder
     */
    public Builder maxPayloadBytes(int v) {
      maxPayloadBytes = v;
      return this;
    }

    /**
     * @param v HTTP port, 0..65535, 0 for none (default
     *     {@value CacheWriterConfig#DEFAULT_HTTP_PORT})
     * @return this builder
     */
    public Builder httpPort(int v) {
      httpPort = v;
      return this;
    }

    /**
     * @param v replicas that must acknowledge a batch's applies on each touched master, 0..16,
     *     capped at the replicas attached; 0 for none (default
     *     {@value CacheWriterConfig#DEFAULT_REPLICA_ACKS})
     * @return this builder
     */
    public Builder replicaAcks(int v) {
      replicaAcks = v;
      return this;
    }

    /**
     * @param v how long a batch waits for replica acknowledgements, shorter than the Redis
     *     timeout (default 1 s)
     * @return this builder
     */
    public Builder replicaAckTimeout(Duration v) {
      replicaAckTimeout = v;
      return this;
    }

    /**
     * @param v how long a fetched event may stay unapplied before health reports the worker
     *     down, at least 1 s (default 30 s)
     * @return this builder
     */
    public Builder maxUnappliedAge(Duration v) {
      maxUnappliedAge = v;
      return this;
    }

    /**
     * @param v write-behind sink settings, or {@code null} for none
     * @return this builder
     */
    public Builder sink(WriteBehindConfig v) {
      sink = v;
      return this;
    }

    /**
     * @return the validated config
     * @throws IllegalArgumentException naming the bad setting and its value
     * @throws NullPointerException if a required setting was set to null, or a list contains
     *     null
     */
    public CacheWriterConfig build() {
      return new CacheWriterConfig(kafkaBootstrapServers, redisNodes, redisPassword, topics, dlqTopic,
          groupId, batchSize, fenceTtl, redisTimeout, sessionTimeout, maxPayloadBytes, httpPort, replicaAcks,
          replicaAckTimeout, maxUnappliedAge, sink);
    }
  }

  /** @return every setting, the Redis password masked and the sink's password too */
  @Override
  public String toString() {
    return "CacheWriterConfig[kafka=" + kafkaBootstrapServers + ", redisNodes=" + redisNodes
        + ", redisPassword=" + (redisPassword == null ? "none" : "****") + ", topics=" + topics
        + ", dlqTopic=" + dlqTopic + ", groupId=" + groupId + ", batchSize=" + batchSize
        + ", fenceTtl=" + fenceTtl + ", redisTimeout=" + redisTimeout + ", sessionTimeout=" + sessionTimeout
        + ", maxPayloadBytes="
        + maxPayloadBytes + ", httpPort=" + httpPort + ", replicaAcks=" + replicaAcks
        + ", replicaAckTimeout=" + replicaAckTimeout + ", maxUnappliedAge=" + maxUnappliedAge
        + ", sink=" + (sink == null ? "off" : sink) + "]";
  }

  private static List<String> list(Map<String, String> env, String name, List<String> dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    List<String> out = new ArrayList<>();
    for (String s : v.split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim());
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(name + ": must list at least one value but was '" + v + "'");
    }
    return out;
  }

  private static long number(Map<String, String> env, String name, long dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n <= 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": must be a positive integer but was '" + v + "'", e);
    }
  }

  private static long nonNegative(Map<String, String> env, String name, long dflt, long max) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n < 0 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": must be an integer in 0.." + max + " but was '" + v + "'", e);
    }
  }

  static long positive(Map<String, String> env, String name, long dflt, long max) {
    long n = number(env, name, dflt);
    if (n > max) {
      throw new IllegalArgumentException(name + ": must be at most " + max + " but was '" + env.get(name) + "'");
    }
    return n;
  }

  private static int port(Map<String, String> env, String name, int dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n < 0 || n > 65_535) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": must be a port in 0..65535 but was '" + v + "'", e);
    }
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
