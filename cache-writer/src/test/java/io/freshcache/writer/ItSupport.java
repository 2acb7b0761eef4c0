package io.freshcache.writer;

import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import io.freshcache.writer.internal.ClusterClients;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the writer's integration tests share: clients of the real stack ({@code dev/stack up}),
 * fresh topics per test, event builders and readers of the state in Redis and Kafka.
 */
final class ItSupport {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final CacheWriterConfig BASE = CacheWriterConfig.fromEnv().toBuilder().httpPort(0).sink(null).build();
  static final Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, BASE.kafka().bootstrapServers()));
  static final KafkaProducer<byte[], byte[]> producer = producer();
  /**
   * How long a Redis command of a test may take: long, so that a machine stalled for a few
   * seconds does not look like the bugs the tests guard (a command that is never answered still
   * fails, later). Tests of the fast failure path set the production default themselves.
   */
  static final Duration PATIENT = Duration.ofSeconds(20);
  static final RedisClusterClient redis = ClusterClients.create(BASE.redis().nodes(), BASE.redis().password(), PATIENT);
  static final StatefulRedisClusterConnection<byte[], byte[]> conn = redis.connect(ByteArrayCodec.INSTANCE);

  /** @return a new connected topology (own connections) with the patient timeout; close it */
  static io.freshcache.redis.RedisTopology topology() {
    io.freshcache.redis.RedisTopology t = new io.freshcache.redis.RedisTopology(
        BASE.redis().toBuilder().commandTimeout(PATIENT).build(), null);
    t.connect();
    return t;
  }
  private static final List<String> created = new java.util.concurrent.CopyOnWriteArrayList<>();

  private ItSupport() {}

  private static KafkaProducer<byte[], byte[]> producer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, BASE.kafka().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  /** Creates a fresh topic and DLQ and waits until the broker answers offsets for them (KAFKA-15591). */
  static CacheWriterConfig freshTopics(String name, int partitions) throws Exception {
    String topic = "it." + name + "." + RUN;
    String dlq = topic + ".dlq";
    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1), new NewTopic(dlq, 1, (short) 1)))
        .all().get();
    created.add(topic);
    created.add(dlq);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int i = 0; i < partitions; i++) {
      latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
    }
    latest.put(new TopicPartition(dlq, 0), OffsetSpec.latest());
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> admin.listOffsets(latest).all().get().size() == partitions + 1);
    // patient: a batch retried after a stall would count its own earlier effects as stale, and
    // several tests count stale events exactly
    return BASE.withTopics(List.of(topic), dlq).withGroupId("it-" + name + "-" + RUN).toBuilder()
        .redisTimeout(PATIENT).build();
  }

  static CacheWriterConfig freshTopics(String name) throws Exception {
    return freshTopics(name, 3);
  }

  static void send(String topic, String key, byte[] value) throws Exception {
    producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get();
  }

  static void sendAsync(String topic, CacheEvent e) {
    producer.send(new ProducerRecord<>(topic, e.key().toString().getBytes(StandardCharsets.UTF_8),
        CacheEventJson.write(e)));
  }

  static CacheEvent upsert(CacheKey k, long version, String payload) {
    return new CacheEvent(CacheEvent.Op.UPSERT, k, version, 600_000, 1, "json",
        ("\"" + payload + "\"").getBytes(StandardCharsets.UTF_8), null, System.currentTimeMillis());
  }

  static CacheEvent delete(CacheKey k, long version) {
    return new CacheEvent(CacheEvent.Op.DELETE, k, version, 0, 1, null, null, null, System.currentTimeMillis());
  }

  /** @return the stored payload of {@code k} (schema 1) as text, or {@code null} */
  static String stored(CacheKey k) {
    byte[] raw = conn.sync().get(k.valueKey(1).getBytes(StandardCharsets.UTF_8));
    return raw == null ? null : new String(Envelope.decode(raw).payload(), StandardCharsets.UTF_8);
  }

  /** @return the fence version of {@code k}, or -1 */
  static long fence(CacheKey k) {
    byte[] v = conn.sync().hget(k.fenceKey().getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
    return v == null ? -1 : Long.parseLong(new String(v, StandardCharsets.UTF_8));
  }

  /** Waits until the consumer group has no member (every member left or its session expired). */
  static void awaitNoMembers(String group, Duration atMost) {
    await().atMost(atMost).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
        .until(() -> admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS)
            .get(group).members().isEmpty());
  }

  /** @return the group's committed offsets summed over {@code topic} */
  static long committed(String group, String topic) throws Exception {
    long sum = 0;
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : admin.listConsumerGroupOffsets(group)
        .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).entrySet()) {
      if (e.getKey().topic().equals(topic) && e.getValue() != null) {
        sum += e.getValue().offset();
      }
    }
    return sum;
  }

  /** @return the end offsets of {@code topic} summed over its partitions */
  static long endOffsets(String topic) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    int n = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    for (int i = 0; i < n; i++) {
      latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
    }
    long sum = 0;
    for (var v : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values()) {
      sum += v.offset();
    }
    return sum;
  }

  /** Waits until {@code group} has committed every record of {@code topic}. */
  static void awaitDrained(String group, String topic, Duration atMost) {
    await().atMost(atMost).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
        .until(() -> endOffsets(topic) > 0 && committed(group, topic) == endOffsets(topic));
  }

  /** Waits until the dead-letter topic {@code dlq} holds at least {@code n} records; @return them all. */
  static List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> deadLetters(String dlq, int n) {
    Properties p = new Properties();
    p.put(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, BASE.kafka().bootstrapServers());
    p.put(org.apache.kafka.clients.consumer.ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.ByteArrayDeserializer.class.getName());
    p.put(org.apache.kafka.clients.consumer.ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.ByteArrayDeserializer.class.getName());
    try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(p)) {
      TopicPartition tp = new TopicPartition(dlq, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(dead::add);
        return dead.size() >= n;
      });
      return dead;
    }
  }

  /** @return a port that was free a moment ago */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Deletes the topics this JVM created so far; the stack is shared, keep it lean. */
  static void deleteTopics() {
    List<String> topics = new ArrayList<>(created);
    created.removeAll(topics);
    try {
      admin.deleteTopics(topics).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("could not delete test topics " + topics + ": " + e);
    }
  }

  /** Runs {@code dev/stack} with {@code args} and waits for it. */
  static void devStack(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("..", "dev", "stack").toAbsolutePath().normalize().toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("dev/stack " + String.join(" ", args) + " timed out");
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException("dev/stack " + String.join(" ", args) + " exited " + p.exitValue());
    }
  }

  /**
   * Subscribes to every near-cache notice channel the way client-lib does (sharded pub/sub, one
   * SSUBSCRIBE per channel since each has its own slot); parsed notices land in {@code received}
   * by channel index, in arrival order. Close the connection to stop.
   */
  static io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection<String, String> subscribeToNotices(
      Map<Integer, List<io.freshcache.protocol.NoticeChannels.Notice>> received) {
    var ps = redis.connectPubSub();
    ps.setNodeMessagePropagation(true);
    ps.addListener(new io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter<>() {
      @Override
      public void smessage(io.lettuce.core.cluster.models.partitions.RedisClusterNode node, String channel,
          String message) {
        int i = io.freshcache.protocol.NoticeChannels.parseChannel(channel);
        if (i >= 0) {
          received.computeIfAbsent(i, x -> new java.util.concurrent.CopyOnWriteArrayList<>())
              .add(io.freshcache.protocol.NoticeChannels.parse(message.getBytes(StandardCharsets.UTF_8)));
        }
      }
    });
    for (int i = 0; i < io.freshcache.protocol.NoticeChannels.COUNT; i++) {
      ps.sync().ssubscribe(io.freshcache.protocol.NoticeChannels.channel(i));
    }
    return ps;
  }
}
