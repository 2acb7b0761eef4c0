package io.freshcache.bench.faults;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * When each change was applied: reads the suite's event topic (its own consumer, no group) to
 * learn each event's key, transaction id and offset, and polls the writers' consumer group's
 * committed offsets every {@value #POLL_MS} ms. cache-writer commits an offset only after the
 * events before it are applied and their near-cache notices published, so an event counts as
 * applied at the first poll that saw its group committed past it: an upper bound, late by at
 * most the poll period plus the writer's commit delay (so the lag figures are slightly high and
 * the stale-read windows slightly wide, never the other way round).
 *
 * <p>A TRUNCATE's {@code invalidate_namespace} goes to every partition; it counts as applied
 * when every copy is.
 */
final class AppliedTracker implements AutoCloseable {
  static final long POLL_MS = 50;

  private final String topic;
  private final int partitions;
  private final String group;
  private final ChangeLog log;
  private final Properties kafka;
  private final Thread reader;
  private final Thread poller;
  private volatile boolean stop;
  /** Per partition: committed offset → when it was first seen. */
  private final List<TreeMap<Long, Long>> commits = new ArrayList<>();
  /** Per partition: events read and not yet seen applied, offset → event id. */
  private final List<TreeMap<Long, String[]>> pending = new ArrayList<>();
  private final Map<String, BitSet> namespaceCopies = new HashMap<>();
  private final long[] ends;
  final AtomicLong events = new AtomicLong();
  final AtomicLong undecodable = new AtomicLong();
  final AtomicLong pollErrors = new AtomicLong();

  AppliedTracker(String bootstrap, String topic, int partitions, String group, ChangeLog log) {
    this.topic = topic;
    this.partitions = partitions;
    this.group = group;
    this.log = log;
    this.ends = new long[partitions];
    kafka = new Properties();
    kafka.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    for (int p = 0; p < partitions; p++) {
      commits.add(new TreeMap<>());
      pending.add(new TreeMap<>());
    }
    reader = new Thread(this::read, "fault-suite-topic-reader");
    poller = new Thread(this::poll, "fault-suite-offset-poller");
    reader.setDaemon(true);
    poller.setDaemon(true);
    reader.start();
    poller.start();
  }

  private void read() {
    Properties p = new Properties();
    p.putAll(kafka);
    p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
    p.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(8 << 20));
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) {
        tps.add(new TopicPartition(topic, i));
      }
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      while (!stop) {
        try {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            record(r);
          }
        } catch (RuntimeException e) {
          if (stop) {
            return;
          }
          pollErrors.incrementAndGet();
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
        }
      }
    }
  }

  private void record(ConsumerRecord<String, byte[]> r) {
    events.incrementAndGet();
    CacheEvent e;
    try {
      e = CacheEventJson.read(r.value());
    } catch (RuntimeException ex) {
      undecodable.incrementAndGet();
      return;
    }
    long txid = e.source() == null ? -1 : ChangeLog.txid32(e.source().txId());
    String[] id = {e.key().toString(), Long.toString(txid),
        e.op() == CacheEvent.Op.INVALIDATE_NAMESPACE ? "ns" : "key"};
    synchronized (this) {
      Map.Entry<Long, Long> seen = commits.get(r.partition()).higherEntry(r.offset());
      if (seen != null) {
        applied(id, r.partition(), seen.getValue());
      } else {
        pending.get(r.partition()).put(r.offset(), id);
      }
    }
  }

  private void applied(String[] id, int partition, long nanos) {
    if (id[2].equals("ns")) {
      BitSet copies = namespaceCopies.computeIfAbsent(id[0] + "#" + id[1], k -> new BitSet());
      copies.set(partition);
      if (copies.cardinality() < partitions) {
        return;
      }
    }
    log.applied(id[0], Long.parseLong(id[1]), nanos);
  }

  private void poll() {
    try (Admin admin = Admin.create(kafka)) {
      while (!stop) {
        try {
          Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
          long now = System.nanoTime();
          synchronized (this) {
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
              if (!e.getKey().topic().equals(topic) || e.getValue() == null) {
                continue;
              }
              int p = e.getKey().partition();
              long offset = e.getValue().offset();
              ends[p] = Math.max(ends[p], offset);
              commits.get(p).putIfAbsent(offset, now);
              var done = pending.get(p).headMap(offset);
              for (String[] id : done.values()) {
                applied(id, p, now);
              }
              done.clear();
            }
          }
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return;
          }
          pollErrors.incrementAndGet();
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
      }
    }
  }

  /** @return the group's committed offset per partition, as last polled */
  synchronized long[] committed() {
    return ends.clone();
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    reader.join(10_000);
    poller.join(10_000);
  }
}
