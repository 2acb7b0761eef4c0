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
 */
public record CacheWriterConfig(String kafkaBootstrapServers, List<String> redisNodes,
    String redisPassword, List<String> topics, String dlqTopic, String groupId, int batchSize,
    Duration fenceTtl, Duration redisTimeout) {

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

  /**
   * Validates the settings.
   *
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CacheWriterConfig {
    Objects.requireNonNull(kafkaBootstrapServers, "kafkaBootstrapServers");
    Objects.requireNonNull(redisNodes, "redisNodes");
    Objects.requireNonNull(topics, "topics");
    Objects.requireNonNull(dlqTopic, "dlqTopic");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(fenceTtl, "fenceTtl");
    Objects.requireNonNull(redisTimeout, "redisTimeout");
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
      if (colon <= 0 || !n.substring(colon + 1).matches("\\d{1,5}")) {
        throw new IllegalArgumentException("redis node must be host:port but was '" + n + "'");
      }
    }
    if (topics.isEmpty()) {
      throw new IllegalArgumentException("topics must name at least one topic");
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
  }

  /** @return the default settings (the local stack) */
  public static CacheWriterConfig defaults() {
    return fromEnv(Map.of());
  }

  /** Reads the settings from the process environment. */
  public static CacheWriterConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /**
   * Reads the settings from {@code env}; see the table above.
   *
   * @throws IllegalArgumentException naming the variable and its bad value
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
          (int) number(env, "WRITER_BATCH_SIZE", DEFAULT_BATCH_SIZE),
          Duration.ofMillis(number(env, "WRITER_FENCE_TTL_MS", DEFAULT_FENCE_TTL.toMillis())),
          Duration.ofMillis(number(env, "WRITER_REDIS_TIMEOUT_MS", DEFAULT_REDIS_TIMEOUT.toMillis())));
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().matches("^[A-Z_]+: .*")) {
        throw e;
      }
      throw new IllegalArgumentException("cache-writer configuration: " + e.getMessage(), e);
    }
  }

  /** @return this config with another consumer group */
  public CacheWriterConfig withGroupId(String newGroupId) {
    return new CacheWriterConfig(kafkaBootstrapServers, redisNodes, redisPassword, topics, dlqTopic,
        newGroupId, batchSize, fenceTtl, redisTimeout);
  }

  /** @return this config consuming other topics */
  public CacheWriterConfig withTopics(List<String> newTopics, String newDlqTopic) {
    return new CacheWriterConfig(kafkaBootstrapServers, redisNodes, redisPassword, newTopics,
        newDlqTopic, groupId, batchSize, fenceTtl, redisTimeout);
  }

  @Override
  public String toString() {
    return "CacheWriterConfig[kafka=" + kafkaBootstrapServers + ", redisNodes=" + redisNodes
        + ", redisPassword=" + (redisPassword == null ? "none" : "****") + ", topics=" + topics
        + ", dlqTopic=" + dlqTopic + ", groupId=" + groupId + ", batchSize=" + batchSize
        + ", fenceTtl=" + fenceTtl + ", redisTimeout=" + redisTimeout + "]";
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

  private static String blankToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
