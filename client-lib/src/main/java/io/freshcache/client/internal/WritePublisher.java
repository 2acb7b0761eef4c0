package io.freshcache.client.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.config.KafkaClientConfig;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes cache events to the writes topic with an idempotent producer ({@code acks=all}); the
 * record key is the logical cache key, so all events of a key stay in order in one partition.
 * A returned future completes when the broker has acknowledged the record.
 */
public final class WritePublisher implements AutoCloseable {
  private final KafkaProducer<byte[], byte[]> producer;
  private final String topic;

  /**
   * The properties freshcache sets on the publisher that the user may not override
   * ({@code KAFKA_*} pass-through): a published write must not be lost or duplicated out of order
   * ({@code acks=all}, idempotence), and the records are bytes.
   */
  public static final Set<String> RESERVED = Set.of(ProducerConfig.ACKS_CONFIG,
      ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
      ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG);

  /**
   * @param kafka Kafka: bootstrap servers and pass-through properties
   * @param topic the writes topic
   * @throws io.freshcache.protocol.config.ConfigException if a pass-through property is reserved
   */
  public WritePublisher(KafkaClientConfig kafka, String topic) {
    this.producer = new KafkaProducer<>(producerProperties(kafka));
    this.topic = topic;
  }

  /**
   * @param kafka Kafka settings
   * @return the publisher's producer properties: freshcache's defaults, then the pass-through
   *     properties
   * @throws io.freshcache.protocol.config.ConfigException if a pass-through property is reserved
   */
  public static Map<String, Object> producerProperties(KafkaClientConfig kafka) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return kafka.apply(p, RESERVED);
  }

  /**
   * @param event the event; its logical key is the record key
   * @return a future completed on the broker's acknowledgement, or failed with its error
   */
  public CompletableFuture<Void> publish(CacheEvent event) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    producer.send(new ProducerRecord<>(topic, event.key().toString().getBytes(StandardCharsets.UTF_8),
        CacheEventJson.write(event)), (meta, err) -> {
          if (err != null) {
            done.completeExceptionally(err);
          } else {
            done.complete(null);
          }
        });
    return done;
  }

  @Override
  public void close() {
    producer.close();
  }
}
