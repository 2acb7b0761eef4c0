package io.freshcache.writer;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.InvalidEventException;
import io.freshcache.protocol.RetriableCacheException;
import io.freshcache.writer.internal.FencedApplier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache-writer worker: a Kafka consumer in the writer group that applies cache events to
 * Redis Cluster and commits offsets only after Redis acknowledged them.
 *
 * <p>Each poll yields a batch. Records that are not valid events go to the dead-letter topic with
 * headers naming the error and their origin ({@code freshcache.error},
 * {@code freshcache.original.topic}, {@code .partition}, {@code .offset}); the valid ones are
 * applied in one pipelined round through the fenced {@code apply} script. Only when every event
 * of the batch is applied and every dead letter acknowledged are the batch's offsets committed.
 * If Redis fails, the worker pauses its partitions, retries the same batch with capped
 * exponential backoff and never skips: the at-least-once guarantee (G5) rests on this, and on
 * {@code apply} being idempotent and fenced.
 *
 * <p>Start workers with {@link #start(CacheWriterConfig)}; more workers in one group share the
 * partitions. {@link #close()} finishes the batch in flight, commits it and leaves the group.
 *
 * <p><b>Not yet here</b> (tracked in the cache-writer issue): near-cache notices, the
 * write-behind database sink, HTTP health and Prometheus metrics, consumer-lag metrics.
 */
public final class CacheWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheWriter.class);
  private static final long MAX_BACKOFF_MS = 5_000;

  private final CacheWriterConfig config;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> dlq;
  private final FencedApplier applier;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong stale = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong lastCommitToApplyMs = new AtomicLong(-1);
  private final AtomicLong assigned = new AtomicLong();
  private volatile boolean running = true;

  private CacheWriter(CacheWriterConfig config) {
    this.config = config;
    this.applier = new FencedApplier(config.redisNodes(), config.redisPassword(),
        config.redisTimeout(), config.fenceTtl());
    this.consumer = new KafkaConsumer<>(consumerProps(config));
    this.dlq = new KafkaProducer<>(producerProps(config));
    this.thread = new Thread(this::run, "freshcache-writer-" + config.groupId());
  }

  /**
   * Connects to Redis and Kafka and starts consuming on a worker thread.
   *
   * @throws io.lettuce.core.RedisException if Redis cannot be reached
   * @throws org.apache.kafka.common.KafkaException if the Kafka clients cannot be created
   */
  public static CacheWriter start(CacheWriterConfig config) {
    CacheWriter w = new CacheWriter(config);
    w.thread.start();
    log.info("cache-writer started: group {} on {}", config.groupId(), config.topics());
    return w;
  }

  /** @return events applied to Redis */
  public long applied() {
    return applied.get();
  }

  /** @return events skipped because a newer version was already applied */
  public long stale() {
    return stale.get();
  }

  /** @return records sent to the dead-letter topic */
  public long deadLettered() {
    return deadLettered.get();
  }

  /** @return batch retries after Redis failures */
  public long retries() {
    return retries.get();
  }

  /**
   * @return milliseconds from the source commit to the apply of the last applied CDC event, or
   *     -1 if none carried a commit time
   */
  public long lastCommitToApplyMs() {
    return lastCommitToApplyMs.get();
  }

  /** @return the number of partitions assigned to this worker now */
  public long assignedPartitions() {
    return assigned.get();
  }

  /** @return whether the worker thread is still consuming */
  public boolean isRunning() {
    return running && thread.isAlive();
  }

  /** @return the error that stopped the worker, or {@code null} */
  public Throwable failure() {
    return failure.get();
  }

  /**
   * Blocks until the worker stops (after {@link #close()} or a fatal error).
   *
   * @return {@code true} if it stopped within {@code timeout}
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitStop(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Finishes the batch in flight, commits it, leaves the group and closes the connections. */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        log.warn("cache-writer did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      consumer.subscribe(config.topics(), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          // offsets are committed synchronously after each applied batch, so nothing applied is
          // uncommitted here; nothing unapplied may be committed
          assigned.addAndGet(-partitions.size());
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          assigned.addAndGet(partitions.size());
          log.info("cache-writer assigned {}", partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
          assigned.addAndGet(-partitions.size());
        }
      });
      while (running) {
        ConsumerRecords<byte[], byte[]> records;
        try {
          records = consumer.poll(Duration.ofMillis(200));
        } catch (WakeupException e) {
          break;
        }
        if (!records.isEmpty()) {
          process(records);
        }
      }
    } catch (WakeupException e) {
      log.debug("woken up to stop");
    } catch (Throwable t) {
      failure.set(t);
      log.error("cache-writer stopped by a fatal error", t);
    } finally {
      running = false;
      closeQuietly();
      stopped.countDown();
    }
  }

  private void process(ConsumerRecords<byte[], byte[]> records) {
    List<CacheEvent> events = new ArrayList<>(records.count());
    List<Future<RecordMetadata>> deadLetters = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
      try {
        CacheEvent e = CacheEventJson.read(r.value());
        if (e.codec() != null) {
          Codecs.byName(e.codec());
        }
        events.add(e);
      } catch (InvalidEventException | IllegalArgumentException ex) {
        deadLetters.add(deadLetter(r, ex));
      }
    }
    applyUntilDone(events);
    for (Future<RecordMetadata> f : deadLetters) {
      awaitDeadLetter(f);
    }
    long now = System.currentTimeMillis();
    for (int i = events.size() - 1; i >= 0; i--) {
      CacheEvent.Source s = events.get(i).source();
      if (s != null && s.commitTsMs() > 0) {
        lastCommitToApplyMs.set(now - s.commitTsMs());
        break;
      }
    }
    offsets.keySet().retainAll(consumer.assignment());
    if (!offsets.isEmpty()) {
      consumer.commitSync(offsets);
    }
  }

  private void applyUntilDone(List<CacheEvent> events) {
    long backoff = 50;
    boolean paused = false;
    while (true) {
      try {
        FencedApplier.Result r = applier.apply(events);
        applied.addAndGet(r.applied());
        stale.addAndGet(r.stale());
        if (paused) {
          consumer.resume(consumer.paused());
          log.info("redis is back; resumed after {} retries", retries.get());
        }
        return;
      } catch (RetriableCacheException e) {
        retries.incrementAndGet();
        if (!paused) {
          consumer.pause(consumer.assignment());
          paused = true;
        }
        log.warn("apply of {} events failed, retrying in {} ms: {}", events.size(), backoff, e.getMessage());
        sleep(backoff);
        // keep the group membership alive while paused; paused partitions return no records
        consumer.poll(Duration.ZERO);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        if (!running && Thread.currentThread().isInterrupted()) {
          throw e;
        }
      }
    }
  }

  private Future<RecordMetadata> deadLetter(ConsumerRecord<byte[], byte[]> r, RuntimeException error) {
    deadLettered.incrementAndGet();
    log.warn("dead-lettering {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), error.getMessage());
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(config.dlqTopic(), r.key(), r.value());
    out.headers().add("freshcache.error", utf8(String.valueOf(error.getMessage())));
    out.headers().add("freshcache.error.class", utf8(error.getClass().getName()));
    out.headers().add("freshcache.original.topic", utf8(r.topic()));
    out.headers().add("freshcache.original.partition", utf8(Integer.toString(r.partition())));
    out.headers().add("freshcache.original.offset", utf8(Long.toString(r.offset())));
    return dlq.send(out);
  }

  private void awaitDeadLetter(Future<RecordMetadata> f) {
    long backoff = 100;
    while (true) {
      try {
        f.get();
        return;
      } catch (ExecutionException e) {
        // the idempotent producer already retried for delivery.timeout.ms: do not commit
        throw new IllegalStateException("dead-letter topic " + config.dlqTopic()
            + " did not accept a record; stopping without committing", e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        sleep(backoff);
      }
    }
  }

  private void closeQuietly() {
    try {
      consumer.close(Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      log.warn("closing the consumer: {}", e.toString());
    }
    try {
      dlq.close(Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      log.warn("closing the dead-letter producer: {}", e.toString());
    }
    applier.close();
    log.info("cache-writer stopped: {} applied, {} stale, {} dead-lettered, {} retries",
        applied.get(), stale.get(), deadLettered.get(), retries.get());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Properties consumerProps(CacheWriterConfig c) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, c.groupId());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(c.batchSize()));
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
    p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  private static Properties producerProps(CacheWriterConfig c) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return p;
  }
}
