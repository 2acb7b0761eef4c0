package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcEngineException;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.CdcStartupException;
import io.freshcache.protocol.CacheException;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running capture: the Debezium async embedded engine on its own thread, feeding
 * {@link AckThenCommitConsumer}, which produces to Kafka. Behind {@link io.freshcache.cdc.CdcIngest}.
 *
 * <p>Lifecycle: {@link State} changes only by compare-and-set, so {@link #close()} runs once
 * however many threads call it (a shutdown hook and the main thread, say). The engine reports its
 * progress through callbacks: {@code taskStarted} (the connector task is up and the replication
 * slot exists) and the completion callback (the engine has stopped, with or without an error);
 * both complete futures here that the waiting methods block on, so nothing sleeps to poll a flag.
 *
 * <p>"Streaming" means PostgreSQL is sending WAL to us: the task has started and the slot is
 * {@code active} in {@code pg_replication_slots}. Preflight has refused a slot that was active
 * before we started, so an active slot is ours. Changes committed after the slot was created are
 * delivered even before streaming starts (the slot keeps them), so waiting for streaming matters
 * for knowing the pipeline works end to end, not for losing nothing.
 *
 * <p>Stopping: {@code close()} of the async engine throws {@link IllegalStateException} while its
 * tasks are starting (it would leak their connections) and after the engine has stopped or failed;
 * we retry the first case until the tasks have started and ignore the others. The producer closes
 * after the engine, so the last batch's sends are not cut off.
 */
public final class DebeziumKafkaPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DebeziumKafkaPipeline.class);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  /** How long close waits for the batch in flight to be acknowledged before closing the engine. */
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration SLOT_POLL = Duration.ofMillis(20);

  enum State { RUNNING, CLOSING, CLOSED }

  private final CdcIngestConfig config;
  private final Producer<String, byte[]> producer;
  private final RowChangeMapper mapper;
  private final AckThenCommitConsumer consumer;
  private final CdcMeters meters;
  private final SlotProbe slotProbe;
  /** Reads the event topic's partition count before each truncate fan-out. */
  private final Admin admin;
  private final ExecutorService engineThread;
  private final CompletableFuture<Void> tasksStarted = new CompletableFuture<>();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final AtomicReference<State> state = new AtomicReference<>(State.RUNNING);
  private final DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;

  private DebeziumKafkaPipeline(CdcIngestConfig config, Producer<String, byte[]> producer,
      Admin admin, Preflight.TopicInfo topic, MeterRegistry registry, Clock clock) {
    this.config = config;
    this.producer = producer;
    this.mapper = new RowChangeMapper(config.connectorName(), config.rules(), clock);
    this.meters = new CdcMeters(registry, config.connectorName());
    this.slotProbe = new SlotProbe(config);
    this.admin = admin;
    this.consumer = new AckThenCommitConsumer(mapper, producer, config.topic(),
        TopicPartitionCount.of(config.topic(), topic.partitions(), admin, producer,
            config.startupTimeout()), maxEventBytes(config, topic), clock, meters);
    meters.bind(mapper, slotProbe, this::isRunning);
    this.engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
        .using(EngineProperties.of(config))
        .using(taskCallbacks(tasksStarted, config))
        .using((success, message, error) -> completed(success, message, error))
        .notifying(consumer)
        .build();
    this.engineThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "freshcache-cdc-engine-" + config.connectorName());
      t.setDaemon(false);
      return t;
    });
  }

  /**
   * Checks the database and Kafka, then starts the engine on its own thread.
   *
   * @param config the settings
   * @param registry where the meters go
   * @return the running pipeline
   * @throws CdcStartupException if a check fails or the producer or engine cannot be built
   */
  public static DebeziumKafkaPipeline start(CdcIngestConfig config, MeterRegistry registry) {
    Preflight.checkDatabase(config);
    Preflight.TopicInfo topic = Preflight.checkTopic(config);
    if (config.offsetStorage() == CdcIngestConfig.OffsetStorage.KAFKA) {
      Preflight.ensureOffsetTopic(config);
    } else {
      createOffsetDirectory(config.offsetFile());
    }
    Producer<String, byte[]> producer;
    try {
      producer = new KafkaProducer<>(producerProperties(config));
    } catch (KafkaException e) {
      throw new CdcStartupException("cannot create the Kafka producer for "
          + config.kafka().bootstrapServers() + ": " + e.getMessage(), e);
    }
    try {
      producer.partitionsFor(config.topic()); // metadata now, not on the first change
    } catch (KafkaException e) {
      producer.close(Duration.ZERO);
      throw new CdcStartupException("cannot read the metadata of topic " + config.topic() + ": "
          + e.getMessage(), e);
    }
    DebeziumKafkaPipeline pipeline;
    Admin admin = null;
    try {
      admin = Admin.create(Preflight.adminProperties(config));
      pipeline = new DebeziumKafkaPipeline(config, producer, admin, topic, registry,
          Clock.systemUTC());
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      if (admin != null) {
        admin.close(Duration.ZERO);
      }
      throw new CdcStartupException("cannot build the Debezium engine: " + e.getMessage(), e);
    }
    LOG.info("Starting Debezium engine {} on slot {}, publication {}, tables {}; events to {}",
        config.connectorName(), config.slotName(), config.publicationName(), config.tables(),
        config.topic());
    pipeline.engineThread.execute(pipeline.engine);
    return pipeline;
  }

  /**
   * @param c the settings
   * @return the engine properties for {@code c}, see {@link EngineProperties}
   */
  public static Properties engineProperties(CdcIngestConfig c) {
    return EngineProperties.of(c);
  }

  /**
   * The largest record an upsert is sent as: the configured limit, lowered to the topic's
   * {@code max.message.bytes} (the producer's {@code max.request.size} is set above it).
   */
  static int maxEventBytes(CdcIngestConfig c, Preflight.TopicInfo topic) {
    return Math.min(c.maxEventBytes(), topic.maxMessageBytes());
  }

  static Map<String, Object> producerProperties(CdcIngestConfig c) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "freshcache-cdc-" + c.connectorName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    // the handler flushes after each batch, so linger only matters inside a batch being sent
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // never the limit that refuses an event: maxEventBytes turns larger upserts into invalidations
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        Integer.toString(Math.max(1 << 20, c.maxEventBytes() + (64 << 10))));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return c.kafka().apply(p, CdcIngestConfig.RESERVED_KAFKA_PROPERTIES);
  }

  /**
   * Waits until PostgreSQL streams to the engine (see the class documentation).
   *
   * @param timeout how long to wait at most
   * @return true when streaming, false if {@code timeout} passed first
   * @throws CdcEngineException if the engine stopped (failed or was closed) before streaming
   * @throws CdcStartupException if the slot's state cannot be read
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitStreaming(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    awaitEither(tasksStarted, terminated, timeout);
    if (!tasksStarted.isDone() && !terminated.isDone()) {
      return false;
    }
    if (terminated.isDone()) {
      throw stoppedBeforeStreaming();
    }
    try (Connection conn = Preflight.connect(config);
        PreparedStatement ps = conn.prepareStatement(
            "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, config.slotName());
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && rs.getBoolean(1)) {
            return true;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        if (awaitTermination(Duration.ofNanos(Math.min(left, SLOT_POLL.toNanos())))) {
          throw stoppedBeforeStreaming();
        }
      }
    } catch (SQLException e) {
      throw new CdcStartupException("cannot read the state of replication slot "
          + config.slotName() + " at " + config.databaseAddress() + ": " + e.getMessage(), e);
    }
  }

  /** @return true until the engine has stopped, by {@link #close()} or by a failure */
  public boolean isRunning() {
    return !terminated.isDone();
  }

  /**
   * @param timeout how long to wait at most
   * @return true if the engine stopped within {@code timeout}
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (ExecutionException e) {
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }

  /** @return why the engine stopped, if it failed */
  public Optional<CdcEngineException> failure() {
    if (!terminated.isCompletedExceptionally()) {
      return Optional.empty();
    }
    try {
      terminated.getNow(null);
      return Optional.empty();
    } catch (java.util.concurrent.CompletionException e) {
      return Optional.of((CdcEngineException) e.getCause());
    }
  }

  /** @return events acknowledged by Kafka since start */
  public long eventsProduced() {
    return consumer.eventsProduced();
  }

  /** @return rows skipped because no valid cache key names them */
  public long rowsWithoutKey() {
    return consumer.skippedRows();
  }

  /** @return commit-to-acknowledgement time of the last batch's last change, if any yet */
  public Optional<Duration> lastCommitToProduceLag() {
    long micros = consumer.lastLagMicros();
    return micros < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(micros * 1_000));
  }

  /** @return the commit-to-acknowledgement lag timer, for in-process readers */
  public io.micrometer.core.instrument.Timer commitToProduceLag() {
    return meters.lagTimer();
  }

  /**
   * @return the replication slot's state, read at most once a second: active, WAL bytes retained
   *     (-1 if unknown), and the reason it could not be read (or null)
   */
  public SlotState slotState() {
    SlotProbe.State s = slotProbe.state();
    return new SlotState(s.active(), s.lagBytes(), s.error());
  }

  /**
   * The replication slot as {@code pg_replication_slots} shows it.
   *
   * @param active held by a walsender
   * @param lagBytes WAL bytes beyond the confirmed position, -1 if unknown
   * @param error why it could not be read, or null
   */
  public record SlotState(boolean active, long lagBytes, String error) {}

  /** @return whether the connector task has started (the slot exists) */
  public boolean tasksStarted() {
    return tasksStarted.isDone();
  }

  @Override
  public void close() {
    if (!state.compareAndSet(State.RUNNING, State.CLOSING)) {
      return;
    }
    boolean interrupted = false;
    try {
      interrupted = stopEngine();
    } finally {
      engineThread.shutdown();
      producer.close(Duration.ofSeconds(10));
      admin.close(Duration.ofSeconds(2));
      slotProbe.close();
      state.set(State.CLOSED);
      LOG.info("Stopped {}: {} events produced", config.connectorName(), eventsProduced());
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** @return whether the calling thread was interrupted while waiting */
  private boolean stopEngine() {
    long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
    try {
      // let the batch in flight be acknowledged and marked, so close commits its offsets
      if (!consumer.drain(DRAIN_TIMEOUT)) {
        LOG.warn("The batch in flight of {} was not acknowledged within {} s; it is produced again"
            + " after the restart", config.connectorName(), DRAIN_TIMEOUT.toSeconds());
      }
      while (!terminated.isDone() && System.nanoTime() < deadline) {
        if (requestEngineClose()) {
          break;
        }
        // tasks still starting: retry once they have; already stopping: the wait below covers it
        awaitEither(tasksStarted, terminated, Duration.ofMillis(100));
      }
      if (!awaitTermination(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
        LOG.warn("Debezium engine {} did not stop within {} s", config.connectorName(),
            STOP_TIMEOUT.toSeconds());
      }
      return false;
    } catch (InterruptedException e) {
      LOG.warn("Interrupted while stopping the Debezium engine {}", config.connectorName());
      return true;
    }
  }

  /** @return true if the engine accepted the request (or closing failed for good) */
  private boolean requestEngineClose() {
    try {
      engine.close();
      return true;
    } catch (IllegalStateException e) {
      LOG.debug("Engine not closable now: {}", e.getMessage());
      return false;
    } catch (IOException e) {
      LOG.warn("Closing the Debezium engine failed: {}", e.getMessage());
      return true;
    }
  }

  private static void awaitEither(CompletableFuture<?> a, CompletableFuture<?> b, Duration timeout)
      throws InterruptedException {
    try {
      CompletableFuture.anyOf(a, b).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // either is fine: the caller re-checks the state
    }
  }

  private static DebeziumEngine.ConnectorCallback taskCallbacks(CompletableFuture<Void> started,
      CdcIngestConfig config) {
    return new DebeziumEngine.ConnectorCallback() {
      @Override
      public void taskStarted() {
        LOG.info("Connector task started: slot {} ready", config.slotName());
        started.complete(null);
      }
    };
  }

  private void completed(boolean success, String message, Throwable error) {
    if (success && error == null) {
      terminated.complete(null);
      return;
    }
    Throwable cause = rootCause(error);
    if (!(cause instanceof io.freshcache.cdc.EventDeliveryException)
        && !(cause instanceof io.freshcache.cdc.KeyMappingException)) {
      meters.error("engine");
    }
    String reason = cause == null || cause.getMessage() == null ? message
        : cause instanceof CacheException ce ? withoutPrefix(ce) : cause.getMessage();
    if (reason != null && reason.contains("no longer available on the server")) {
      reason = lostPosition();
    }
    LOG.error("Debezium engine {} stopped with an error: {}", config.connectorName(), reason);
    terminated.completeExceptionally(
        new CdcEngineException("Debezium engine " + config.connectorName() + " stopped: " + reason,
            cause != null ? cause : error));
  }

  /**
   * Debezium's own message for a stored offset older than the slot prints the whole offset
   * context; what the operator needs is what happened and what to do.
   */
  private String lostPosition() {
    return "the stored offsets of connector " + config.connectorName() + " point before the start"
        + " of replication slot " + config.slotName() + " (the slot was dropped and created again,"
        + " or a new slot got an old connector name): changes in between never reached the cache."
        + " Flush the cached entries of the captured tables, then start with a new"
        + " CDC_CONNECTOR_NAME (its offsets start empty)";
  }

  /** The message without the "[component] " prefix that {@link CacheException} adds. */
  private static String withoutPrefix(CacheException e) {
    String prefix = "[" + e.component() + "] ";
    String m = e.getMessage();
    return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
  }

  /** Our own exception if one is in the chain, else the innermost cause. */
  private static Throwable rootCause(Throwable error) {
    Throwable innermost = error;
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof CacheException) {
        return t;
      }
      innermost = t;
      if (t.getCause() == t) {
        break;
      }
    }
    return innermost;
  }

  private CdcEngineException stoppedBeforeStreaming() {
    return failure().orElseGet(() -> new CdcEngineException("Debezium engine "
        + config.connectorName() + " stopped before streaming started", null));
  }

  private static void createOffsetDirectory(Path offsetFile) {
    Path dir = offsetFile.toAbsolutePath().getParent();
    try {
      if (dir != null) {
        Files.createDirectories(dir);
      }
    } catch (IOException e) {
      throw new CdcStartupException("cannot create the directory of offset file " + offsetFile
          + ": " + e.getMessage(), e);
    }
  }
}
