package io.freshcache.bench.client;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.Loader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Benchmark 4: a cache stampede. {@code callers} platform threads are started and parked until
 * one absolute deadline ({@link LockSupport#parkNanos}, not a latch: on two cores a latch
 * releases 1,000 threads over hundreds of milliseconds, longer than the loader), then all read
 * the same cold key whose loader takes {@code loaderMs}. Reported per round: loader calls, the
 * callers' latency from their own start (p50, p99, max), the start spread (last start minus first
 * start) and the time until the last caller had its value.
 *
 * <p>Each round uses a fresh key. The contenders are in {@link Contenders}.
 */
final class Stampede {

  /** How one contender reads a key through a loader. */
  interface Contender {
    String name();

    BenchProduct read(String key, Loader<BenchProduct> loader) throws Exception;

    /** @return reads so far that bypassed Redis (client-lib's fallbacks), 0 for the raw contenders */
    default long bypassed() {
      return 0;
    }
  }

  /**
   * One round. Times in ms; {@code bypassed} counts reads that went around Redis (client-lib's
   * breaker open or Redis failing), {@code failures} reads that failed or returned a wrong value.
   */
  record Round(String contender, int callers, int round, int loaderCalls, double p50, double p99,
      double max, double startSpread, double lastDone, int failures, long bypassed, boolean allParkedInTime,
      String load) {}

  private Stampede() {}

  static Round run(Contender c, int callers, int round, int loaderMs) throws InterruptedException {
    String load = Machine.stamp();
    long bypassedBefore = c.bypassed();
    String key = "bench:stampede:" + UUID.randomUUID();
    AtomicInteger calls = new AtomicInteger();
    BenchProduct product = BenchProduct.sample(7);
    Loader<BenchProduct> loader = () -> {
      calls.incrementAndGet();
      Thread.sleep(loaderMs);
      return product;
    };
    long[] starts = new long[callers];
    long[] ends = new long[callers];
    AtomicInteger failures = new AtomicInteger();
    CountDownLatch parked = new CountDownLatch(callers);
    // enough lead for every thread to be created and parked before the deadline
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300 + callers);
    List<Thread> threads = new ArrayList<>(callers);
    for (int i = 0; i < callers; i++) {
      int me = i;
      Thread t = new Thread(() -> {
        parked.countDown();
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
          LockSupport.parkNanos(left);
        }
        starts[me] = System.nanoTime();
        try {
          BenchProduct v = c.read(key, loader);
          if (!product.equals(v)) {
            failures.incrementAndGet();
          }
        } catch (Exception | Error e) {
          failures.incrementAndGet();
        }
        ends[me] = System.nanoTime();
      }, "stampede-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    boolean inTime = parked.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
    double[] lat = new double[callers];
    long first = Long.MAX_VALUE;
    long lastStart = Long.MIN_VALUE;
    long lastEnd = Long.MIN_VALUE;
    int unfinished = 0;
    for (int i = 0; i < callers; i++) {
      if (ends[i] == 0) {
        // still blocked after the join timeout: counted as failed, latency up to now
        unfinished++;
        ends[i] = System.nanoTime();
      }
      lat[i] = (ends[i] - starts[i]) / 1e6;
      first = Math.min(first, starts[i]);
      lastStart = Math.max(lastStart, starts[i]);
      lastEnd = Math.max(lastEnd, ends[i]);
    }
    Arrays.sort(lat);
    return new Round(c.name(), callers, round, calls.get(), percentile(lat, 50), percentile(lat, 99),
        lat[callers - 1], (lastStart - first) / 1e6, (lastEnd - first) / 1e6, failures.get() + unfinished,
        c.bypassed() - bypassedBefore, inTime, load);
  }

  /** Nearest-rank percentile of sorted values. */
  static double percentile(double[] sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** client-lib: callers spread round-robin over {@code clients}. */
  static Contender clientLib(String name, List<CacheClient> clients, CachePolicy policy) {
    AtomicInteger next = new AtomicInteger();
    return new Contender() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public BenchProduct read(String key, Loader<BenchProduct> loader) {
        CacheClient c = clients.get(Math.floorMod(next.getAndIncrement(), clients.size()));
        return c.getOrLoad(key, BenchProduct.class, policy, loader);
      }

      @Override
      public long bypassed() {
        return clients.stream().mapToLong(c -> c.stats().fallbacks()).sum();
      }
    };
  }
}
