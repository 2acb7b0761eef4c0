package io.freshcache.cdc.internal;

import static io.freshcache.cdc.internal.ChangeRecords.change;
import static io.freshcache.cdc.internal.ChangeRecords.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.freshcache.cdc.CdcMetricNames;
import io.freshcache.cdc.EventDeliveryException;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** Unit test with Kafka's own MockProducer; the real broker path is covered by CdcIngestIT. */
class AckThenCommitConsumerTest {

  /** Records what the handler tells the engine, in order. */
  static final class RecordingCommitter
      implements DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> {
    final List<String> calls = new ArrayList<>();

    @Override
    public void markProcessed(RecordChangeEvent<SourceRecord> record) {
      calls.add("processed " + record.record().sourceOffset().get("lsn"));
    }

    @Override
    public void markBatchFinished() {
      calls.add("batch finished");
    }

    @Override
    public void markProcessed(RecordChangeEvent<SourceRecord> record, DebeziumEngine.Offsets offsets) {
      throw new UnsupportedOperationException();
    }

    @Override
    public DebeziumEngine.Offsets buildOffsets() {
      throw new UnsupportedOperationException();
    }
  }

  private static AckThenCommitConsumer consumer(MockProducer<String, byte[]> producer) {
    return consumer(producer, new SimpleMeterRegistry());
  }

  private static AckThenCommitConsumer consumer(MockProducer<String, byte[]> producer,
      MeterRegistry registry) {
    return new AckThenCommitConsumer(new RowChangeMapper("pg-main",
        TableRule.parseAll("public.products=catalog:product:{id}"), Clock.systemUTC()),
        producer, "freshcache.changes", fixedPartitions(3), 900_000, Clock.systemUTC(),
        new CdcMeters(registry, "pg-main"));
  }

  private static TopicPartitionCount fixedPartitions(int n) {
    return new TopicPartitionCount("freshcache.changes", n, () -> n, () -> n);
  }

  private static List<RecordChangeEvent<SourceRecord>> batch(SourceRecord... records) {
    List<RecordChangeEvent<SourceRecord>> batch = new ArrayList<>();
    for (SourceRecord r : records) {
      batch.add(() -> r);
    }
    return batch;
  }

  @Test
  void sendsEveryEventKeyedByCacheKeyThenMarksEveryRecordProcessed() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    AckThenCommitConsumer handler = consumer(producer);
    RecordingCommitter committer = new RecordingCommitter();

    handler.handleBatch(batch(
        change("public.products", "c", null, row(1, "a", "x"), 100),
        ChangeRecords.tombstone(1),
        change("public.products", "d", row(2, "b", "y"), null, 101)), committer);

