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
 * bytes each time. Each key's events live in one partition (the record key is the cache key), so
 * the copy in a key's partition comes after every earlier event of that key: when a writer reaches
 * it, it has applied them all, and dropping the namespace there cannot be overtaken by an older
 * event of any key of that partition. A single copy would be ordered only against the keys of its
 * own partition. Counted as {@code partitions} events of op {@code invalidate_namespace}.
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

  private final RowChangeMapper mapper;
  private final Producer<String, byte[]> producer;
  private final String topic;
  private final int partitions;
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
   * @param partitions the topic's partition count, read at start: a namespace invalidation goes
   *     to each of them
   */
  AckThenCommitConsumer(RowChangeMapper mapper, Producer<String, byte[]> producer, String topic,
      int partitions, Clock clock, CdcMeters meters) {
    this.mapper = mapper;
    this.producer = producer;
    this.topic = topic;
    this.partitions = partitions;
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

  private void produceAndMark(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
      throws InterruptedException {
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    List<String> what = new ArrayList<>();
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
      for (CacheEvent event : mapped.events()) {
        String key = event.key().toString();
        String op = event.op().wireName();
        byte[] json = CacheEventJson.write(event);
        if (event.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
          for (int p = 0; p < partitions; p++) {
            sends.add(send(new ProducerRecord<>(topic, p, key, json), key, op, event.version()));
            what.add(op + " " + key + " at version " + event.version() + " to partition " + p);
          }
        } else {
          sends.add(send(new ProducerRecord<>(topic, key, json), key, op, event.version()));
          what.add(op + " " + key + " at version " + event.version());
        }
      }
    }
    meters.batch(records.size());
    if (!sends.isEmpty()) {
      producer.flush();
      awaitAcks(sends, what);
      eventsProduced.addAndGet(sends.size());
      long ackedMicros = micros(clock.instant());
      for (RowChangeMapper.Mapped m : batch) {
        for (CacheEvent e : m.events()) {
          meters.produced(m.table(), e.op().wireName(), copies(e));
        }
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

  /** @return how many records {@code event} is sent as: one per partition for a namespace */
  private int copies(CacheEvent event) {
    return event.op() == CacheEvent.Op.INVALIDATE_NAMESPACE ? partitions : 1;
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

  private Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, String key, String op,
      long version) {
    try {
      return producer.send(record);
    } catch (InterruptException e) {
      throw e; // keeps the interrupt flag set, as the producer left it
    } catch (KafkaException e) {
      meters.error("delivery");
      throw new EventDeliveryException(key, "could not send the " + op + " event at version "
          + version + " to " + topic + " (" + e.getMessage()
          + "); its change stays uncommitted and is captured again after a restart", e);
    }
  }

  private void awaitAcks(List<Future<RecordMetadata>> sends, List<String> what)
      throws InterruptedException {
    for (int i = 0; i < sends.size(); i++) {
      try {
        sends.get(i).get();
      } catch (ExecutionException e) {
        meters.error("delivery");
        String w = what.get(i);
        throw new EventDeliveryException(w.substring(w.indexOf(' ') + 1).split(" ")[0],
            "Kafka did not acknowledge the " + w + " (" + e.getCause().getMessage()
            + "); its change stays uncommitted and is captured again after a restart",
            e.getCause());
      }
    }
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
  }
}
