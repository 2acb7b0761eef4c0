package io.freshcache.cdc;


import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads a topic from its current end (or from the start of a new topic): every record, with its
 * partition, in arrival order. Also creates and deletes the private topics some ITs use so that
 * their events stay out of {@code freshcache.changes}.
 */
final class EventTail implements AutoCloseable {
  /** One record as read. */
  record Received(int partition, String key, byte[] value, long receivedAtMs) {
    CacheEvent event() {
      return CacheEventJson.read(value);
    }

    String json() {
      return new String(value, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private final KafkaConsumer<String, byte[]> consumer;
  private final List<Received> received = new ArrayList<>();

  EventTail(String topic) {
    Properties p = new Properties();
    p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, StackSettings.KAFKA);
    p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10");
    p.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
        .map(i -> new TopicPartition(i.topic(), i.partition())).collect(Collectors.toList());
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // seekToEnd is lazy: fix the positions now
  }

  /** Polls until {@code done} holds for what was received, within {@code timeout}. */
  List<Received> awaitUntil(Duration timeout, Predicate<List<Received>> done) {
    org.awaitility.Awaitility.await().atMost(timeout).pollInSameThread().pollInterval(Duration.ofMillis(1)).until(() -> {
      poll();
      return done.test(received);
    });
    return List.copyOf(received);
  }

  /** Polls until {@code count} records matching {@code filter} arrived. */
  List<Received> await(int count, Predicate<Received> filter, Duration timeout) {
    return awaitUntil(timeout, all -> all.stream().filter(filter).count() >= count).stream()
        .filter(filter).collect(Collectors.toList());
  }

  void poll() {
    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(20))) {
      received.add(new Received(r.partition(), r.key(), r.value(), System.currentTimeMillis()));
    }
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(5));
  }

  static Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, StackSettings.KAFKA));
  }

  /** Creates a topic and waits until its offsets answer (KAFKA-15591). */
  static void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
      for (int i = 0; i < partitions; i++) {
        latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
          .until(() -> admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS) != null);
    }
  }

  static void deleteTopic(String topic) {
    try (Admin admin = admin()) {
      admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("could not delete topic " + topic + ": " + e);
    }
  }
}