    assertThat(producer.history()).extracting(r -> r.topic() + " " + r.key())
        .containsExactly("freshcache.changes catalog:product:1", "freshcache.changes catalog:product:2");
    assertThat(CacheEventJson.read(producer.history().get(1).value()).op()).isEqualTo(CacheEvent.Op.DELETE);
    assertThat(committer.calls).containsExactly("processed 100", "processed 1", "processed 101", "batch finished");
    assertThat(handler.eventsProduced()).isEqualTo(2);
    assertThat(handler.lastLagMicros()).isNotNegative();
    assertThat(handler.supportsTombstoneEvents()).isFalse();
  }

  @Test
  void aTruncateGoesToEveryPartitionAfterTheEventsBeforeIt() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    MeterRegistry registry = new SimpleMeterRegistry();
    AckThenCommitConsumer handler = consumer(producer, registry);
    RecordingCommitter committer = new RecordingCommitter();

    handler.handleBatch(batch(
        change("public.products", "c", null, row(1, "a", "x"), 100),
        change("public.products", "t", null, null, 101)), committer);

    assertThat(producer.history()).extracting(r -> r.key() + " " + r.partition()).containsExactly(
        "catalog:product:1 null", "catalog:product:* 0", "catalog:product:* 1", "catalog:product:* 2");
    for (ProducerRecord<String, byte[]> copy : producer.history().subList(1, 4)) {
      CacheEvent e = CacheEventJson.read(copy.value());
      assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE_NAMESPACE);
      assertThat(e.key().namespaceName()).isEqualTo("catalog:product");
      assertThat(e.version()).isEqualTo(101);
      assertThat(e.source().table()).isEqualTo("public.products");
      assertThat(copy.value()).isEqualTo(producer.history().get(1).value());
    }
    assertThat(committer.calls).containsExactly("processed 100", "processed 101", "batch finished");
    assertThat(handler.eventsProduced()).isEqualTo(4);
    assertThat(registry.get(CdcMetricNames.EVENTS_PRODUCED).tag("op", "invalidate_namespace")
        .counter().count()).isEqualTo(3);
    assertThat(registry.get(CdcMetricNames.EVENTS_PRODUCED).tag("op", "invalidate")
        .counter().count()).isEqualTo(1);
  }

  /** Issue 8, item 6: partitions added after start get their copy of a truncate. */
  @Test
  void aTruncateGoesToPartitionsAddedAfterStart() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    java.util.concurrent.atomic.AtomicInteger broker = new java.util.concurrent.atomic.AtomicInteger(3);
    AckThenCommitConsumer handler = new AckThenCommitConsumer(new RowChangeMapper("pg-main",
        TableRule.parseAll("public.products=catalog:product:{id}"), Clock.systemUTC()), producer,
        "freshcache.changes", new TopicPartitionCount("freshcache.changes", 3, broker::get, () -> 3),
        900_000, Clock.systemUTC(), new CdcMeters(new SimpleMeterRegistry(), "pg-main"));

    broker.set(5);
    handler.handleBatch(batch(change("public.products", "t", null, null, 101)),
        new RecordingCommitter());

    assertThat(producer.history()).extracting(ProducerRecord::partition).containsExactly(0, 1, 2, 3, 4);
  }

  @Test
  void aPartitionCountThatCannotBeReadFailsTheTruncatesBatchUnmarked() {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    AckThenCommitConsumer handler = new AckThenCommitConsumer(new RowChangeMapper("pg-main",
        TableRule.parseAll("public.products=catalog:product:{id}"), Clock.systemUTC()), producer,
        "freshcache.changes", new TopicPartitionCount("freshcache.changes", 3, () -> {
          throw new IllegalStateException("broker down");
        }, () -> 3), 900_000, Clock.systemUTC(), new CdcMeters(new SimpleMeterRegistry(), "pg-main"));
    RecordingCommitter committer = new RecordingCommitter();

    assertThatThrownBy(() -> handler.handleBatch(
        batch(change("public.products", "t", null, null, 101)), committer))
        .isInstanceOf(EventDeliveryException.class).hasMessageContaining("broker down");
    assertThat(committer.calls).isEmpty();
  }

  @Test
  void aFailedSendMarksNothingAndThrows() {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer()) {
          @Override
          public synchronized void flush() {
            while (errorNext(new TimeoutException("Expiring 1 record(s): 120000 ms has passed"))) {
              // fail every pending send, as an expired delivery timeout does
            }
          }
        };
    AckThenCommitConsumer handler = consumer(producer);
    RecordingCommitter committer = new RecordingCommitter();

    assertThatThrownBy(() -> handler.handleBatch(
        batch(change("public.products", "u", null, row(7, "a", "x"), 200)), committer))
        .isInstanceOf(EventDeliveryException.class)
        .hasMessageContaining("catalog:product:7")
        .hasMessageContaining("version 200")
        .hasMessageContaining("120000 ms has passed");
    assertThat(committer.calls).isEmpty();
    assertThat(handler.eventsProduced()).isZero();
  }

  @Test
  void aSendThatThrowsMarksNothingAndThrows() {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    producer.sendException = new TimeoutException("Topic freshcache.changes not present in metadata");
    RecordingCommitter committer = new RecordingCommitter();

    assertThatThrownBy(() -> consumer(producer).handleBatch(
        batch(change("public.products", "c", null, row(7, "a", "x"), 200)), committer))
        .isInstanceOf(EventDeliveryException.class)
        .hasMessageContaining("not present in metadata");
    assertThat(committer.calls).isEmpty();
  }

  private static AckThenCommitConsumer upsertConsumer(MockProducer<String, byte[]> producer,
      MeterRegistry registry, int maxEventBytes) {
    RowChangeMapper mapper = new RowChangeMapper("pg-main", io.freshcache.cdc.RulesFile.parse("""
        tables:
          public.products:
            key: catalog:product:{id}
            operation: upsert
            ttl: 60000
        """, "test"), Clock.systemUTC());
    CdcMeters meters = new CdcMeters(registry, "pg-main");
    meters.bind(mapper, null, () -> true);
    return new AckThenCommitConsumer(mapper, producer, "freshcache.changes", fixedPartitions(3), maxEventBytes,
        Clock.systemUTC(), meters);
  }

  /** Issue 8, item 4: an upsert too big for the limit is sent as an invalidation, counted. */
  @Test
  void anUpsertOverTheLimitIsSentAsAnInvalidationOfItsKey() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    MeterRegistry registry = new SimpleMeterRegistry();
    RecordingCommitter committer = new RecordingCommitter();

    upsertConsumer(producer, registry, 2048).handleBatch(batch(
        change("public.products", "c", null, row(1, "a", "x".repeat(4000)), 100),
        change("public.products", "u", null, row(2, "b", "fits"), 101),
        change("public.products", "u", null, row(1, "a", "x".repeat(4000)), 102)), committer);

    assertThat(producer.history()).extracting(r -> r.key() + " " + CacheEventJson.read(r.value()).op())
        .containsExactly("catalog:product:1 INVALIDATE", "catalog:product:2 UPSERT",
            "catalog:product:1 INVALIDATE");
    CacheEvent first = CacheEventJson.read(producer.history().get(0).value());
    assertThat(first.version()).isEqualTo(100);
    assertThat(first.created()).isTrue();
    assertThat(committer.calls).containsExactly("processed 100", "processed 101", "processed 102",
        "batch finished");
    assertThat(registry.get(CdcMetricNames.UPSERTS_UNCARRIED).tag("reason", "size")
        .functionCounter().count()).isEqualTo(2);
    assertThat(registry.get(CdcMetricNames.EVENTS_PRODUCED).tag("op", "invalidate").counter()
        .count()).isEqualTo(2);
  }

  /** Kafka refusing an upsert as too large (a topic limit lowered after start) is survived too. */
  @Test
  void anUpsertKafkaRefusesAsTooLargeIsSentAgainAsAnInvalidation() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer()) {
          @Override
          public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
              ProducerRecord<String, byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
            if (record.value().length > 1000) {
              return java.util.concurrent.CompletableFuture.failedFuture(
                  new org.apache.kafka.common.errors.RecordTooLargeException("The message is "
                      + record.value().length + " bytes when serialized"));
            }
            return super.send(record, callback);
          }
        };
    MeterRegistry registry = new SimpleMeterRegistry();
    RecordingCommitter committer = new RecordingCommitter();

    upsertConsumer(producer, registry, 900_000).handleBatch(batch(
        change("public.products", "u", null, row(1, "a", "x".repeat(4000)), 100)), committer);

    assertThat(producer.history()).singleElement()
        .satisfies(r -> assertThat(CacheEventJson.read(r.value()).op()).isEqualTo(CacheEvent.Op.INVALIDATE));
    assertThat(committer.calls).containsExactly("processed 100", "batch finished");
    assertThat(registry.get(CdcMetricNames.UPSERTS_UNCARRIED).tag("reason", "size")
        .functionCounter().count()).isEqualTo(1);
  }

  @Test
  void aBatchWithoutEventsIsMarkedWithoutTouchingKafka() throws Exception {
    MockProducer<String, byte[]> producer =
        new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    RecordingCommitter committer = new RecordingCommitter();

    consumer(producer).handleBatch(batch(ChangeRecords.tombstone(3)), committer);

    assertThat(producer.history()).isEmpty();
    assertThat(committer.calls).containsExactly("processed 1", "batch finished");
  }

  /** A producer whose sends stay unacknowledged until the test completes them. */
  private static MockProducer<String, byte[]> awaitingProducer() {
    return new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer()) {
      @Override
      public synchronized void flush() {
        // MockProducer's flush completes every send; a real one waits for the broker instead
      }
    };
  }

  /**
   * Regression: closing the engine interrupted a batch still waiting for its acknowledgement, so
   * its records stayed unmarked and a graceful restart produced them again (MappingIT saw the
   * duplicate). Draining first lets that batch finish and be marked.
   */
  @Test
  void drainWaitsForTheBatchInFlightToBeMarkedAndTurnsLaterBatchesAway() throws Exception {
    MockProducer<String, byte[]> producer = awaitingProducer();
    AckThenCommitConsumer handler = consumer(producer);
    RecordingCommitter committer = new RecordingCommitter();
    java.util.concurrent.ExecutorService engineThread =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<?> inFlight = engineThread.submit(() -> {
        handler.handleBatch(batch(change("public.products", "u", null, row(5, "a", "x"), 300)),
            committer);
        return null;
      });
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> producer.history().size() == 1);

      java.util.concurrent.CompletableFuture<Boolean> drained =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
              return handler.drain(java.time.Duration.ofSeconds(10));
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          });
      // drain must keep waiting while the acknowledgement has not come
      org.awaitility.Awaitility.await().during(java.time.Duration.ofMillis(50))
          .atMost(java.time.Duration.ofSeconds(2))
          .until(() -> !drained.isDone() && committer.calls.isEmpty());

      producer.completeNext();
      assertThat(drained.get(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      inFlight.get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(committer.calls).containsExactly("processed 300", "batch finished");

      handler.handleBatch(batch(change("public.products", "u", null, row(6, "a", "x"), 301)),
          committer);
      assertThat(producer.history()).hasSize(1);
      assertThat(committer.calls).hasSize(2);
    } finally {
      engineThread.shutdownNow();
    }
  }

  @Test
  void drainTimesOutWhileTheAcknowledgementIsMissing() throws Exception {
    MockProducer<String, byte[]> producer = awaitingProducer();
    AckThenCommitConsumer handler = consumer(producer);
    java.util.concurrent.ExecutorService engineThread =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      engineThread.submit(() -> {
        handler.handleBatch(batch(change("public.products", "u", null, row(5, "a", "x"), 300)),
            new RecordingCommitter());
        return null;
      });
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> producer.history().size() == 1);
      assertThat(handler.drain(java.time.Duration.ofMillis(100))).isFalse();
    } finally {
      engineThread.shutdownNow();
    }
  }

  /**
   * Stress: drain at a random moment while the engine thread hands over batch after batch with
   * acknowledgements arriving on another thread. Every time: drain returns, the marks form whole
   * batches only (records then "batch finished"), and nothing is marked after drain returned.
   */
  @Test
  void drainAtARandomMomentLeavesOnlyWholeBatchesMarkedAndNothingAfter() throws Exception {
    java.util.Random random = new java.util.Random(42);
    for (int round = 0; round < 200; round++) {
      MockProducer<String, byte[]> producer = awaitingProducer();
      AckThenCommitConsumer handler = consumer(producer);
      // written by the engine thread only; read after drain (which synchronizes with the handler)
      RecordingCommitter committer = new RecordingCommitter();
      List<String> calls = committer.calls;
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      Thread acks = new Thread(() -> {
        while (!stop.get()) {
          producer.completeNext(); // false when nothing is pending
          Thread.onSpinWait();
        }
      });
      java.util.concurrent.atomic.AtomicLong lsn = new java.util.concurrent.atomic.AtomicLong(1000);
      java.util.concurrent.atomic.AtomicReference<Throwable> engineError =
          new java.util.concurrent.atomic.AtomicReference<>();
      Thread engine = new Thread(() -> {
        try {
          while (!stop.get()) {
            int n = 1 + random.nextInt(3);
            SourceRecord[] rs = new SourceRecord[n];
            for (int j = 0; j < n; j++) {
              long l = lsn.incrementAndGet();
              rs[j] = change("public.products", "u", null, row(l, "a", "x"), l);
            }
            handler.handleBatch(batch(rs), committer);
          }
        } catch (Throwable t) {
          engineError.set(t);
        }
      });
      acks.start();
      engine.start();
      java.util.concurrent.locks.LockSupport.parkNanos(random.nextInt(2_000_000));
      assertThat(handler.drain(java.time.Duration.ofSeconds(10))).isTrue();
      int marksAtDrain = calls.size();
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // the engine keeps calling
      stop.set(true);
      engine.join(10_000);
      acks.join(10_000);
      assertThat(engineError.get()).isNull();
      assertThat(calls).as("round %d: nothing marked after drain returned", round).hasSize(marksAtDrain);
      if (!calls.isEmpty()) {
        assertThat(calls.get(calls.size() - 1)).as("round %d: the last batch is whole", round)
            .isEqualTo("batch finished");
      }
    }
  }
}
