package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.protocol.CacheKey;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * What the tests of the whole path share about the persistent local stack: a new writer group
 * that starts at the end of the shared topics instead of replaying their history, waiting for
 * that group to get past given offsets, reading a key's version fence in Redis, and dropping the
 * connector's replication slot and publication once its walsender has exited.
 */
final class EndToEndSupport {
  /** How long the stack gets for anything here, on a loaded 2-core CI machine. */
  static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private EndToEndSupport() {}

  private static Admin admin(CacheWriterConfig config) {
    // with the writer's pass-through properties: the security settings of a secured broker
    return Admin.create(config.kafka().apply(Map.of(), java.util.Set.of()));
  }

  private static <T> T get(org.apache.kafka.common.KafkaFuture<T> future)
      throws InterruptedException, ExecutionException, TimeoutException {
    return future.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }

  /**
   * The current end offset of every partition of the writer's topics (those that exist).
   *
   * @param config the writer's settings: its Kafka and topics
   * @return partition to end offset
   */
  static Map<TopicPartition, Long> endOffsets(CacheWriterConfig config) throws Exception {
    try (Admin admin = admin(config)) {
      return endOffsets(admin, config.topics());
    }
  }

  private static Map<TopicPartition, Long> endOffsets(Admin admin, List<String> topics) throws Exception {
    Set<String> existing = get(admin.listTopics().names());
    List<String> present = topics.stream().filter(existing::contains).toList();
    assertThat(present).as("the writer's topics %s on the stack", topics).isNotEmpty();
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (var d : get(admin.describeTopics(present).allTopicNames()).values()) {
      for (var p : d.partitions()) {
        latest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
      }
    }
    Map<TopicPartition, Long> ends = new HashMap<>();
    get(admin.listOffsets(latest).all()).forEach((tp, info) -> ends.put(tp, info.offset()));
    return ends;
  }

