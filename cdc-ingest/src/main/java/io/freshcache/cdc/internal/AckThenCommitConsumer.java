package io.freshcache.cdc.internal;

import io.freshcache.cdc.EventDeliveryException;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * The engine's batch handler: maps a batch of change records to cache events, sends them all,
 * waits until Kafka has acknowledged every one, and only then marks the records processed.
 *
 * <p>Why this order: Debezium commits a record's source offset (and later confirms its LSN to the
 * replication slot) only once it is marked processed. Marking after the acknowledgement means a
 * crash at any point loses nothing; it repeats at most the changes since the last offset flush, and
 * applying an event twice is harmless (the fence keeps the highest version).
 *
 * <p>Failure: if a send fails (the producer has already retried up to its delivery timeout), the
 * batch throws {@link EventDeliveryException}; no record of the batch is marked, the engine stops
 * and reports the failure, and after a restart the batch is captured again. A record whose rule does
 * not fit its table throws likewise. Interrupts propagate unchanged.
 *
 * <p>Sending a whole batch before waiting keeps one acknowledgement round trip per batch, not per
 * event; {@code flush()} sends the last partial producer batch without waiting for
 * {@code linger.ms}. The engine calls this handler from one thread per task (we have one task), so
 * the counters are written by one thread and read by any.
 *
 * <p>A truncate's {@link CacheEvent.Op#INVALIDATE_NAMESPACE} event (key {@code service:entity:*})
 * is sent once to every partition of the topic, with the partition given explicitly, the same
 * bytes each time; the partition count is read again right before ({@link TopicPartitionCount}
 * explains why, and why keys moving to added partitions stay coherent). Each key's events live in one partition (the record key is the cache key), so
 * the copy in a key's partition comes after every earlier event of that key: when a writer reaches
 * it, it has applied them all, and dropping the namespace there cannot be overtaken by an older
 * event of any key of that partition. A single copy would be ordered only against the keys of its
 * own partition. Counted as {@code partitions} events of op {@code invalidate_namespace}.
 *
 * <p>Upserts that cannot be carried: an upsert whose record would exceed the event limit (the
 * configured {@code maxEventBytes}, capped by the topic's {@code max.message.bytes}) is sent as
 * an invalidation of its key instead, counted and logged once per key ({@link UncarriedUpserts});
 * so is one that Kafka refuses as too large after all (see {@code awaitAcks}). One big row must
 * never stop the capture: before, its send failed, the engine stopped, and after every restart it
 * failed again on the same change.
 *
 * <p>Stopping: the engine's close interrupts the thread that runs this handler, so a batch whose
 * acknowledgements were still outstanding would stay unmarked and be produced again after the
 * restart. {@link #drain(Duration)} is therefore called before the engine is closed: it lets the
 * batch in flight finish and be marked (so its offsets are committed on close), and makes later
 * batches return at once without sending or marking anything; they are captured again after the
 * restart, which is exactly what has not been produced.
 */
final class AckThenCommitConsumer
    implements DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> {
  /** Room for the record and batch headers around a record's key and value, bytes. */
  static final int RECORD_OVERHEAD_BYTES = 512;

  private final RowChangeMapper mapper;
  private final Producer<String, byte[]> producer;
  private final String topic;
  private final TopicPartitionCount partitions;
  /** Largest record an upsert may be sent as; larger ones are sent as invalidations. */
  private final int maxEventBytes;
  private final Clock clock;
  private final CdcMeters meters;
  private final AtomicLong eventsProduced = new AtomicLong();
  /** Micros from the commit of the batch's last change to its acknowledgement; -1 until then. */
  private volatile long lastLagMicros = -1;
  private final Object gate = new Object();
  /** Guarded by {@link #gate}: a batch is being handled. */
  private boolean busy;
  /** Guarded by {@link #gate}: stopping; no new batch is handled. */
  private boolean draining;

  /**
   * @param partitions the topic's partition count, read again before each namespace
   *     invalidation, which goes to each partition
   * @param maxEventBytes the largest record ({@link #recordSize}) an upsert is sent as; larger
   *     upserts are sent as invalidations of their key
   */
  AckThenCommitConsumer(RowChangeMapper mapper, Producer<String, byte[]> producer, String topic,
      TopicPartitionCount partitions, int maxEventBytes, Clock clock, CdcMeters meters) {
    this.mapper = mapper;
    this.producer = producer;
    this.topic = topic;
    this.partitions = partitions;
    this.maxEventBytes = maxEventBytes;
    this.clock = clock;
    this.meters = meters;
  }

  @Override
  public void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
      throws InterruptedException {
    synchronized (gate) {
      if (draining) {
        return; // stopping: nothing sent, nothing marked; captured again after the restart
      }
      busy = true;
    }
    try {
      produceAndMark(records, committer);
    } finally {
      synchronized (gate) {
        busy = false;
        gate.notifyAll();
      }
    }
  }

  /**
   * Stops handling new batches and waits until the batch in flight, if any, has finished.
   *
   * @param timeout how long to wait for the batch in flight
   * @return true if no batch is in flight any more; false if the wait timed out
   * @throws InterruptedException if interrupted while waiting
   */
  boolean drain(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (gate) {
      draining = true;
      while (busy) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(gate, left);
      }
      return true;
    }
  }

  /** One record sent: its event, its partition (null: by key), and its table for the meters. */
  private record Sent(CacheEvent event, byte[] json, Integer partition, String table) {
    String what() {
      return event.op().wireName() + " " + event.key() + " at version " + event.version()
          + (partition == null ? "" : " to partition " + partition);
    }
  }

  private void produceAndMark(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
      throws InterruptedException {
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    List<Sent> sent = new ArrayList<>();
    List<RowChangeMapper.Mapped> batch = new ArrayList<>();
    for (RecordChangeEvent<SourceRecord> record : records) {
      RowChangeMapper.Mapped mapped;
      try {
        mapped = mapper.map(record.record());
      } catch (RuntimeException e) {
        meters.error("mapping");
        throw e;
      }
      if (mapped.isEmpty()) {
        continue;
      }
      batch.add(mapped);
      for (CacheEvent planned : mapped.events()) {
        CacheEvent event = planned;
        byte[] json = CacheEventJson.write(event);
        long size = recordSize(event, json);
        if (event.op() == CacheEvent.Op.UPSERT && size > maxEventBytes) {
          event = mapper.uncarried().invalidateInstead(event, UncarriedUpserts.Reason.SIZE,
              "event of " + size + " bytes, limit " + maxEventBytes);
          json = CacheEventJson.write(event);
        }
        if (event.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
          int count = partitions.forFanOut(event.key().toString());
          for (int p = 0; p < count; p++) {
            send(new Sent(event, json, p, mapped.table()), sends, sent);
          }
        } else {
          send(new Sent(event, json, null, mapped.table()), sends, sent);
        }
      }
    }
    meters.batch(records.size());
    partitions.refreshIfDue();
    if (!sends.isEmpty()) {
      producer.flush();
      awaitAcks(sends, sent);
      eventsProduced.addAndGet(sends.size());
      long ackedMicros = micros(clock.instant());
      for (Sent s : sent) {
        meters.produced(s.table(), s.event().op().wireName(), 1);
      }
      for (RowChangeMapper.Mapped m : batch) {
        if (m.commitTsMicros() > 0) {
          meters.lagMicros(ackedMicros - m.commitTsMicros());
        }
      }
      RowChangeMapper.Mapped last = batch.get(batch.size() - 1);
      if (last.commitTsMicros() > 0) {
        lastLagMicros = Math.max(0, ackedMicros - last.commitTsMicros());
      }
    }
    for (RecordChangeEvent<SourceRecord> record : records) {
      committer.markProcessed(record);
    }
    committer.markBatchFinished();
  }

  /**
   * An upper bound of what a record of {@code json} keyed by the event's key takes in a produce
   * request, which is what the producer's {@code max.request.size} and the topic's
   * {@code max.message.bytes} limit (before compression, so the bound errs on the safe side).
   */
  static long recordSize(CacheEvent event, byte[] json) {
    return json.length + (long) event.key().toString().length() * 4 + RECORD_OVERHEAD_BYTES;
  }

  /** Tombstones are never forwarded; telling the engine so stops it from producing them. */
  @Override
  public boolean supportsTombstoneEvents() {
    return false;
  }

  long eventsProduced() {
    return eventsProduced.get();
  }

  long lastLagMicros() {
    return lastLagMicros;
  }

  long skippedRows() {
    return mapper.skippedRows();
  }

  private void send(Sent s, List<Future<RecordMetadata>> sends, List<Sent> sent) {
    String key = s.event().key().toString();
    ProducerRecord<String, byte[]> record = s.partition() == null
        ? new ProducerRecord<>(topic, key, s.json())
        : new ProducerRecord<>(topic, s.partition(), key, s.json());
    try {
      sends.add(producer.send(record));
      sent.add(s);
    } catch (InterruptException e) {
      throw e; // keeps the interrupt flag set, as the producer left it
    } catch (KafkaException e) {
      meters.error("delivery");
      throw new EventDeliveryException(key, "could not send the " + s.what() + " to " + topic
          + " (" + e.getMessage() + "); its change stays uncommitted and is captured again after a"
          + " restart", e);
    }
  }

  /**
   * Waits for every acknowledgement. An upsert that Kafka refuses as too large (the topic's limit
   * was lowered after start, or the estimate fell short) is sent again as an invalidation of its
   * key, and that one is awaited: one row never stops the capture. Other events of the same key
   * later in the batch were sent before that invalidation; it carries the upsert's version, so
   * the writer finds it stale behind a newer version, or, at an equal version behind a delete,
   * it only invalidates again. Behind a re-insert whose version started again lower it raises the
   * fence above the new row, which makes that row uncacheable (never stale) until its version
   * passes the old one: a limit accepted for a case this rare.
   */
  private void awaitAcks(List<Future<RecordMetadata>> sends, List<Sent> sent)
      throws InterruptedException {
    for (int i = 0; i < sends.size(); i++) {
      try {
        sends.get(i).get();
      } catch (ExecutionException e) {
        Sent s = sent.get(i);
        if (e.getCause() instanceof RecordTooLargeException
            && s.event().op() == CacheEvent.Op.UPSERT) {
          CacheEvent instead = mapper.uncarried().invalidateInstead(s.event(),
              UncarriedUpserts.Reason.SIZE, "Kafka refused it: " + e.getCause().getMessage());
          Sent again = new Sent(instead, CacheEventJson.write(instead), s.partition(), s.table());
          List<Future<RecordMetadata>> one = new ArrayList<>(1);
          List<Sent> oneSent = new ArrayList<>(1);
          send(again, one, oneSent);
          producer.flush();
          awaitAcks(one, oneSent);
          sent.set(i, again);
          continue;
        }
        meters.error("delivery");
        throw new EventDeliveryException(s.event().key().toString(),
            "Kafka did not acknowledge the " + s.what() + " (" + e.getCause().getMessage()
            + "); its change stays uncommitted and is captured again after a restart",
            e.getCause());
      }
    }
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
  }
}
