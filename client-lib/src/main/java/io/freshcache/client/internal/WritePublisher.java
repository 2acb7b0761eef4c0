package io.freshcache.client.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
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
   * @param bootstrapServers Kafka bootstrap servers
   * @param topic the writes topic
   */
  public WritePublisher(String bootstrapServers, String topic) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    this.producer = new KafkaProducer<>(p);
    this.topic = topic;
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
