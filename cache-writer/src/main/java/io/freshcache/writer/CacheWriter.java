package io.freshcache.writer;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.InvalidEventException;
import io.freshcache.protocol.RetriableCacheException;
import io.freshcache.redis.RedisTopology;
import io.freshcache.writer.internal.DeadLetters;
import io.freshcache.writer.internal.FencedApplier;
import io.freshcache.writer.internal.HealthProbe;
import io.freshcache.writer.internal.NamespaceEvictor;
import io.freshcache.writer.internal.NoticePublisher;
import io.freshcache.writer.internal.PausedRetry;
import io.freshcache.writer.internal.ReplicaAcks;
import io.freshcache.writer.internal.Pipelining;
import io.freshcache.writer.internal.WriterKafkaProperties;
import io.freshcache.writer.internal.WriterMetrics;
import io.lettuce.core.RedisException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
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
 * One cache-writer worker: a Kafka consumer in the writer group that applies cache events to
 * Redis Cluster, tells near caches, and commits offsets only after Redis acknowledged both.
 *
 * <p>Each poll yields a batch. Records that are not valid events (undecodable, unknown op, bad
 * key, missing version) go to the dead-letter topic with headers naming the error and their
 * origin ({@code freshcache.error}, {@code freshcache.original.topic}, {@code .partition},
 * {@code .offset}). An event with a valid key that cannot be carried as it is (unknown codec,
 * payload over {@link CacheWriterConfig#maxPayloadBytes()}) is dead-lettered too, for the record,
 * and applied as an invalidation of its key at its version ({@link #downgraded()}): the value it
 * carried cannot be cached, but the old value must not stay. The valid ones are applied in one pipelined round through the fenced
 * {@code apply} script. The keys of the applied and of the stale events (a stale event means
 * Redis holds something newer, which a near cache may not have seen) are then grouped by
 * near-cache notice channel and each channel gets one notice (sequence number and keys, see
 * {@link io.freshcache.protocol.NoticeChannels}). Only when every event of a batch is applied
 * (and, with {@link CacheWriterConfig#replicaAcks()}, acknowledged by the replicas of every
 * master it touched, so that a failover cannot take an acknowledged apply with it), its notices
 * published and every dead letter acknowledged are the batch's offsets committed.
 * If Redis fails, the worker pauses its partitions, retries the same step with capped
 * exponential backoff and never skips: the at-least-once guarantee (G5) rests on this, and on
 * {@code apply} being idempotent and fenced. A failed master still listed in the topology is
 * not waited for ({@link io.freshcache.writer.internal.Pipelining}), and {@link #health()}
 * reports the worker down while a fetched event waits longer than
 * {@link CacheWriterConfig#maxUnappliedAge()}.
 *
 * <p>Rounds overlap to keep Redis busy: batch N's applies go out in one write together with the
 * notices of batch N-1 (whose applies are already acknowledged), and while Redis works the worker
 * polls and decodes batch N+1. Batch N-1 is committed when that round is answered. When nothing
 * follows a batch, its notices go out at once, so a quiet stream does not delay them.
 *
 * <p>A namespace invalidation ({@link CacheEvent.Op#INVALIDATE_NAMESPACE}, a truncate) is applied
 * step by step: what precedes it in the batch is applied and noticed first, then every key of the
 * namespace is evicted ({@link NamespaceEvictor}) and a namespace notice goes to every channel.
 * Producers send one copy per partition, so each partition's copy follows every earlier event
 * of its keys.
 *
 * <p>With a {@link CacheWriterConfig#sink()} the worker also runs a {@link WriteBehindSink} in
 * its own consumer group. Meters are described in {@link WriterMetricNames}.
 *
 * <p>Start workers with {@link #start(CacheWriterConfig)}; more workers in one group share the
 * partitions. {@link #close()} finishes the batch in flight, commits it and leaves the group; if
 * Redis stays down it gives up after 10 s without committing the unapplied batch.
 */
public final class CacheWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheWriter.class);
  /** How long a stopping worker keeps retrying its batch in flight. */
  private static final long STOP_GRACE_MS = 10_000;
  private static final Duration POLL = Duration.ofMillis(200);
  /** The namespace of cdc-ingest's freshness heartbeat rows ({@code FreshnessHeartbeat}). */
  private static final String HEARTBEAT_NAMESPACE = "freshcache:heartbeat";

  private final CacheWriterConfig config;
  private final RedisTopology connection;
  private final FencedApplier applier;
  private final NoticePublisher notices;
  private final NamespaceEvictor evictor;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final DeadLetters deadLetters;
  private final PausedRetry retry;
  private final WriterMetrics metrics;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final AtomicInteger assigned = new AtomicInteger();
  /** Next offset after the last applied event, per assigned partition; only ever grows. */
  private final Map<TopicPartition, OffsetAndMetadata> appliedOffsets = new HashMap<>();
  private volatile boolean running = true;
  private volatile WriteBehindSink sink;
  private HealthProbe health;
  private boolean healthClosed;
  /** Fetched and decoded while the previous round was in Redis; worker thread only. */
  private Batch prefetched;
  /** Applied, notices not yet confirmed, offsets not yet committed; worker thread only. */
  private Applied unnoticed;
  private long stopDeadlineNanos = Long.MAX_VALUE;
  /** When the oldest fetched, not yet applied batch was fetched (nanoTime), or {@link #NONE}. */
  private volatile long unappliedSinceNanos = NONE;
  /** Next offset after the last fetched record, per assigned partition; worker thread only. */
  private final Map<TopicPartition, Long> fetchedTo = new HashMap<>();
  /** First offset fetched since the partition was assigned; worker thread only. */
  private final Map<TopicPartition, Long> firstFetched = new HashMap<>();
  private static final long NONE = Long.MIN_VALUE;

  private CacheWriter(CacheWriterConfig config, MeterRegistry registry) {
    this.config = config;
    this.metrics = new WriterMetrics(registry, config.groupId(), this::oldestUnappliedNanos);
    this.connection = new RedisTopology(config.redis(), null);
    try {
      connection.connect();
      var probes = RedisTopology.basicProbes();
      probes.put("SCAN with MATCH", c -> c.scan(io.lettuce.core.ScanArgs.Builder.matches("{freshcache-acl-probe*").limit(1)));
      probes.put("ROLE", c -> c.role());
      probes.put("WAIT", c -> c.waitForReplication(0, 1));
      connection.checkPermissions(probes);
    } catch (RuntimeException e) {
      connection.close();
      throw e;
    }
    ReplicaAcks replicaAcks = new ReplicaAcks(connection, config.replicaAcks(), config.replicaAckTimeout(),
        config.redis().commandTimeout());
    this.applier = new FencedApplier(connection, config.redis().commandTimeout(), config.fenceTtl(), replicaAcks);
    this.notices = new NoticePublisher(connection, config.redis().commandTimeout());
    this.evictor = new NamespaceEvictor(connection, config.redis().commandTimeout(), replicaAcks);
    KafkaConsumer<byte[], byte[]> c = null;
    try {
      c = new KafkaConsumer<>(consumerProps(config));
      this.deadLetters = new DeadLetters(config.kafka(), config.dlqTopic());
    } catch (RuntimeException e) {
      // nothing of a half-built writer may stay open: the Redis client holds threads
      if (c != null) {
        c.close(Duration.ZERO);
      }
      connection.close();
      throw e;
    }
    this.consumer = c;
    this.retry = new PausedRetry(consumer);
    this.thread = new Thread(this::run, "freshcache-writer-" + config.groupId());
  }

  /**
   * Connects to Redis and Kafka and starts consuming on a worker thread, with meters in a
   * registry of its own ({@link #meterRegistry()}, a Prometheus registry).
   *
   * @param config the settings; not null
   * @return the running worker; close it to stop
   * @throws io.lettuce.core.RedisException if Redis cannot be reached
   * @throws org.apache.kafka.common.KafkaException if the Kafka clients cannot be created
   * @throws IllegalArgumentException if a sink rule does not fit its table
   * @throws IllegalStateException if the sink's database cannot be reached
   * @throws NullPointerException if {@code config} is null
   */
  public static CacheWriter start(CacheWriterConfig config) {
    return start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  /**
   * Same as {@link #start(CacheWriterConfig)} with meters in {@code registry}. Two workers of one
   * group must not share a registry (their meters have the same tags).
   *
   * @param config the settings; not null
   * @param registry where the worker's and the sink's meters go ({@link WriterMetricNames}); not
   *     null
   * @return the running worker; close it to stop
   * @throws io.lettuce.core.RedisException if Redis cannot be reached
   * @throws org.apache.kafka.common.KafkaException if the Kafka clients cannot be created
   * @throws IllegalArgumentException if a sink rule does not fit its table
   * @throws IllegalStateException if the sink's database cannot be reached
   * @throws NullPointerException if an argument is null
   */
  public static CacheWriter start(CacheWriterConfig config, MeterRegistry registry) {
    CacheWriter w = new CacheWriter(config, registry);
    if (config.sink() != null) {
      try {
        w.sink = WriteBehindSink.start(config.sink(), config.kafka(), config.groupId(),
            config.dlqTopic(), config.sessionTimeout(), registry);
      } catch (RuntimeException e) {
        w.closeClients();
        throw e;
      }
    }
    w.thread.start();
    log.info("cache-writer started: group {} on {}", config.groupId(), config.topics());
    return w;
  }

  /** @return events applied to Redis */
  public long applied() {
    return metrics.applied.get();
  }

  /** @return events skipped because a newer version was already applied */
  public long stale() {
    return metrics.stale.get();
  }

  /** @return records sent to the dead-letter topic */
  public long deadLettered() {
    return metrics.deadLettered.get();
  }

  /**
   * @return events that could not be applied as they were (an upsert whose payload is over
   *     {@link CacheWriterConfig#maxPayloadBytes()} or whose codec is unknown) and were applied as
   *     an invalidation of their key instead; each was also dead-lettered
   */
  public long downgraded() {
    return metrics.downgraded.get();
  }

  /** @return retries after Redis failures (of an apply or of its notices) */
  public long retries() {
    return metrics.retries.get();
  }

  /** @return near-cache notices published */
  public long noticesPublished() {
    return metrics.notices.get();
  }

  /**
   * @return milliseconds from the source commit to the apply of the last applied CDC event, or
   *     -1 if none carried a commit time
   */
  public long lastCommitToApplyMs() {
    return metrics.lastCommitToApplyMs.get();
  }

  /**
   * @return records of the assigned partitions not yet applied, as of the last poll or retry:
   *     those behind the end of each partition plus those fetched and not yet applied (and
   *     noticed)
   */
  public long consumerLag() {
    return metrics.totalLag();
  }

  /**
   * @return how long the oldest event this worker fetched and has not yet applied has waited
   *     since it was fetched, in milliseconds; 0 when every fetched event is applied
   */
  public long oldestUnappliedMs() {
    return TimeUnit.NANOSECONDS.toMillis(oldestUnappliedNanos());
  }

  private long oldestUnappliedNanos() {
    long since = unappliedSinceNanos;
    return since == NONE ? 0 : Math.max(0, System.nanoTime() - since);
  }

  /** @return the number of partitions assigned to this worker now */
  public long assignedPartitions() {
    return assigned.get();
  }

  /** @return the registry holding this worker's meters */
  public MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  /** @return the write-behind sink, or {@code null} if the config has none */
  public WriteBehindSink sink() {
    return sink;
  }

  /** @return the settings this worker runs with */
  public CacheWriterConfig config() {
    return config;
  }

  /** @return whether the worker thread is still consuming */
  public boolean isRunning() {
    return running && thread.isAlive();
  }

  /**
   * @return the error that stopped the worker, or {@code null} while it runs and after a
   *     graceful stop
   */
  public Throwable failure() {
    return failure.get();
  }

  /**
   * Probes Kafka and Redis (each with a timeout of about a second; answers are cached for a
   * second) and tells whether fetched events get applied: the worker is not up while one has
   * waited longer than {@link CacheWriterConfig#maxUnappliedAge()} (Redis unreachable, a shard
   * without a master). Safe to call from any thread.
   *
   * @return the worker's health
   */
  public synchronized WriterHealth health() {
    if (healthClosed) {
      return new WriterHealth(false, false, false, false, oldestUnappliedMs(), sink == null ? null : sink.databaseUp());
    }
    if (health == null) {
      Supplier<Boolean> database = () -> sink == null ? null : sink.databaseUp();
      health = new HealthProbe(connection, config.kafka(), this::isRunning, this::oldestUnappliedMs,
          config.maxUnappliedAge().toMillis(), database);
    }
    return health.check();
  }

  /**
   * Blocks until the worker stops (after {@link #close()} or a fatal error).
   *
   * @param timeout how long to wait at most, in whole milliseconds; not null
   * @return {@code true} if it stopped within {@code timeout}
   * @throws InterruptedException if interrupted while waiting
   * @throws NullPointerException if {@code timeout} is null
   */
  public boolean awaitStop(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Finishes the batch in flight, commits it, leaves the group and closes the connections; stops
   * the sink the same way, first. Waits up to 30 s for the worker to stop (a warning is logged if
   * it does not); returns early, with the interrupt flag set, if the calling thread is
   * interrupted.
   */
  @Override
  public void close() {
    running = false;
    WriteBehindSink s = sink;
    if (s != null) {
      s.close();
    }
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
      consumer.subscribe(config.topics(), new Rebalance());
      while (running) {
        Batch current = prefetched != null ? prefetched : fetch(unnoticed == null ? POLL : Duration.ZERO);
        prefetched = null;
        if (current == null) {
          if (unnoticed != null) {
            finishUnnoticed(); // nothing more came in: publish the last batch's notices now
          }
          continue;
        }
        if (current.hasNamespaceInvalidation()) {
          applyInOrder(current);
        } else {
          applyRound(current, true);
        }
      }
      // graceful stop: what was fetched is applied, what was applied is noticed, then committed
      if (prefetched != null) {
        Batch last = prefetched;
        prefetched = null;
        if (last.hasNamespaceInvalidation()) {
          applyInOrder(last);
        } else {
          applyRound(last, false);
        }
      }
      if (unnoticed != null) {
        finishUnnoticed();
      }
    } catch (Abandoned e) {
      log.warn("cache-writer stopping while Redis fails; the batch in flight stays uncommitted");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("cache-writer interrupted; the batch in flight stays uncommitted");
    } catch (Throwable t) {
      failure.set(t);
      log.error("cache-writer stopped by a fatal error", t);
    } finally {
      running = false;
      commitSync(consumer.assignment());
      closeClients();
      stopped.countDown();
    }
  }

  /**
   * One round of the pipeline: the applies of {@code current} and the notices of the previous
   * batch go out in one write; while Redis works, the next batch is polled and decoded; then the
   * previous batch is complete (applied and noticed) and its offsets are committed, and
   * {@code current} waits for its notices in the next round.
   */
  private void applyRound(Batch current, boolean prefetch) throws InterruptedException {
    Applied previous = unnoticed;
    List<CacheKey> noticeKeys = previous == null ? List.of() : previous.keys();
    long t0 = System.nanoTime();
    FencedApplier.Result result;
    NoticePublisher.Published published;
    FencedApplier.InFlight applies = null;
    try {
      // the applies and the previous batch's notices in one write
      record Sent(FencedApplier.InFlight applies, NoticePublisher.InFlight notices) {}
      Sent inFlight = Pipelining.write(connection,
          () -> new Sent(applier.enqueue(current.events()), notices.enqueue(noticeKeys)));
      applies = inFlight.applies();
      NoticePublisher.InFlight sent = inFlight.notices();
      if (prefetch && running) {
        prefetched = fetch(Duration.ZERO);
      }
      result = applier.await(applies);
      published = notices.await(sent);
    } catch (RetriableCacheException | RedisException e) {
      log.warn("round of {} events and {} notice keys failed, retrying step by step: {}", current.events().size(),
          noticeKeys.size(), e.getMessage());
      metrics.retries.incrementAndGet();
      noticeWhatCan(noticeKeys, applies);
      result = untilDone("apply", current.events().size(), () -> applier.apply(current.events()));
      published = untilDone("notify", noticeKeys.size(), () -> notices.publish(noticeKeys));
    }
    metrics.batchApplied(System.nanoTime() - t0);
    metrics.applied.addAndGet(result.applied());
    metrics.stale.addAndGet(result.stale());
    long now = System.currentTimeMillis();
    for (CacheEvent e : current.events()) {
      metrics.eventLags(now, e.source() == null ? 0 : e.source().commitTsMs(), e.producedAtMs(),
          HEARTBEAT_NAMESPACE.equals(e.key().namespaceName()));
    }
    if (previous != null && unnoticed == previous) { // else a rebalance already finished it
      noticed(published);
      complete(previous.offsets());
    }
    unnoticed = new Applied(result.noticeKeys(), current.offsets());
    appliedAllBut(prefetched);
  }

  /**
   * After a failed round, before its retries: publishes at once, in one attempt, the notices that
   * do not depend on what failed: the previous batch's (applied in full) and those of this batch's
   * keys whose applies Redis answered. A master that is down until its replica is promoted fails
   * the round for seconds, and its retries must not hold back the near caches of the healthy
   * shards, where Redis already serves the new values. Notices on a channel of the failed master
   * fail here and go out with the retries (which publish every notice again: a repeat is
   * harmless).
   *
   * @param previous the previous batch's keys
   * @param applies this batch's applies in flight, or {@code null} if they were not sent
   */
  private void noticeWhatCan(List<CacheKey> previous, FencedApplier.InFlight applies) {
    List<CacheKey> keys = new ArrayList<>(previous);
    if (applies != null) {
      keys.addAll(applier.answeredKeys(applies, config.redis().commandTimeout()));
    }
    if (keys.isEmpty()) {
      return;
    }
    try {
      noticed(notices.publish(keys));
    } catch (RetriableCacheException | RedisException e) {
      log.debug("early notices of {} keys partly failed (they go out with the retries): {}", keys.size(),
          e.getMessage());
    }
  }

  /** Every fetched batch is applied except {@code pending} (the prefetched one, or null). */
  private void appliedAllBut(Batch pending) {
    unappliedSinceNanos = pending == null ? NONE : pending.fetchedAtNanos();
  }

  /**
   * A batch with namespace invalidations, step by step and without overlap: the previous batch
   * is finished first; then the events before each namespace invalidation are applied and
   * noticed, the namespace is dropped and noticed, and so on; the batch is committed at the end.
   * So every namespace invalidation comes after every earlier event of its partition, as the
   * one-copy-per-partition design requires. If the worker dies midway, the whole batch is
   * applied again, which is harmless: apply is fenced and idempotent, eviction repeatable.
   */
  private void applyInOrder(Batch current) throws InterruptedException {
    if (unnoticed != null) {
      finishUnnoticed();
    }
    List<CacheEvent> segment = new ArrayList<>();
    for (CacheEvent e : current.events()) {
      if (e.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
        applySegment(segment);
        segment = new ArrayList<>();
        invalidateNamespace(e);
      } else {
        segment.add(e);
      }
    }
    applySegment(segment);
    appliedAllBut(prefetched);
    complete(current.offsets());
  }

  private void applySegment(List<CacheEvent> events) throws InterruptedException {
    if (events.isEmpty()) {
      return;
    }
    long t0 = System.nanoTime();
    FencedApplier.Result result = untilDone("apply", events.size(), () -> applier.apply(events));
    noticed(untilDone("notify", result.noticeKeys().size(), () -> notices.publish(result.noticeKeys())));
    metrics.batchApplied(System.nanoTime() - t0);
    metrics.applied.addAndGet(result.applied());
    metrics.stale.addAndGet(result.stale());
    long now = System.currentTimeMillis();
    for (CacheEvent e : events) {
      metrics.eventLags(now, e.source() == null ? 0 : e.source().commitTsMs(), e.producedAtMs(),
          HEARTBEAT_NAMESPACE.equals(e.key().namespaceName()));
    }
  }

  private void invalidateNamespace(CacheEvent e) throws InterruptedException {
    long t0 = System.nanoTime();
    NamespaceEvictor.Result r = untilDone("namespace invalidation of " + e.key(), 1,
        () -> evictor.evict(e.key()));
    noticed(untilDone("namespace notice", 1, () -> notices.publishNamespace(e.key())));
    metrics.namespaces.incrementAndGet();
    metrics.namespaceKeys.addAndGet(r.invalidated());
    metrics.eventLags(System.currentTimeMillis(), e.source() == null ? 0 : e.source().commitTsMs(),
        e.producedAtMs());
    log.info("invalidated namespace {}{}: {} keys in {} passes ({} physical keys scanned) in {} ms",
        e.key(), e.source() == null ? "" : " (truncate of " + e.source().table() + ")", r.invalidated(),
        NamespaceEvictor.PASSES, r.scanned(), (System.nanoTime() - t0) / 1_000_000);
  }

  /** Publishes the notices of the last applied batch and commits it. */
  private void finishUnnoticed() throws InterruptedException {
    Applied a = unnoticed;
    noticed(untilDone("notify", a.keys().size(), () -> notices.publish(a.keys())));
    unnoticed = null;
    complete(a.offsets());
  }

  private void noticed(NoticePublisher.Published p) {
    metrics.notices.addAndGet(p.notices());
    metrics.noticeKeys.addAndGet(p.keys());
  }

  /** A batch is applied and noticed: once its dead letters are acknowledged, commit it. */
  private void complete(Map<TopicPartition, OffsetAndMetadata> offsets) throws InterruptedException {
    deadLetters.awaitAll();
    appliedOffsets.putAll(offsets);
    commitAsync();
  }

  /** Polls once and decodes; poison goes to the dead-letter topic. @return the batch, or null */
  private Batch fetch(Duration timeout) {
    ConsumerRecords<byte[], byte[]> records = consumer.poll(timeout);
    assigned.set(consumer.assignment().size());
    long fetchedAt = System.nanoTime();
    for (TopicPartition tp : records.partitions()) {
      List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
      firstFetched.putIfAbsent(tp, rs.get(0).offset());
      fetchedTo.put(tp, rs.get(rs.size() - 1).offset() + 1);
    }
    updateLag();
    if (records.isEmpty()) {
      return null;
    }
    if (unappliedSinceNanos == NONE) {
      unappliedSinceNanos = fetchedAt;
    }
    List<CacheEvent> events = new ArrayList<>(records.count());
    List<TopicPartition> partitions = new ArrayList<>(records.count());
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      TopicPartition tp = new TopicPartition(r.topic(), r.partition());
      offsets.put(tp, new OffsetAndMetadata(r.offset() + 1));
      CacheEvent e;
      try {
        e = decode(r);
      } catch (InvalidEventException | IllegalArgumentException ex) {
        deadLetter(r, ex);
        continue;
      }
      String uncarried = uncarried(e);
      if (uncarried != null) {
        // the value cannot be written, but the key is known and its cached value is now old:
        // drop it (at the event's version, so the fence still orders it) and keep the record
        deadLetter(r, new IllegalArgumentException(uncarried));
        if (e.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
          continue; // carries no value; a bad codec field there is a producer's bug
        }
        metrics.downgraded.incrementAndGet();
        log.warn("{} of {} at version {} cannot be carried ({}); invalidating the key instead", e.op().wireName(),
            e.key(), e.version(), uncarried);
        e = CacheEvent.invalidate(e.key(), e.version(), e.producedAtMs());
      }
      events.add(e);
      partitions.add(tp);
    }
    return new Batch(events, partitions, offsets, fetchedAt);
  }

  /**
   * Decoded events of one poll, with the partition of each and the offsets to commit once they
   * are applied and noticed.
   */
  private record Batch(List<CacheEvent> events, List<TopicPartition> partitions,
      Map<TopicPartition, OffsetAndMetadata> offsets, long fetchedAtNanos) {
    boolean hasNamespaceInvalidation() {
      for (CacheEvent e : events) {
        if (e.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
          return true;
        }
      }
      return false;
    }

    Batch without(Collection<TopicPartition> gone) {
      List<CacheEvent> e = new ArrayList<>();
      List<TopicPartition> p = new ArrayList<>();
      for (int i = 0; i < events.size(); i++) {
        if (!gone.contains(partitions.get(i))) {
          e.add(events.get(i));
          p.add(partitions.get(i));
        }
      }
      Map<TopicPartition, OffsetAndMetadata> o = new HashMap<>(offsets);
      o.keySet().removeAll(gone);
      return new Batch(e, p, o, fetchedAtNanos);
    }
  }

  /** An applied batch whose notices are not yet confirmed: its keys and offsets. */
  private record Applied(List<CacheKey> keys, Map<TopicPartition, OffsetAndMetadata> offsets) {}

  private CacheEvent decode(ConsumerRecord<byte[], byte[]> r) {
    if (r.value() == null) {
      throw new IllegalArgumentException("record has no value");
    }
    return CacheEventJson.read(r.value());
  }

  /** @return why {@code e} cannot be applied as it is (unknown codec, payload too big), or null */
  private String uncarried(CacheEvent e) {
    if (e.codec() != null) {
      try {
        Codecs.byName(e.codec());
      } catch (IllegalArgumentException ex) {
        return ex.getMessage();
      }
    }
    if (e.payload() != null && e.payload().length > config.maxPayloadBytes()) {
      return "payload of " + e.key() + " has " + e.payload().length + " bytes, over the limit of "
          + config.maxPayloadBytes();
    }
    return null;
  }

  private void deadLetter(ConsumerRecord<byte[], byte[]> r, RuntimeException ex) {
    metrics.deadLettered.incrementAndGet();
    log.warn("dead-lettering {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), ex.getMessage());
    deadLetters.send(r, ex);
  }

  /** Runs {@code step} until it succeeds, holding the partitions paused while it fails. */
  private <T> T untilDone(String what, int size, Supplier<T> step) throws InterruptedException {
    while (true) {
      try {
        T t = step.get();
        if (retry.paused()) {
          log.info("redis is back; {} went through after {} retries in all", what, metrics.retries.get());
        }
        retry.succeeded();
        return t;
      } catch (RetriableCacheException | RedisException e) {
        metrics.retries.incrementAndGet();
        if (!running) {
          if (stopDeadlineNanos == Long.MAX_VALUE) {
            stopDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_GRACE_MS);
          } else if (System.nanoTime() > stopDeadlineNanos) {
            throw new Abandoned();
          }
        }
        log.warn("{} of {} events failed, retrying in {} ms: {}", what, size, retry.nextBackoffMs(),
            e.getMessage());
        retry.failed();
        updateLag();
      }
    }
  }

  /**
   * Publishes each assigned partition's lag: the records behind its end, as the consumer knows
   * it, plus the records fetched and not yet complete (applied, noticed, ready to commit); the
   * consumer's own figure counts a fetched record as consumed, so a worker stuck on a batch
   * would report no lag at all.
   */
  private void updateLag() {
    for (TopicPartition tp : consumer.assignment()) {
      OptionalLong lag = consumer.currentLag(tp);
      if (lag.isPresent()) {
        metrics.lag(tp, lag.getAsLong() + unfinished(tp));
      }
    }
  }

  /** @return records of {@code tp} fetched and not yet complete */
  private long unfinished(TopicPartition tp) {
    Long to = fetchedTo.get(tp);
    if (to == null) {
      return 0;
    }
    OffsetAndMetadata done = appliedOffsets.get(tp);
    long from = done != null ? done.offset() : firstFetched.getOrDefault(tp, to);
    return Math.max(0, to - from);
  }

  /**
   * Commits the applied offsets without waiting, once per batch. Kafka sends commits in call order
   * and each carries every partition's latest applied offset, so a failed one is covered by the
   * next; revocation and shutdown commit synchronously ({@link #commitSync}).
   */
  private void commitAsync() {
    appliedOffsets.keySet().retainAll(consumer.assignment());
    if (appliedOffsets.isEmpty()) {
      return;
    }
    consumer.commitAsync(new HashMap<>(appliedOffsets), (offsets, e) -> {
      if (e instanceof RebalanceInProgressException) {
        log.debug("offset commit deferred by a rebalance");
      } else if (e != null) {
        // applied events whose offsets are not committed are replayed, never lost
        log.warn("offset commit failed; the next one covers it: {}", e.toString());
      }
    });
  }

  /** Commits the applied offsets of {@code partitions} and waits for the broker. */
  private void commitSync(Collection<TopicPartition> partitions) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata o = appliedOffsets.get(tp);
      if (o != null) {
        offsets.put(tp, o);
      }
    }
    if (offsets.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(offsets);
    } catch (KafkaException | IllegalStateException e) {
      log.warn("offset commit failed; {} partitions repeat their last applied events: {}", offsets.size(),
          e.toString());
    }
  }

  private void closeClients() {
    try {
      consumer.close(Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      log.warn("closing the consumer: {}", e.toString());
    }
    try {
      deadLetters.close();
    } catch (RuntimeException e) {
      log.warn("closing the dead-letter producer: {}", e.toString());
    }
    synchronized (this) {
      healthClosed = true;
      if (health != null) {
        health.close();
      }
    }
    connection.close();
    log.info("cache-writer stopped: {} applied, {} stale, {} dead-lettered, {} retries, {} notices",
        applied(), stale(), deadLettered(), retries(), noticesPublished());
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // an applied batch may still wait for its notices: publish them now (one try) so that its
      // offsets can go with the partitions; if Redis fails, the next owner repeats that batch
      if (unnoticed != null) {
        try {
          noticed(notices.publish(unnoticed.keys()));
          deadLetters.awaitAll();
          appliedOffsets.putAll(unnoticed.offsets());
          unnoticed = null;
        } catch (RetriableCacheException | RedisException | IllegalStateException e) {
          log.warn("notices before revocation failed; the next owner repeats the last batch: {}", e.toString());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      // only offsets of applied and noticed batches are ever recorded; the next owner starts after them
      commitSync(partitions);
      appliedOffsets.keySet().removeAll(partitions);
      fetchedTo.keySet().removeAll(partitions);
      firstFetched.keySet().removeAll(partitions);
      if (prefetched != null) {
        prefetched = prefetched.without(partitions);
      }
      metrics.revoked(partitions);
      if (!partitions.isEmpty()) {
        log.info("cache-writer revoked {}", partitions);
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      retry.onAssigned(partitions);
      metrics.assigned(partitions);
      if (!partitions.isEmpty()) {
        log.info("cache-writer assigned {}", partitions);
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      appliedOffsets.keySet().removeAll(partitions);
      fetchedTo.keySet().removeAll(partitions);
      firstFetched.keySet().removeAll(partitions);
      if (prefetched != null) {
        prefetched = prefetched.without(partitions);
      }
      metrics.revoked(partitions);
      log.warn("cache-writer lost {}", partitions);
    }
  }

  /** The worker was asked to stop while Redis stayed down. */
  private static final class Abandoned extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Abandoned() {
      super(null, null, false, false);
    }
  }

  private static Map<String, Object> consumerProps(CacheWriterConfig c) {
    return WriterKafkaProperties.consumer(c.kafka(), c.groupId(), c.batchSize(), 5, c.sessionTimeout());
  }
}
