package io.freshcache.writer.internal;

import io.freshcache.protocol.config.KafkaClientConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The properties of every Kafka client cache-writer creates: the writer's own settings first,
 * then the user's {@code KAFKA_*} pass-through properties ({@link KafkaClientConfig#apply}),
 * which may override anything except the reserved properties the writer's guarantees depend on.
 *
 * <p>Why these are reserved: offsets are committed by hand only after a batch is applied (and
 * acknowledged by replicas), so {@code enable.auto.commit} must stay off; a new group must start
 * from the earliest offset or it skips events ({@code auto.offset.reset}); the group comes from
 * {@code WRITER_GROUP_ID}; records are raw bytes; a dead letter must not be lost or duplicated
 * ({@code acks=all}, idempotence).
 */
public final class WriterKafkaProperties {
  /** Properties of the writer's and the sink's consumers the user may not set. */
  public static final Set<String> CONSUMER_RESERVED = Set.of(ConsumerConfig.GROUP_ID_CONFIG,
      ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
      ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG);
  /** Properties of the dead-letter producer the user may not set. */
  public static final Set<String> PRODUCER_RESERVED = Set.of(ProducerConfig.ACKS_CONFIG,
      ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
      ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG);

  private WriterKafkaProperties() {}

  /**
   * @param kafka bootstrap servers and pass-through properties
   * @param groupId the consumer group
   * @param maxPollRecords records per poll
   * @param fetchMaxWaitMs how long the broker may wait to fill a fetch
   * @param sessionTimeout the group session timeout
   * @return the properties of a consumer of the writer or the sink
   * @throws io.freshcache.protocol.config.ConfigException if a reserved property is passed through
   */
  public static Map<String, Object> consumer(KafkaClientConfig kafka, String groupId, int maxPollRecords,
      int fetchMaxWaitMs, Duration sessionTimeout) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(maxPollRecords));
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Integer.toString(fetchMaxWaitMs));
    p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Long.toString(sessionTimeout.toMillis()));
    p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Long.toString(Math.min(1000, sessionTimeout.toMillis() / 3)));
    p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return kafka.apply(p, CONSUMER_RESERVED);
  }

  /**
   * @param kafka bootstrap servers and pass-through properties
   * @return the properties of the dead-letter producer
   * @throws io.freshcache.protocol.config.ConfigException if a reserved property is passed through
   */
  public static Map<String, Object> deadLetterProducer(KafkaClientConfig kafka) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return kafka.apply(p, PRODUCER_RESERVED);
  }

  /**
   * @param kafka bootstrap servers and pass-through properties
   * @return the properties of the health probe's admin client (short timeouts: a probe answers
   *     within about 1.5 s); pass-through properties may override them
   */
  public static Map<String, Object> healthAdmin(KafkaClientConfig kafka) {
    Map<String, Object> p = new HashMap<>();
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 1500);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 1500);
    return kafka.apply(p, Set.of());
  }
}
