package io.freshcache.writer;

import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.writer.internal.WriterKafkaProperties;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link CacheWriter}: immutable, built by a validating {@link Builder}
 * ({@link #builder()}, {@link #toBuilder()}) or read by {@link #fromEnv()}, which fails fast with
 * a {@link ConfigException} naming the variable and its bad value.
 *
 * <p>The settings come in parts: the Redis connection ({@link #redis()}, a
 * {@link RedisConnectionConfig}: {@code REDIS_*}, with the writer's command timeout of
 * {@value #DEFAULT_REDIS_TIMEOUT_MS} ms and connect timeout of {@value #DEFAULT_CONNECT_TIMEOUT_MS}
 * ms), Kafka ({@link #kafka()}, a {@link KafkaClientConfig}: {@code KAFKA_BOOTSTRAP_SERVERS} and the
 * pass-through {@code KAFKA_*} client properties, applied to the writer's consumer, its
 * dead-letter producer, the health probe and the sink's consumer; {@code group.id},
 * {@code enable.auto.commit}, {@code auto.offset.reset}, {@code acks}, {@code enable.idempotence}
 * and the (de)serializers are reserved), the apply settings below, and
 * the write-behind sink ({@link #sink()}, a {@link WriteBehindConfig}). Every variable, with the
 * shared rules ({@code _FILE} secrets, durations with units), is described in
 * {@code docs/configuration.md}.
 *
 * <table>
 *   <caption>Environment variables of the writer's own settings</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code REDIS_*}</td><td>{@link #redis()}; {@code REDIS_NODES} is required</td>
 *       <td>command timeout {@value #DEFAULT_REDIS_TIMEOUT_MS} ms</td></tr>
 *   <tr><td>{@code WRITER_REDIS_TIMEOUT_MS}</td><td>the writer's Redis command timeout; when set
 *       it wins over {@code REDIS_COMMAND_TIMEOUT_MS} (so one environment can give the client and
 *       the writer different timeouts)</td><td>{@code REDIS_COMMAND_TIMEOUT_MS}, else
 *       {@value #DEFAULT_REDIS_TIMEOUT_MS} ms</td></tr>
 *   <tr><td>{@code KAFKA_BOOTSTRAP_SERVERS}, {@code KAFKA_*}</td><td>{@link #kafka()}</td>
 *       <td>{@value KafkaClientConfig#DEFAULT_BOOTSTRAP_SERVERS}</td></tr>
 *   <tr><td>{@code WRITER_TOPICS}</td><td>comma-separated topics to apply</td><td>{@value #DEFAULT_TOPICS}</td></tr>
 *   <tr><td>{@code WRITER_DLQ_TOPIC}</td><td>dead-letter topic</td><td>{@value #DEFAULT_DLQ_TOPIC}</td></tr>
 *   <tr><td>{@code WRITER_GROUP_ID}</td><td>consumer group</td><td>{@value #DEFAULT_GROUP_ID}</td></tr>
 *   <tr><td>{@code WRITER_BATCH_SIZE}</td><td>max records per poll and apply batch</td><td>{@value #DEFAULT_BATCH_SIZE}</td></tr>
 *   <tr><td>{@code WRITER_FENCE_TTL_MS}</td><td>lifetime of version fences; longer than the
 *       longest cache TTL</td><td>24 h</td></tr>
 *   <tr><td>{@code WRITER_SESSION_TIMEOUT_MS}</td><td>Kafka group session timeout: how soon
 *       the partitions of a crashed worker move to the others (the broker allows 6000..300000
 *       ms by default)</td><td>10 s</td></tr>
 *   <tr><td>{@code WRITER_MAX_PAYLOAD_BYTES}</td><td>largest upsert payload applied; a larger one is
 *       dead-lettered and its key invalidated</td><td>{@value #DEFAULT_MAX_PAYLOAD_BYTES}</td></tr>
 *   <tr><td>{@code WRITER_HTTP_PORT}</td><td>port of {@code /health} and {@code /metrics}; 0 turns
 *       HTTP off</td><td>{@value #DEFAULT_HTTP_PORT}</td></tr>
 *   <tr><td>{@code WRITER_REPLICA_ACKS}</td><td>replicas that must acknowledge a batch's applies
 *       (Redis {@code WAIT}) on every master it touched before its offsets are committed, capped
 *       at the replicas attached to that master; 0 turns it off</td><td>{@value #DEFAULT_REPLICA_ACKS}</td></tr>
 *   <tr><td>{@code WRITER_REPLICA_ACK_TIMEOUT_MS}</td><td>how long a batch waits for those
 *       acknowledgements before it fails and is retried; shorter than the Redis command
 *       timeout</td><td>1 s</td></tr>
 *   <tr><td>{@code WRITER_MAX_UNAPPLIED_AGE_MS}</td><td>{@code /health} and {@code /health/ready}
 *       report the worker down while an event it fetched stays unapplied longer than this</td><td>30 s</td></tr>
 *   <tr><td>{@code WRITER_SINK_*}</td><td>the write-behind sink, see {@link WriteBehindConfig}</td><td>off</td></tr>
 * </table>
 */
public final class CacheWriterConfig {
  /** Default Redis command timeout of the writer, ms. */
  public static final long DEFAULT_REDIS_TIMEOUT_MS = 2000;
  /** Default Redis command timeout: {@value #DEFAULT_REDIS_TIMEOUT_MS} ms. */
  public static final Duration DEFAULT_REDIS_TIMEOUT = Duration.ofMillis(DEFAULT_REDIS_TIMEOUT_MS);
  /** Default Redis connect timeout of the writer, ms. */
  public static final long DEFAULT_CONNECT_TIMEOUT_MS = 2000;
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

  private final RedisConnectionConfig redis;
  private final KafkaClientConfig kafka;
  private final List<String> topics;
  private final String dlqTopic;
  private final String groupId;
  private final int batchSize;
  private final Duration fenceTtl;
  private final Duration sessionTimeout;
  private final int maxPayloadBytes;
  private final int httpPort;
  private final int replicaAcks;
  private final Duration replicaAckTimeout;
  private final Duration maxUnappliedAge;
  private final WriteBehindConfig sink;

  private CacheWriterConfig(Builder b, RedisConnectionConfig redis) {
    this.redis = redis;
    this.kafka = b.kafka;
    this.topics = List.copyOf(b.topics);
    this.dlqTopic = b.dlqTopic;
    this.groupId = b.groupId;
    this.batchSize = b.batchSize;
    this.fenceTtl = b.fenceTtl;
    this.sessionTimeout = b.sessionTimeout;
    this.maxPayloadBytes = b.maxPayloadBytes;
    this.httpPort = b.httpPort;
    this.replicaAcks = b.replicaAcks;
    this.replicaAckTimeout = b.replicaAckTimeout;
    this.maxUnappliedAge = b.maxUnappliedAge;
    this.sink = b.sink;
  }

  /**
   * @return a builder with every setting at its default and no sink; the Redis nodes must be set
   *     ({@link Builder#redis} or {@link Builder#redisNodes})
   */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder starting from this config */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.redis = redis.toBuilder();
    b.kafka = kafka;
    b.topics = topics;
    b.dlqTopic = dlqTopic;
    b.groupId = groupId;
    b.batchSize = batchSize;
    b.fenceTtl = fenceTtl;
    b.sessionTimeout = sessionTimeout;
    b.maxPayloadBytes = maxPayloadBytes;
    b.httpPort = httpPort;
    b.replicaAcks = replicaAcks;
    b.replicaAckTimeout = replicaAckTimeout;
    b.maxUnappliedAge = maxUnappliedAge;
    b.sink = sink;
    return b;
  }

  /**
   * Reads the settings from the process environment; see {@link #fromEnv(EnvSettings)}.
   *
   * @return the validated settings
   * @throws ConfigException naming the variable and its bad value
   */
  public static CacheWriterConfig fromEnv() {
    return fromEnv(EnvSettings.system());
  }

  /**
   * Reads the settings from {@code env}; see {@link #fromEnv(EnvSettings)}.
   *
   * @param env variable name to value, e.g. {@link System#getenv()}; not null
   * @return the validated settings
   * @throws ConfigException naming the variable and its bad value
   */
  public static CacheWriterConfig fromEnv(Map<String, String> env) {
    return fromEnv(EnvSettings.of(env));
  }

  /**
   * Reads the settings through the shared reader; see the table above. An unset or blank
   * variable takes its default.
   *
   * @param env the environment
   * @return the validated settings
   * @throws ConfigException naming the variable and its bad value; a value that parses but
   *     breaks a rule of the combination (e.g. {@code WRITER_REPLICA_ACK_TIMEOUT_MS} not shorter
   *     than the Redis timeout) names the settings instead
   */
  public static CacheWriterConfig fromEnv(EnvSettings env) {
    Builder b = builder();
    RedisConnectionConfig.Builder redis = RedisConnectionConfig.builder().commandTimeout(DEFAULT_REDIS_TIMEOUT)
        .connectTimeout(Duration.ofMillis(DEFAULT_CONNECT_TIMEOUT_MS));
    b.redis(RedisConnectionConfig.fromEnv(env, redis));
    env.duration("WRITER_REDIS_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::redisTimeout);
    b.kafka(KafkaClientConfig.fromEnv(env, null));
    env.list("WRITER_TOPICS").ifPresent(t -> {
      if (t.isEmpty()) {
        throw ConfigException.invalid("WRITER_TOPICS", String.join(",", t), "one or more topics");
      }
      b.topics(t);
    });
    env.string("WRITER_DLQ_TOPIC").ifPresent(b::dlqTopic);
    env.string("WRITER_GROUP_ID").ifPresent(b::groupId);
    env.integer("WRITER_BATCH_SIZE", 1, 100_000).ifPresent(b::batchSize);
    env.duration("WRITER_FENCE_TTL_MS", ChronoUnit.MILLIS, Duration.ofSeconds(1)).ifPresent(b::fenceTtl);
    env.duration("WRITER_SESSION_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofSeconds(1)).ifPresent(d -> {
      if (d.compareTo(Duration.ofHours(1)) > 0) {
        throw ConfigException.invalid("WRITER_SESSION_TIMEOUT_MS", env.string("WRITER_SESSION_TIMEOUT_MS").get(),
            "a duration in 1 s..1 h");
      }
      b.sessionTimeout(d);
    });
    env.integer("WRITER_MAX_PAYLOAD_BYTES", 1, 64 << 20).ifPresent(b::maxPayloadBytes);
    env.integer("WRITER_HTTP_PORT", 0, 65_535).ifPresent(b::httpPort);
    env.integer("WRITER_REPLICA_ACKS", 0, 16).ifPresent(b::replicaAcks);
    env.duration("WRITER_REPLICA_ACK_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::replicaAckTimeout);
    env.duration("WRITER_MAX_UNAPPLIED_AGE_MS", ChronoUnit.MILLIS, Duration.ofSeconds(1)).ifPresent(b::maxUnappliedAge);
    b.sink(WriteBehindConfig.fromEnv(env));
    return b.build();
  }

  /**
   * @param newGroupId the consumer group; not blank
   * @return this config with another consumer group
   * @throws ConfigException if {@code newGroupId} is blank
   */
  public CacheWriterConfig withGroupId(String newGroupId) {
    return toBuilder().groupId(newGroupId).build();
  }

  /**
   * @param newTopics the topics to consume, at least one
   * @param newDlqTopic the dead-letter topic, not one of {@code newTopics} and not the sink's topic
   * @return this config consuming other topics
   * @throws ConfigException if {@code newTopics} is empty, or {@code newDlqTopic} is one of them
   *     or the sink's topic
   */
  public CacheWriterConfig withTopics(List<String> newTopics, String newDlqTopic) {
    return toBuilder().topics(newTopics).dlqTopic(newDlqTopic).build();
  }

  /** @return how the writer connects to Redis; {@code redis().commandTimeout()} is the writer's Redis timeout */
  public RedisConnectionConfig redis() {
    return redis;
  }

  /** @return Kafka: bootstrap servers and the pass-through client properties */
  public KafkaClientConfig kafka() {
    return kafka;
  }

  /** @return the topics to consume, at least one */
  public List<String> topics() {
    return topics;
  }

  /** @return where undecodable or invalid events go */
  public String dlqTopic() {
    return dlqTopic;
  }

  /** @return the consumer group; workers with one group share the partitions */
  public String groupId() {
    return groupId;
  }

  /** @return the most records applied in one pipelined batch */
  public int batchSize() {
    return batchSize;
  }

  /** @return how long a version fence is kept; replays from further back can resurrect old upserts */
  public Duration fenceTtl() {
    return fenceTtl;
  }

  /** @return the Kafka group session timeout; a crashed worker's partitions move after it */
  public Duration sessionTimeout() {
    return sessionTimeout;
  }

  /** @return the largest upsert payload applied; a larger one is dead-lettered and its key invalidated */
  public int maxPayloadBytes() {
    return maxPayloadBytes;
  }

  /** @return the port {@link CacheWriterMain} serves {@code /health} and {@code /metrics} on, 0 for none */
  public int httpPort() {
    return httpPort;
  }

  /**
   * @return how many replicas must acknowledge a batch's applies on each master it touched before
   *     its offsets are committed (Redis {@code WAIT} on the connection that carried them), at most
   *     the replicas attached to that master at the time; 0 for none. So that an apply acknowledged
   *     by a master that dies at once is not lost with it: the promoted replica has it, or the batch
   *     was not committed and is applied again
   */
  public int replicaAcks() {
    return replicaAcks;
  }

  /** @return how long a batch waits for the replicas' acknowledgement before it fails and is retried */
  public Duration replicaAckTimeout() {
    return replicaAckTimeout;
  }

  /**
   * @return how long a fetched event may stay unapplied before {@link CacheWriter#health()} reports
   *     the worker not up (a stuck worker: Redis unreachable, a shard without a master)
   */
  public Duration maxUnappliedAge() {
    return maxUnappliedAge;
  }

  /** @return the write-behind sink, or {@code null} for none */
  public WriteBehindConfig sink() {
    return sink;
  }

  /** @return every setting; the Redis password, Kafka secrets and the sink's password masked */
  @Override
  public String toString() {
    return "CacheWriterConfig[redis=" + redis + ", kafka=" + kafka + ", topics=" + topics
        + ", dlqTopic=" + dlqTopic + ", groupId=" + groupId + ", batchSize=" + batchSize
        + ", fenceTtl=" + fenceTtl + ", sessionTimeout=" + sessionTimeout + ", maxPayloadBytes="
        + maxPayloadBytes + ", httpPort=" + httpPort + ", replicaAcks=" + replicaAcks
        + ", replicaAckTimeout=" + replicaAckTimeout + ", maxUnappliedAge=" + maxUnappliedAge
        + ", sink=" + (sink == null ? "off" : sink) + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheWriterConfig c && toString().equals(c.toString()) && redis.equals(c.redis)
        && kafka.equals(c.kafka) && Objects.equals(sink, c.sink);
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /**
   * Builds a {@link CacheWriterConfig}. The setters take any value; {@link #build()} validates and
   * throws a {@link ConfigException} naming the setting and the bad value. Not thread-safe.
   */
  public static final class Builder {
    private RedisConnectionConfig.Builder redis = RedisConnectionConfig.builder()
        .commandTimeout(DEFAULT_REDIS_TIMEOUT).connectTimeout(Duration.ofMillis(DEFAULT_CONNECT_TIMEOUT_MS));
    private KafkaClientConfig kafka = KafkaClientConfig.builder().build();
    private List<String> topics = List.of(DEFAULT_TOPICS.split(","));
    private String dlqTopic = DEFAULT_DLQ_TOPIC;
    private String groupId = DEFAULT_GROUP_ID;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Duration fenceTtl = DEFAULT_FENCE_TTL;
    private Duration sessionTimeout = DEFAULT_SESSION_TIMEOUT;
    private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
    private int httpPort = DEFAULT_HTTP_PORT;
    private int replicaAcks = DEFAULT_REPLICA_ACKS;
    private Duration replicaAckTimeout = DEFAULT_REPLICA_ACK_TIMEOUT;
    private Duration maxUnappliedAge = DEFAULT_MAX_UNAPPLIED_AGE;
    private WriteBehindConfig sink;

    private Builder() {}

    /**
     * @param v the Redis part; replaces every Redis setting made before (the {@code redis*}
     *     setters below change it afterwards)
     * @return this builder
     */
    public Builder redis(RedisConnectionConfig v) {
      redis = Objects.requireNonNull(v, "redis").toBuilder();
      return this;
    }

    /** @param v Redis nodes as {@code host:port}; sets the Redis part's nodes @return this builder */
    public Builder redisNodes(List<String> v) {
      redis.nodes(v);
      return this;
    }

    /** @param v Redis password, or {@code null} for none; sets the Redis part's password @return this builder */
    public Builder redisPassword(String v) {
      redis.password(v);
      return this;
    }

    /**
     * @param v Redis command timeout, positive (default {@value CacheWriterConfig#DEFAULT_REDIS_TIMEOUT_MS}
     *     ms); sets the Redis part's command timeout
     * @return this builder
     */
    public Builder redisTimeout(Duration v) {
      redis.commandTimeout(v);
      return this;
    }

    /** @param v the Kafka part, not null @return this builder */
    public Builder kafka(KafkaClientConfig v) {
      kafka = v;
      return this;
    }

    /**
     * @param v Kafka bootstrap servers, keeping the pass-through properties of the Kafka part
     * @return this builder
     * @throws ConfigException if {@code v} is not a {@code host:port} list
     */
    public Builder kafkaBootstrapServers(String v) {
      kafka = kafka.toBuilder().bootstrapServers(v).build();
      return this;
    }

    /** @param v topics to consume, at least one @return this builder */
    public Builder topics(List<String> v) {
      topics = v;
      return this;
    }

    /** @param v dead-letter topic, not one of the consumed topics @return this builder */
    public Builder dlqTopic(String v) {
      dlqTopic = v;
      return this;
    }

    /** @param v consumer group, not blank @return this builder */
    public Builder groupId(String v) {
      groupId = v;
      return this;
    }

    /** @param v most records per batch, 1..100000 (default {@value CacheWriterConfig#DEFAULT_BATCH_SIZE}) @return this builder */
    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    /** @param v fence lifetime, at least 1 s (default 24 h) @return this builder */
    public Builder fenceTtl(Duration v) {
      fenceTtl = v;
      return this;
    }

    /** @param v Kafka group session timeout, 1 s..1 h (default 10 s) @return this builder */
    public Builder sessionTimeout(Duration v) {
      sessionTimeout = v;
      return this;
    }

    /** @param v largest upsert payload applied, bytes, 1..67108864 (default 1 MiB) @return this builder */
    public Builder maxPayloadBytes(int v) {
      maxPayloadBytes = v;
      return this;
    }

    /** @param v HTTP port, 0..65535, 0 for none (default {@value CacheWriterConfig#DEFAULT_HTTP_PORT}) @return this builder */
    public Builder httpPort(int v) {
      httpPort = v;
      return this;
    }

    /**
     * @param v replicas that must acknowledge a batch's applies on each touched master, 0..16,
     *     capped at the replicas attached; 0 for none (default {@value CacheWriterConfig#DEFAULT_REPLICA_ACKS})
     * @return this builder
     */
    public Builder replicaAcks(int v) {
      replicaAcks = v;
      return this;
    }

    /**
     * @param v how long a batch waits for replica acknowledgements, at least 1 ms and shorter than
     *     the Redis timeout when {@code replicaAcks} is positive (default 1 s)
     * @return this builder
     */
    public Builder replicaAckTimeout(Duration v) {
      replicaAckTimeout = v;
      return this;
    }

    /** @param v how long a fetched event may stay unapplied before health reports the worker down, at least 1 s (default 30 s) @return this builder */
    public Builder maxUnappliedAge(Duration v) {
      maxUnappliedAge = v;
      return this;
    }

    /** @param v write-behind sink settings, or {@code null} for none (the default) @return this builder */
    public Builder sink(WriteBehindConfig v) {
      sink = v;
      return this;
    }

    /**
     * @return the validated config
     * @throws ConfigException naming the bad setting and its value
     */
    public CacheWriterConfig build() {
      RedisConnectionConfig r = redis.build();
      if (kafka == null) {
        throw ConfigException.invalid("kafka", null, "Kafka settings");
      }
      // a reserved KAFKA_* property fails here, at start, not when a client is created
      kafka.apply(Map.of(), WriterKafkaProperties.CONSUMER_RESERVED);
      kafka.apply(Map.of(), WriterKafkaProperties.PRODUCER_RESERVED);
      if (topics == null || topics.isEmpty() || topics.stream().anyMatch(t -> t == null || t.isBlank())) {
        throw ConfigException.invalid("topics", topics, "one or more topic names");
      }
      if (dlqTopic == null || dlqTopic.isBlank()) {
        throw ConfigException.invalid("dlqTopic", dlqTopic, "a topic name");
      }
      if (topics.contains(dlqTopic)) {
        throw ConfigException.invalid("dlqTopic", dlqTopic, "a topic other than the consumed " + topics);
      }
      if (groupId == null || groupId.isBlank()) {
        throw ConfigException.invalid("groupId", groupId, "a consumer group name");
      }
      if (batchSize < 1 || batchSize > 100_000) {
        throw ConfigException.invalid("batchSize", batchSize, "in 1..100000");
      }
      if (fenceTtl == null || fenceTtl.toMillis() < 1000) {
        throw ConfigException.invalid("fenceTtl", fenceTtl, "at least 1 s");
      }
      if (sessionTimeout == null || sessionTimeout.toMillis() < 1000 || sessionTimeout.toMillis() > 3_600_000) {
        throw ConfigException.invalid("sessionTimeout", sessionTimeout, "in 1 s..1 h");
      }
      if (maxPayloadBytes < 1 || maxPayloadBytes > 64 << 20) {
        throw ConfigException.invalid("maxPayloadBytes", maxPayloadBytes, "in 1..67108864");
      }
      if (httpPort < 0 || httpPort > 65_535) {
        throw ConfigException.invalid("httpPort", httpPort, "a port in 0..65535 (0: off)");
      }
      if (replicaAcks < 0 || replicaAcks > 16) {
        throw ConfigException.invalid("replicaAcks", replicaAcks, "in 0..16");
      }
      if (replicaAckTimeout == null || replicaAckTimeout.toMillis() < 1) {
        throw ConfigException.invalid("replicaAckTimeout", replicaAckTimeout, "at least 1 ms");
      }
      if (replicaAcks > 0 && replicaAckTimeout.compareTo(r.commandTimeout()) >= 0) {
        throw ConfigException.invalid("replicaAckTimeout", replicaAckTimeout, "shorter than the Redis"
            + " command timeout (" + r.commandTimeout() + ", WRITER_REDIS_TIMEOUT_MS or REDIS_COMMAND_TIMEOUT_MS)");
      }
      if (maxUnappliedAge == null || maxUnappliedAge.toMillis() < 1000) {
        throw ConfigException.invalid("maxUnappliedAge", maxUnappliedAge, "at least 1 s");
      }
      if (sink != null && sink.topic().equals(dlqTopic)) {
        throw ConfigException.invalid("sink.topic", sink.topic(), "a topic other than the dead-letter topic");
      }
      return new CacheWriterConfig(this, r);
    }
  }
}
