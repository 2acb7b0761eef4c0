package io.freshcache.writer.internal;

import io.freshcache.protocol.config.KafkaClientConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Sends records that cannot be applied to the dead-letter topic, unchanged, with headers naming
 * the error and the origin: {@code freshcache.error}, {@code freshcache.error.class},
 * {@code freshcache.original.topic}, {@code .partition}, {@code .offset}, and any extra headers
 * the caller adds (the sink adds {@code freshcache.sink.table}).
 *
 * <p>Sends are asynchronous; {@link #awaitAll()} must return before the offsets of the batch are
 * committed, so a dead letter is never lost between the source and the DLQ. The producer is
 * idempotent with {@code acks=all}: if it still fails after its delivery timeout, the caller
 * stops without committing.
 */
public final class DeadLetters implements AutoCloseable {
  private final KafkaProducer<byte[], byte[]> producer;
  private final String topic;
  private final List<Future<RecordMetadata>> inFlight = new ArrayList<>();

  /**
   * @param kafka Kafka: bootstrap servers and pass-through properties
   * @param topic the dead-letter topic
   * @throws io.freshcache.protocol.config.ConfigException if a reserved property is passed through
   */
  public DeadLetters(KafkaClientConfig kafka, String topic) {
    this.producer = new KafkaProducer<>(WriterKafkaProperties.deadLetterProducer(kafka));
    this.topic = topic;
  }

  /**
   * Sends {@code r} to the dead-letter topic.
   *
   * @param r the record that cannot be applied; sent with its key and value unchanged
   * @param error why; its message and class name become the error headers
   * @param extra further header name/value pairs
   */
  public void send(ConsumerRecord<byte[], byte[]> r, Throwable error, String... extra) {
    send(r, String.valueOf(error.getMessage()), error.getClass().getName(), extra);
  }

  /**
   * Sends {@code r} to the dead-letter topic with an error message of the caller's choosing.
   *
   * @param r the record that cannot be applied; sent with its key and value unchanged
   * @param message the {@code freshcache.error} header; not null
   * @param errorClass the {@code freshcache.error.class} header; not null
   * @param extra further header name/value pairs; an unpaired last name is ignored
   */
  public void send(ConsumerRecord<byte[], byte[]> r, String message, String errorClass, String... extra) {
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(topic, r.key(), r.value());
    out.headers().add("freshcache.error", utf8(message));
    out.headers().add("freshcache.error.class", utf8(errorClass));
    out.headers().add("freshcache.original.topic", utf8(r.topic()));
    out.headers().add("freshcache.original.partition", utf8(Integer.toString(r.partition())));
    out.headers().add("freshcache.original.offset", utf8(Long.toString(r.offset())));
    for (int i = 0; i + 1 < extra.length; i += 2) {
      out.headers().add(extra[i], utf8(extra[i + 1]));
    }
    inFlight.add(producer.send(out));
  }

  /**
   * Waits until every dead letter sent so far is acknowledged.
   *
   * @throws IllegalStateException if the topic did not accept one; do not commit then
   * @throws InterruptedException if interrupted while waiting
   */
  public void awaitAll() throws InterruptedException {
    try {
      for (Future<RecordMetadata> f : inFlight) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException("dead-letter topic " + topic
          + " did not accept a record; stopping without committing", e.getCause());
    } finally {
      inFlight.clear();
    }
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