  /**
   * Commits the writer's new consumer group at the current end of each of its topics, so the
   * writer started next consumes only what is produced from now on: the topics are shared and
   * kept on a persistent stack, and a new group would otherwise replay them from the earliest
   * offset (the writer's reset policy). Call before the writer starts: the group must be empty.
   *
   * @param config the writer's settings: its Kafka, topics and group
   */
  static void startGroupAtTheEnd(CacheWriterConfig config) throws Exception {
    try (Admin admin = admin(config)) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          get(admin.listConsumerGroupOffsets(config.groupId()).partitionsToOffsetAndMetadata());
      assertThat(committed).as("group %s is new", config.groupId()).isEmpty();
      Map<TopicPartition, OffsetAndMetadata> start = new HashMap<>();
      endOffsets(admin, config.topics()).forEach((tp, end) -> start.put(tp, new OffsetAndMetadata(end)));
      get(admin.alterConsumerGroupOffsets(config.groupId(), start).all());
    }
  }

  /**
   * Waits until the writer's group has committed at least {@code target} on every partition. The
   * writer commits a batch once it is applied and its near-cache notices are published, so every
   * event below those offsets has then had its whole effect in Redis.
   *
   * @param config the writer's settings: its Kafka and group
   * @param target offsets from {@link #endOffsets}, taken once the events of interest are in Kafka
   */
  static void awaitCommittedPast(CacheWriterConfig config, Map<TopicPartition, Long> target) {
    try (Admin admin = admin(config)) {
      await("group " + config.groupId() + " committed past " + target).atMost(PATIENCE)
          .pollInterval(Duration.ofMillis(50)).ignoreExceptions().until(() -> {
            Map<TopicPartition, OffsetAndMetadata> committed =
                get(admin.listConsumerGroupOffsets(config.groupId()).partitionsToOffsetAndMetadata());
            for (var e : target.entrySet()) {
              OffsetAndMetadata c = committed.get(e.getKey());
              if (e.getValue() > 0 && (c == null || c.offset() < e.getValue())) {
                return false;
              }
            }
            return true;
          });
    }
  }

  /**
   * Starts a cache-writer of group {@code group} (no sink, HTTP port 0) positioned at the end of
   * the shared topics ({@link #startGroupAtTheEnd}).
   *
   * @return the running writer and its settings
   */
  static Started startWriterAtTheEnd(String group) throws Exception {
    CacheWriterConfig config = CacheWriterConfig.fromEnv().toBuilder().httpPort(0).sink(null).build()
        .withGroupId(group);
    startGroupAtTheEnd(config);
    return new Started(CacheWriter.start(config), config);
  }

  /** A writer started by {@link #startWriterAtTheEnd}, and its settings. */
  record Started(CacheWriter writer, CacheWriterConfig config) {}

  /**
   * A client with a 5 s command timeout and slow-call threshold: the tests count loader calls
   * exactly, and with the production defaults a moment's stall of a loaded machine sends a read
   * to the loader or opens the breaker (right for an application, a false failure here).
   */
  static CacheClient patientClient() {
    return CacheClient.create(CacheClientConfig.fromEnv().toBuilder().commandTimeout(Duration.ofSeconds(5))
        .slowCallThreshold(Duration.ofSeconds(5)).build());
  }

  /** One cluster connection to read the writer's version fences ({@code v} of the fence hash). */
  static final class Fences implements AutoCloseable {
    private final RedisClusterClient redis;
    private final StatefulRedisClusterConnection<String, String> connection;

    Fences() {
      CacheClientConfig config = CacheClientConfig.fromEnv();
      List<RedisURI> seeds = new ArrayList<>();
      for (String node : config.redis().nodes()) {
        int colon = node.lastIndexOf(':');
        RedisURI.Builder b = RedisURI.builder().withHost(node.substring(0, colon))
            .withPort(Integer.parseInt(node.substring(colon + 1))).withSsl(config.redis().tls());
        if (config.redis().password() != null) {
          b.withPassword(config.redis().password().toCharArray());
        }
        seeds.add(b.build());
      }
      redis = RedisClusterClient.create(seeds);
      connection = redis.connect();
    }

    /**
     * @param key a logical cache key
     * @return the highest version cache-writer (or an explicit invalidation) applied to the key,
     *     or null if none is fenced; fills never set it
     */
    Long version(String key) {
      String v = connection.sync().hget(CacheKey.parse(key).fenceKey(), "v");
      return v == null ? null : Long.valueOf(v);
    }

    /** Waits until {@code key}'s fence has a version above {@code before} (null: any) and returns it. */
    long awaitAbove(String key, Long before) {
      long[] seen = new long[1];
      await(key + " fenced above " + before).atMost(PATIENCE).pollInterval(Duration.ofMillis(5)).until(() -> {
        Long v = version(key);
        if (v == null || (before != null && v <= before)) {
          return false;
        }
        seen[0] = v;
        return true;
      });
      return seen[0];
    }

    @Override
    public void close() {
      try {
        connection.close();
      } finally {
        redis.shutdown();
      }
    }
  }

  /**
   * Drops a connector's replication slot and publication. The walsender of a closed connector
   * exits asynchronously and an active slot cannot be dropped, so this waits until the slot is
   * inactive; a slot still active after {@link #PATIENCE} fails the caller, and so does one left
   * after the drop: leaked slots pin WAL and use up {@code max_replication_slots} of the
   * persistent stack. Nothing happens for a slot that does not exist (the connector never started).
   */
  static void dropSlotAndPublication(String jdbc, String user, String password, String slot, String publication)
      throws SQLException {
    assertThat(publication).matches(IDENTIFIER);
    try (Connection c = DriverManager.getConnection(jdbc, user, password)) {
      await("replication slot " + slot + " released by its walsender").atMost(PATIENCE)
          .pollInterval(Duration.ofMillis(100)).until(() -> !slotActive(c, slot));
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, slot);
        ps.executeQuery().close();
      }
      try (Statement s = c.createStatement()) {
        s.execute("DROP PUBLICATION IF EXISTS " + publication);
      }
      assertThat(slotExists(c, slot)).as("replication slot %s dropped", slot).isFalse();
    }
  }

  private static boolean slotActive(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private static boolean slotExists(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }
}
