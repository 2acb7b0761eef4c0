package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SingleFlightTest {
  @Test
  void concurrentCallersShareOneComputation() throws Exception {
    SingleFlight flights = new SingleFlight();
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch inside = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      Future<String> first = pool.submit(() -> flights.run("k", () -> {
        runs.incrementAndGet();
        inside.countDown();
        await(release);
        return "v";
      }));
      assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
      List<Future<String>> others = new ArrayList<>();
      for (int i = 0; i < 31; i++) {
        others.add(pool.submit(() -> flights.run("k", () -> {
          runs.incrementAndGet();
          return "other";
        })));
      }
      // every other caller is parked on the first flight before it finishes
      while (flights.inFlight() != 1) {
        Thread.onSpinWait();
      }
      release.countDown();
      assertThat(first.get()).isEqualTo("v");
      for (Future<String> f : others) {
        String v = f.get();
        // a caller that arrived after the flight ended may run its own; none may see a torn result
        assertThat(v).isIn("v", "other");
      }
      assertThat(flights.inFlight()).isZero();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void stressManyKeysManyThreads() throws Exception {
    SingleFlight flights = new SingleFlight();
    AtomicInteger[] concurrent = new AtomicInteger[16];
    AtomicInteger violations = new AtomicInteger();
    for (int i = 0; i < concurrent.length; i++) {
      concurrent[i] = new AtomicInteger();
    }
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        fs.add(pool.submit(() -> {
          for (int i = 0; i < 20_000; i++) {
            int key = i % concurrent.length;
            int v = flights.run("k" + key, () -> {
              if (concurrent[key].incrementAndGet() != 1) {
                violations.incrementAndGet();
              }
              concurrent[key].decrementAndGet();
              return key;
            });
            if (v != key) {
              violations.incrementAndGet();
            }
          }
        }));
      }
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(violations.get()).isZero();
    assertThat(flights.inFlight()).isZero();
  }

  @Test
  void failureReachesEveryWaiterAndClearsTheFlight() {
    SingleFlight flights = new SingleFlight();
    assertThatThrownBy(() -> flights.run("k", () -> {
      throw new IllegalStateException("boom");
    })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
    assertThat(flights.inFlight()).isZero();
    assertThat(flights.run("k", () -> "ok")).isEqualTo("ok");
  }

  private static void await(CountDownLatch l) {
    try {
      l.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
