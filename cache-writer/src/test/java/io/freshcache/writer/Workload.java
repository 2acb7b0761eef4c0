package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A paced stream of events over a set of keys: in round {@code r} every key gets version
 * {@code r} (in a shuffled key order), an upsert of {@code "<name>-<i>-<r>"} or, every seventh
 * round, a delete. The final state of every key is therefore known: fence at the last round,
 * value the last upsert or absent. Produced by a background thread until {@link #finish()} (or
 * the maximum of rounds), so that workers, Redis nodes or the database can be killed while it
 * runs however slow the machine is.
 */
final class Workload implements AutoCloseable {
  final String topic;
  final String name;
  final List<CacheKey> keys = new ArrayList<>();
  final int maxRounds;
  private final Duration every;
  private final Thread thread;
  private final AtomicInteger roundsSent = new AtomicInteger();
  private final AtomicReference<Throwable> error = new AtomicReference<>();
  private volatile boolean stop;

  private Workload(String topic, String name, int keyCount, int maxRounds, Duration every) {
    this.topic = topic;
    this.name = name;
    this.maxRounds = maxRounds;
    this.every = every;
    for (int i = 0; i < keyCount; i++) {
      keys.add(CacheKey.of("it", name, ItSupport.RUN + "-" + i));
    }
    this.thread = new Thread(this::produce, "workload-" + name);
    thread.setDaemon(true);
  }

  static Workload start(String topic, String name, int keyCount, int maxRounds, Duration every) {
    Workload w = new Workload(topic, name, keyCount, maxRounds, every);
    w.thread.start();
    return w;
  }

  int roundsSent() {
    return roundsSent.get();
  }

  /** @return whether the producer stopped by itself, having sent every round */
  boolean done() {
    return !thread.isAlive();
  }

  /** Stops producing after the round in progress and waits for it; the last round sent is final. */
  void finish() throws InterruptedException {
    stop = true;
    thread.join(60_000);
    assertThat(thread.isAlive()).as("producer stopped").isFalse();
    assertThat(error.get()).as("producer error").isNull();
    assertThat(roundsSent.get()).as("rounds sent").isPositive();
  }

  /** Asserts the final state of every key; call after {@link #finish()}. */
  void verify() {
    int rounds = roundsSent.get();
    List<String> wrong = new ArrayList<>();
    String expectedLast = rounds % 7 == 0 ? null : "";
    for (int i = 0; i < keys.size(); i++) {
      CacheKey k = keys.get(i);
      long fence = ItSupport.fence(k);
      String value = ItSupport.stored(k);
      String expected = expectedLast == null ? null : "\"" + name + "-" + i + "-" + rounds + "\"";
      if (fence != rounds || (expected == null ? value != null : !expected.equals(value))) {
        wrong.add(k + ": fence " + fence + " value " + value + ", expected fence " + rounds + " value " + expected);
      }
    }
    assertThat(wrong).as("keys not in their final state (of %d)", keys.size()).isEmpty();
  }

  private void produce() {
    Random random = new Random(42);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      order.add(i);
    }
    try {
      long next = System.nanoTime();
      for (int r = 1; r <= maxRounds && !stop; r++) {
        Collections.shuffle(order, random);
        for (int i : order) {
          CacheKey k = keys.get(i);
          ItSupport.sendAsync(topic, r % 7 == 0 ? ItSupport.delete(k, r)
              : ItSupport.upsert(k, r, name + "-" + i + "-" + r));
        }
        ItSupport.producer.flush();
        roundsSent.set(r);
        next += every.toNanos();
        long wait = next - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait); // pacing the load generator, not waiting for a condition
        }
      }
    } catch (Throwable t) {
      error.set(t);
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(10_000);
  }
}
