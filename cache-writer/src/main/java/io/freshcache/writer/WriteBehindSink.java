package io.freshcache.writer;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheException;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.writer.internal.DeadLetters;
import io.freshcache.writer.internal.JdbcUpserter;
import io.freshcache.writer.internal.PausedRetry;
import io.freshcache.writer.internal.WriterKafkaProperties;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-behind database sink: writes the upserts of application writes
 * ({@code freshcache.writes}) for the entities that have a {@link SinkRule} to PostgreSQL, in
 * JDBC batches flushed by size or interval, and commits the topic offsets only after the rows
 * are in the database.
 *
 * <p>It consumes in its own consumer group, {@code <writer group>.sink}, so the cache and the
 * database advance independently: while the database is down the sink pauses, retries with
 * capped backoff and holds its offsets, and the cache keeps being applied. Rows are written with
 * a version guard ({@code WHERE table.version < EXCLUDED.version}), so replays after a crash or a
 * rebalance, and CDC of the same rows later, never roll a row back. Within a flush only the
 * newest upsert of each key is written.
 *
 * <p>Records that are not valid events are skipped here (the cache writer dead-letters them);
 * deletes and invalidations are not written (write-behind carries upserts only). An upsert whose
 * payload is not an object of the table's columns, or that the database refuses (a constraint,
 * a bad value), goes to the dead-letter topic with {@code freshcache.sink.table} among its
 * headers and is counted; the sink goes on.
 *
 * <p>Started by {@link CacheWriter} when its config has a sink; {@link #close()} flushes what is
 * buffered, commits and leaves the group.
 */
public final class WriteBehindSink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WriteBehindSink.class);
  private static final long STOP_GRACE_MS = 10_000;

  private final WriteBehindConfig config;
  private final String groupId;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final DeadLetters deadLetters;
  private final JdbcUpserter db;
  private final PausedRetry retry;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Map<String, JdbcUpserter.Row> buffer = new LinkedHashMap<>();
  private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong buffered = new AtomicLong();
  private final Timer flushTimer;
  private volatile boolean running = true;
  private volatile boolean databaseUp = true;
  private long oldestBufferedNanos;
  private long lastCommitNanos = System.nanoTime();
  private long stopDeadlineNanos = Long.MAX_VALUE;
  private boolean flushing;

  private WriteBehindSink(WriteBehindConfig config, KafkaClientConfig kafka, String writerGroup,
      String dlqTopic, Duration sessionTimeout, MeterRegistry registry) {
    this.config = config;
    this.groupId = writerGroup + ".sink";
    this.db = new JdbcUpserter(config);
    try {
      db.validate();
    } catch (SQLException e) {
      db.close();
      throw new IllegalStateException("write-behind sink: database " + config.jdbcUrlMasked()
          + " unreachable at start: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
    KafkaConsumer<byte[], byte[]> c = null;
    try {
      c = new KafkaConsumer<>(WriterKafkaProperties.consumer(kafka, groupId, Math.max(100, config.batchSize()), 20,
          sessionTimeout));
      this.deadLetters = new DeadLetters(kafka, dlqTopic);
    } catch (RuntimeException e) {
      // a half-built sink must not keep its database connection or consumer open
      if (c != null) {
        c.close(Duration.ZERO);
      }
      db.close();
      throw e;
    }
    this.consumer = c;
    this.retry = new PausedRetry(consumer);
    Tags tags = Tags.of("group", writerGroup);
    FunctionCounter.builder(WriterMetricNames.SINK_ROWS_WRITTEN, written, AtomicLong::doubleValue)
        .tags(tags).description("rows written by the write-behind sink").register(registry);
    FunctionCounter.builder(WriterMetricNames.SINK_ROWS_REJECTED, rejected, AtomicLong::doubleValue)
        .tags(tags).description("upserts the sink dead-lettered").register(registry);
    FunctionCounter.builder(WriterMetricNames.SINK_RETRIES, retries, AtomicLong::doubleValue)
        .tags(tags).description("sink flush retries while the database failed").register(registry);
    Gauge.builder(WriterMetricNames.SINK_PENDING, buffered, AtomicLong::doubleValue).tags(tags)
        .baseUnit("rows").description("rows buffered, not yet written").register(registry);
    this.flushTimer = Timer.builder(WriterMetricNames.SINK_FLUSH).tags(tags)
        .description("one successful sink flush").publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry);
    this.thread = new Thread(this::run, "freshcache-writer-sink-" + writerGroup);
  }

  /**
   * Checks the rules against the database and starts consuming on a sink thread.
   *
   * @param config the sink settings
   * @param kafka Kafka: bootstrap servers and the pass-through properties
   * @param writerGroup the writer's consumer group; the sink's is {@code <writerGroup>.sink}, and
   *     the sink's meters are tagged {@code group=<writerGroup>}
   * @param dlqTopic where rejected upserts go
   * @param sessionTimeout the Kafka group session timeout
   * @param registry where the sink's meters go (the {@code SINK_*} names of
   *     {@link WriterMetricNames})
   * @return the running sink; close it to stop
   * @throws IllegalArgumentException naming {@code WRITER_SINK_RULES} if a rule does not fit its
   *     table (missing table or column, key column without a unique index of its own)
   * @throws IllegalStateException if the database cannot be reached
   * @throws org.apache.kafka.common.KafkaException if the Kafka clients cannot be created
   */
  public static WriteBehindSink start(WriteBehindConfig config, KafkaClientConfig kafka,
      String writerGroup, String dlqTopic, Duration sessionTimeout, MeterRegistry registry) {
    WriteBehindSink s = new WriteBehindSink(config, kafka, writerGroup, dlqTopic, sessionTimeout,
        registry);
    s.thread.start();
    log.info("write-behind sink started: group {} on {}, rules {}", s.groupId, config.topic(), config.rules());
    return s;
  }

  /** @return rows written to the database */
  public long written() {
    return written.get();
  }

  /** @return upserts dead-lettered by the sink */
  public long rejected() {
    return rejected.get();
  }

  /** @return flush retries after database failures */
  public long retries() {
    return retries.get();
  }

  /** @return rows buffered and not yet written */
  public long pendingRows() {
    return buffered.get();
  }

  /**
   * @return whether the last flush attempt reached the database; true before the first flush
   */
  public boolean databaseUp() {
    return databaseUp;
  }

  /** @return the sink's consumer group */
  public String groupId() {
    return groupId;
  }

  /** @return whether the sink thread is still consuming */
  public boolean isRunning() {
    return running && thread.isAlive();
  }

  /**
   * @return the error that stopped the sink, or {@code null} while it runs and after a graceful
   *     stop
   */
  public Throwable failure() {
    return failure.get();
  }

  /**
   * Flushes what is buffered (retrying for up to 10 s), commits, leaves the group. Waits up to
   * 30 s for the sink thread; returns early, with the interrupt flag set, if the calling thread
   * is interrupted.
   */
  @Override
  public void close() {
    running = false;
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        log.warn("write-behind sink did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try {
      consumer.subscribe(List.of(config.topic()), new Rebalance());
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(
            Math.min(100, config.flushInterval().toMillis())));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          accept(r);
        }
        if (buffer.size() >= config.batchSize() || (!buffer.isEmpty()
            && System.nanoTime() - oldestBufferedNanos >= config.flushInterval().toNanos())) {
          flushUntilDone();
          commitPending();
        } else if (buffer.isEmpty() && !pending.isEmpty()
            && System.nanoTime() - lastCommitNanos >= config.flushInterval().toNanos()) {
          deadLetters.awaitAll();
          commitPending();
        }
      }
      if (stopDeadlineNanos == Long.MAX_VALUE) {
        stopDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_GRACE_MS);
      }
      if (!buffer.isEmpty()) {
        flushUntilDone();
      }
      commitPending();
    } catch (Abandoned e) {
      log.warn("write-behind sink stopping with {} rows unwritten and their offsets uncommitted", buffer.size());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("write-behind sink interrupted; offsets of unwritten rows stay uncommitted");
    } catch (Throwable t) {
      failure.set(t);
      log.error("write-behind sink stopped by a fatal error", t);
    } finally {
      running = false;
      try {
        consumer.close(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        log.warn("closing the sink consumer: {}", e.toString());
      }
      deadLetters.close();
      db.close();
      log.info("write-behind sink stopped: {} written, {} rejected, {} retries", written.get(),
          rejected.get(), retries.get());
      stopped.countDown();
    }
  }

  private void accept(ConsumerRecord<byte[], byte[]> r) {
    CacheEvent e;
    try {
      e = CacheEventJson.read(r.value());
    } catch (RuntimeException ex) {
      skipped.incrementAndGet(); // not an event: the cache writer dead-letters it
      return;
    }
    if (e.op() != CacheEvent.Op.UPSERT) {
      return;
    }
    SinkRule rule = config.ruleFor(e.key().service() + ":" + e.key().entity());
    if (rule == null) {
      return;
    }
    JdbcUpserter.Row row;
    try {
      row = db.toRow(e, rule, r);
    } catch (IllegalArgumentException | CacheException ex) {
      reject(r, rule, ex);
      return;
    }
    if (buffer.isEmpty()) {
      oldestBufferedNanos = System.nanoTime();
    }
    buffer.merge(rule.entity() + '\n' + row.key(), row,
        (old, neu) -> neu.version() >= old.version() ? neu : old);
    buffered.set(buffer.size());
  }

  private void flushUntilDone() throws InterruptedException {
    List<JdbcUpserter.Row> rows = new ArrayList<>(buffer.values());
    flushing = true;
    try {
      while (true) {
        try {
          long t0 = System.nanoTime();
          int n = writeOnce(rows);
          flushTimer.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
          written.addAndGet(n);
          buffer.clear();
          buffered.set(0);
          if (retry.paused()) {
            log.info("database is back; {} rows written after {} retries", n, retries.get());
          }
          databaseUp = true;
          retry.succeeded();
          deadLetters.awaitAll();
          return;
        } catch (SQLException e) {
          retries.incrementAndGet();
          databaseUp = false;
          db.disconnect();
          if (!running) {
            if (stopDeadlineNanos == Long.MAX_VALUE) {
              stopDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_GRACE_MS);
            } else if (System.nanoTime() > stopDeadlineNanos) {
              throw new Abandoned();
            }
          }
          log.warn("flush of {} rows failed, retrying in {} ms: {}", rows.size(), retry.nextBackoffMs(),
              JdbcUpserter.describe(e));
          retry.failed();
        }
      }
    } finally {
      flushing = false;
    }
  }

  /** @return rows written; throws only transient failures */
  private int writeOnce(List<JdbcUpserter.Row> rows) throws SQLException {
    try {
      db.write(rows);
      return rows.size();
    } catch (SQLException e) {
      if (JdbcUpserter.isTransient(e)) {
        throw e;
      }
      log.warn("flush of {} rows refused ({}); writing them one by one", rows.size(), JdbcUpserter.describe(e));
      return db.writeEach(rows, (row, ex) -> reject(record(row), row.rule(), ex));
    }
  }

  @SuppressWarnings("unchecked")
  private static ConsumerRecord<byte[], byte[]> record(JdbcUpserter.Row row) {
    return (ConsumerRecord<byte[], byte[]>) row.origin();
  }

  private void reject(ConsumerRecord<byte[], byte[]> r, SinkRule rule, Exception ex) {
    rejected.incrementAndGet();
    String message = ex instanceof SQLException sql ? JdbcUpserter.describe(sql) : ex.getMessage();
    log.warn("sink dead-letters {}-{}@{} for {}: {}", r.topic(), r.partition(), r.offset(),
        rule.table(), message);
    deadLetters.send(r, String.valueOf(message), ex.getClass().getName(), "freshcache.sink.table", rule.table());
  }

  private void commitPending() {
    pending.keySet().retainAll(consumer.assignment());
    if (pending.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(pending);
      pending.clear();
      lastCommitNanos = System.nanoTime();
    } catch (RebalanceInProgressException e) {
      log.debug("sink offset commit deferred by a rebalance; {} offsets kept", pending.size());
    } catch (KafkaException e) {
      // kept for the next commit; uncommitted offsets are only replayed, never lost
      log.warn("sink offset commit failed, keeping {} offsets for the next one: {}", pending.size(),
          e.toString());
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (!buffer.isEmpty() && !flushing) {
        try {
          int n = writeOnce(new ArrayList<>(buffer.values()));
          written.addAndGet(n);
          buffer.clear();
          buffered.set(0);
          deadLetters.awaitAll();
        } catch (SQLException | InterruptedException | RuntimeException e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          db.disconnect();
          log.warn("sink could not flush before losing {}; the next owner writes those rows again: {}",
              partitions, e.toString());
        }
      }
      if (buffer.isEmpty()) {
        Map<TopicPartition, OffsetAndMetadata> revoked = new HashMap<>();
        for (TopicPartition tp : partitions) {
          OffsetAndMetadata o = pending.get(tp);
          if (o != null) {
            revoked.put(tp, o);
          }
        }
        if (!revoked.isEmpty()) {
          try {
            consumer.commitSync(revoked);
          } catch (KafkaException e) {
            log.warn("sink commit on revoke failed: {}", e.toString());
          }
        }
      }
      pending.keySet().removeAll(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      retry.onAssigned(partitions);
      if (!partitions.isEmpty()) {
        log.info("write-behind sink assigned {}", partitions);
      }
    }
  }

  /** The sink was asked to stop while the database stayed down. */
  private static final class Abandoned extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Abandoned() {
      super(null, null, false, false);
    }
  }
}
