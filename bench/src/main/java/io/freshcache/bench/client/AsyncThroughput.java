package io.freshcache.bench.client;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * Benchmark 2: hit throughput with a fixed number of reads outstanding — client-lib
 * {@code getOrLoadAsync} against raw Lettuce async {@code GET} of the same stored bytes (and raw
 * {@code GET} plus the same decode, to separate decoding from the client's own work).
 *
 * <p>Closed loop: {@code outstanding} independent chains, each issuing its next read from the
 * completion of the previous one (on the Lettuce I/O thread, for both contenders), over a set of
 * keys spread across the cluster's slots. Throughput is counted over the measured window after a
 * warm-up; the three contenders run one after another, in an order that rotates from run to run.
 */
final class AsyncThroughput {
  static final String CLIENT = "client-lib getOrLoadAsync";
  static final String RAW = "raw Lettuce async GET";
  static final String RAW_DECODE = "raw async GET + decode";

  /** One contender in one run. */
  record Row(String name, int run, double opsPerSecond, long errors, String firstError, long loaderCalls,
      String load) {}

  private final CacheClient client;
  private final RawRedis raw;
  private final CachePolicy policy;
  private final List<String> keys;
  private final byte[][] valueKeys;

  AsyncThroughput(CacheClient client, RawRedis raw, CachePolicy policy, String prefix, int keyCount) {
    this.client = client;
    this.raw = raw;
    this.policy = policy;
    this.keys = new ArrayList<>(keyCount);
    this.valueKeys = new byte[keyCount][];
    for (int i = 0; i < keyCount; i++) {
      String k = prefix + i;
      keys.add(k);
      valueKeys[i] = CacheKey.parse(k).valueKey(policy.schemaVersion()).getBytes(StandardCharsets.UTF_8);
    }
  }

  /** Fills every key through the client. */
  void prepare() {
    for (int i = 0; i < keys.size(); i++) {
      BenchProduct p = BenchProduct.sample(i);
      // a fill can be skipped while the shared stack stalls (the read bypasses Redis): try again
      for (int attempt = 0; ; attempt++) {
        client.getOrLoad(keys.get(i), BenchProduct.class, policy, () -> p);
        if (raw.connection().sync().get(valueKeys[i]) != null) {
          break;
        }
        if (attempt == 50) {
          throw new IllegalStateException("the client did not store " + keys.get(i));
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
    }
  }

  /** @return one row per contender */
  List<Row> run(int run, int outstanding, double warmupSeconds, double seconds) {
    RedisAdvancedClusterAsyncCommands<byte[], byte[]> async = raw.connection().async();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      int who = (i + run) % 3;
      String load = Machine.stamp();
      AtomicLong loads = new AtomicLong();
      Row r = switch (who) {
        case 0 -> measure(CLIENT, run, load, outstanding, warmupSeconds, seconds,
            n -> client.getOrLoadAsync(keys.get(n), BenchProduct.class, policy, () -> {
              loads.incrementAndGet();
              return BenchProduct.sample(n);
            }));
        case 1 -> measure(RAW, run, load, outstanding, warmupSeconds, seconds, n -> async.get(valueKeys[n]));
        default -> measure(RAW_DECODE, run, load, outstanding, warmupSeconds, seconds,
            n -> async.get(valueKeys[n]).thenApply(HitLatency::decode));
      };
      rows.add(new Row(r.name(), r.run(), r.opsPerSecond(), r.errors(), r.firstError(), loads.get(), r.load()));
    }
    rows.sort((a, b) -> names().indexOf(a.name()) - names().indexOf(b.name()));
    return rows;
  }

  static List<String> names() {
    return List.of(CLIENT, RAW, RAW_DECODE);
  }

  private Row measure(String name, int run, String load, int outstanding, double warmupSeconds,
      double seconds, IntFunction<CompletionStage<?>> op) {
    Loop loop = new Loop(op, keys.size());
    for (int i = 0; i < outstanding; i++) {
      loop.issue(i);
    }
    sleep(warmupSeconds);
    long c0 = loop.completed.get();
    long t0 = System.nanoTime();
    sleep(seconds);
    long c1 = loop.completed.get();
    long t1 = System.nanoTime();
    loop.stop = true;
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (loop.inFlight.get() > 0 && System.nanoTime() < drainDeadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    return new Row(name, run, (c1 - c0) * 1e9 / (t1 - t0), loop.errors.get(), loop.firstError, 0, load);
  }

  /** Chains of reads: each completion issues the chain's next read until stopped. */
  private static final class Loop {
    final IntFunction<CompletionStage<?>> op;
    final int keyCount;
    final AtomicLong completed = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicInteger inFlight = new AtomicInteger();
    volatile boolean stop;
    volatile String firstError = "";

    Loop(IntFunction<CompletionStage<?>> op, int keyCount) {
      this.op = op;
      this.keyCount = keyCount;
    }

    void issue(int seq) {
      // a read already complete is handled here in the loop, not by recursion
      int n = seq;
      while (!stop) {
        inFlight.incrementAndGet();
        CompletableFuture<?> f = op.apply(Math.floorMod(n, keyCount)).toCompletableFuture();
        int next = n + 7919;
        if (!f.isDone()) {
          f.whenComplete((v, e) -> {
            done(v, e);
            issue(next);
          });
          return;
        }
        if (f.isCompletedExceptionally()) {
          done(null, f.handle((v, e) -> e).join());
        } else {
          done(f.getNow(null), null);
        }
        n = next;
      }
    }

    private void done(Object v, Throwable e) {
      inFlight.decrementAndGet();
      completed.incrementAndGet();
      if (e != null || v == null) {
        if (errors.getAndIncrement() == 0) {
          Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
              ? e.getCause() : e;
          firstError = cause == null ? "null value" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        }
      }
    }
  }

  private static void sleep(double seconds) {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long left;
    while ((left = end - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }
}
