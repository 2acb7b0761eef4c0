package io.freshcache.cdc;

import io.freshcache.cdc.internal.DebeziumKafkaPipeline;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Captures row changes of PostgreSQL tables and publishes them as cache events on Kafka.
 *
 * <p>{@link #start(CdcIngestConfig)} checks the database (including every rule against the
 * catalog) and Kafka, then runs a Debezium embedded engine (PostgreSQL connector, {@code pgoutput})
 * on its own thread. Each insert or update of a table that has a {@link TableRule} becomes an
 * {@code invalidate}, or an {@code upsert} carrying the after-image in the rule's codec; a delete
 * becomes {@code delete}. Events are keyed by the rule's {@link KeyTemplate}, versioned by the
 * change's LSN or the rule's row-version column, and sent to {@link CdcIngestConfig#topic()} with
 * the cache key as record key, so all events of one key stay in order in one partition. A
 * {@code TRUNCATE} becomes an {@code invalidate_namespace} event keyed {@code service:entity:*},
 * one copy to every partition (so that each copy follows every earlier event of its partition's
 * keys), or, if its rule says {@code truncate: ignore}, is logged and counted
 * ({@link TableRule.TruncateMode}).
 *
 * <p>Delivery: a change's source offset is committed only after Kafka has acknowledged all events
 * of its batch (idempotent producer, {@code acks=all}). A crash loses nothing and repeats at most
 * the changes since the last offset flush ({@link CdcIngestConfig#offsetFlushInterval()}). If Kafka
 * does not acknowledge an event within the producer's delivery timeout (2 min), or a rule does not
 * fit its table, the engine stops without committing the batch: {@link #isRunning()} turns false
 * and {@link #failure()} says why ({@link EventDeliveryException}, {@link KeyMappingException});
 * restart to capture the batch again.
 *
 * <p>Thread-safe. Close it to stop capturing: the engine stops gracefully, committing the offsets
 * of everything acknowledged, and the replication slot stays for the next start.
 *
 * <pre>{@code
 * try (CdcIngest ingest = CdcIngest.start(CdcIngestConfig.fromEnv())) {
 *   ingest.awaitStreaming(Duration.ofSeconds(30));
 *   ingest.awaitTermination(Duration.ofDays(365));
 * }
 * }</pre>
 */
public final class CdcIngest implements AutoCloseable {
  private final CdcIngestConfig config;
  private final DebeziumKafkaPipeline pipeline;
  private final MeterRegistry registry;

  private CdcIngest(CdcIngestConfig config, DebeziumKafkaPipeline pipeline,
      MeterRegistry registry) {
    this.config = config;
    this.pipeline = pipeline;
    this.registry = registry;
  }

  /**
   * Checks that PostgreSQL is reachable with {@code wal_level=logical}, that the user may
   * replicate, that every rule fits its table, that the replication slot is not in use, and that
   * the Kafka topic exists (and, with {@link CdcIngestConfig.OffsetStorage#KAFKA}, creates the
   * offset topic if missing); then starts the engine. Returns once the engine thread runs; the
   * slot and publication are created asynchronously, see {@link #awaitStreaming(Duration)}. The
   * meters go to a new Prometheus registry of its own, {@link #meterRegistry()}.
   *
   * @param config the settings; not null
   * @return the running capture; close it to stop
   * @throws WalLevelException if the server's {@code wal_level} is not {@code logical}
   * @throws CdcStartupException if the database or Kafka is unreachable, a table or the topic is
   *     missing, a rule does not fit its table (a missing column, a template that is not the
   *     primary key), the user lacks {@code REPLICATION}, or the slot is still held by another
   *     process after {@link CdcIngestConfig#startupTimeout()}; the message says which and how to
   *     fix it
   * @throws NullPointerException if {@code config} is null
   */
  public static CdcIngest start(CdcIngestConfig config) {
    return start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  /**
   * As {@link #start(CdcIngestConfig)}, registering the meters ({@link CdcMetricNames}) in
   * {@code registry}.
   *
   * @param config the settings; not null
   * @param registry where the meters go, e.g. a {@code PrometheusMeterRegistry}; not null
   * @return the running capture; close it to stop
   * @throws WalLevelException if the server's {@code wal_level} is not {@code logical}
   * @throws CdcStartupException as {@link #start(CdcIngestConfig)}
   * @throws NullPointerException if {@code config} or {@code registry} is null
   */
  public static CdcIngest start(CdcIngestConfig config, MeterRegistry registry) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(registry, "registry");
    return new CdcIngest(config, DebeziumKafkaPipeline.start(config, registry), registry);
  }

  /**
   * The Debezium engine and PostgreSQL connector properties cdc-ingest runs {@code config} with
   * (offset store, slot, publication, table filter, poll interval, batch size, heartbeat): to run
   * the same connector elsewhere, e.g. as a benchmark baseline or as the base of a Kafka Connect
   * connector configuration with {@link io.freshcache.cdc.connect.CacheEventTransform}.
   *
   * @param config the settings; not null
   * @return a new properties object; changing it changes nothing here. It holds the database
   *     password in clear text
   * @throws NullPointerException if {@code config} is null
   */
  public static java.util.Properties debeziumProperties(CdcIngestConfig config) {
    return io.freshcache.cdc.internal.DebeziumKafkaPipeline.engineProperties(
        Objects.requireNonNull(config, "config"));
  }

  /**
   * Waits until PostgreSQL streams changes to the engine: its connector task has started (so the
   * replication slot and publication exist) and the slot is active. Changes committed after the
   * slot was created are delivered even if they happen before this returns.
   *
   * @param timeout how long to wait at most; not null
   * @return true when streaming, false if the timeout passed first
   * @throws CdcEngineException if the engine stopped (failed, or was closed) before streaming
   * @throws CdcStartupException if the slot's state cannot be read from the database
   * @throws InterruptedException if the calling thread is interrupted while waiting
   * @throws NullPointerException if {@code timeout} is null
   */
  public boolean awaitStreaming(Duration timeout) throws InterruptedException {
    return pipeline.awaitStreaming(Objects.requireNonNull(timeout, "timeout"));
  }

  /**
   * Waits until the engine stops, because of {@link #close()} or a failure.
   *
   * @param timeout how long to wait at most; not null
   * @return true if the engine has stopped, false if the timeout passed first
   * @throws InterruptedException if the calling thread is interrupted while waiting
   * @throws NullPointerException if {@code timeout} is null
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return pipeline.awaitTermination(Objects.requireNonNull(timeout, "timeout"));
  }

  /** @return true from {@link #start} until the engine stops (closed or failed) */
  public boolean isRunning() {
    return pipeline.isRunning();
  }

  /**
   * @return why the engine stopped, if it stopped with an error; the cause is the original
   *     failure, e.g. an {@link EventDeliveryException}. Empty while it runs and after a clean
   *     stop
   */
  public Optional<CdcEngineException> failure() {
    return pipeline.failure();
  }

  /** @return the number of cache events Kafka has acknowledged since start */
  public long eventsProduced() {
    return pipeline.eventsProduced();
  }

  /**
   * @return the number of changed rows skipped because no valid cache key names them (a null or
   *     unrenderable key column, or a value that makes an invalid key); each is logged. No client
   *     can cache such a row under the template, so nothing goes stale.
   */
  public long rowsWithoutKey() {
    return pipeline.rowsWithoutKey();
  }

  /**
   * A sample of the end-to-end lag: from the commit of the last change of the most recent batch
   * (its commit timestamp, microsecond precision, from the database's clock) to Kafka's
   * acknowledgement of its event (this machine's clock).
   *
   * @return the lag, or empty until the first event was acknowledged
   */
  public Optional<Duration> lastCommitToProduceLag() {
    return pipeline.lastCommitToProduceLag();
  }

  /**
   * @return the commit-to-acknowledgement lag of every change since start (histogram, with p50
   *     and p99 in its snapshot)
   */
  public Timer commitToProduceLag() {
    return pipeline.commitToProduceLag();
  }

  /** @return the registry holding this capture's meters */
  public MeterRegistry meterRegistry() {
    return registry;
  }

  /**
   * Reads the engine's and the replication slot's state (the slot at most once a second).
   *
   * @return up while the engine runs and PostgreSQL streams to it
   */
  public CdcHealth health() {
    DebeziumKafkaPipeline.SlotState slot = pipeline.slotState();
    Optional<CdcEngineException> failure = failure();
    String engine = failure.isPresent() ? "failed" : !isRunning() ? "stopped"
        : pipeline.tasksStarted() ? "running" : "starting";
    boolean up = "running".equals(engine) && slot.active();
    String problem = failure.map(Throwable::getMessage).orElse(
        up ? null : !isRunning() ? "engine stopped" : slot.error() != null ? slot.error()
            : "replication slot " + config.slotName() + " is not active");
    double lagMs = lastCommitToProduceLag().map(d -> d.toNanos() / 1e6).orElse(-1.0);
    return new CdcHealth(up, engine, slot.active(), slot.lagBytes(), eventsProduced(), lagMs,
        problem);
  }

  /** @return the configuration this capture runs with */
  public CdcIngestConfig config() {
    return config;
  }

  /**
   * Stops the engine gracefully (it commits the offsets of every acknowledged change), then
   * flushes and closes the producer. Waits up to 60 s for the engine. Idempotent; the replication
   * slot is kept.
   */
  @Override
  public void close() {
    pipeline.close();
  }
}
