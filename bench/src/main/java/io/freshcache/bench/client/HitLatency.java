package io.freshcache.bench.client;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Benchmark 1: latency of a cache hit from one thread — client-lib {@code getOrLoad} against a raw
 * Lettuce sync {@code GET} of the same stored bytes on a separate connection, and, to show where a
 * difference comes from, a raw {@code GET} followed by the same envelope and codec decode.
 *
 * <p>The three are measured in alternating blocks of {@value #BLOCK} calls within one run (the
 * order rotating from run to run) so that the machine's background load falls on all of them
 * alike. Each call is timed with {@link System#nanoTime()} into an HdrHistogram.
 */
final class HitLatency {
  static final int BLOCK = 500;
  static final String CLIENT = "client-lib getOrLoad";
  static final String RAW = "raw Lettuce GET";
  static final String RAW_DECODE = "raw GET + decode";

  /**
   * One contender's percentiles in one run, µs; {@code loaderCalls} counts client reads that were
   * not hits (Redis bypassed while a shared-stack node stalled or failed over).
   */
  record Row(String name, int run, long count, double p50, double p99, double p999, double max, long loaderCalls,
      String load) {}

  private final CacheClient client;
  private final RawRedis raw;
  private final CachePolicy policy;
  private final String key;
  private final BenchProduct value;
  private long sink;
  private long loaderCalls;
  private final io.freshcache.client.Loader<BenchProduct> counting;
  /** Published at the end of a run so the JIT cannot drop the reads. */
  @SuppressWarnings("unused")
  private volatile long published;

  HitLatency(CacheClient client, RawRedis raw, CachePolicy policy, String key, BenchProduct value) {
    this.client = client;
    this.raw = raw;
    this.policy = policy;
    this.key = key;
    this.value = value;
    this.counting = () -> {
      loaderCalls++;
      return value;
    };
  }

  /** Stores the value through the client (a miss and a fill) and checks both paths read it. */
  int prepare() {
    byte[] stored = null;
    for (int attempt = 0; attempt < 50 && stored == null; attempt++) {
      // a fill can be skipped while the shared stack stalls (the read bypasses Redis): try again
      client.getOrLoad(key, BenchProduct.class, policy, () -> value);
      stored = raw.connection().sync().get(valueKey());
      if (stored == null) {
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
    }
    if (stored == null) {
      throw new IllegalStateException("the client did not store " + key);
    }
    BenchProduct viaClient = client.getOrLoad(key, BenchProduct.class, policy, () -> {
      throw new IllegalStateException("expected a hit for " + key);
    });
    if (!value.equals(viaClient) || !value.equals(decode(stored))) {
      throw new IllegalStateException("stored value of " + key + " does not read back");
    }
    return stored.length;
  }

  /** @return one row per contender for run {@code run} */
  List<Row> run(int run, int warmup, int iterations) {
    String load = Machine.stamp();
    RedisAdvancedClusterCommands<byte[], byte[]> sync = raw.connection().sync();
    byte[] vk = valueKey();
    for (int i = 0; i < warmup; i++) {
      clientOnce();
      sink += sync.get(vk).length;
      sink += decode(sync.get(vk)).stock();
    }
    loaderCalls = 0;
    Histogram[] h = new Histogram[3];
    for (int i = 0; i < h.length; i++) {
      h[i] = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    }
    int blocks = Math.max(1, iterations / BLOCK);
    for (int b = 0; b < blocks * 3; b++) {
      int who = (b + run) % 3;
      Histogram into = h[who];
      for (int i = 0; i < BLOCK; i++) {
        long t0 = System.nanoTime();
        switch (who) {
          case 0 -> clientOnce();
          case 1 -> sink += sync.get(vk).length;
          default -> sink += decode(sync.get(vk)).stock();
        }
        into.recordValue(System.nanoTime() - t0);
      }
    }
    published = sink;
    List<Row> rows = new ArrayList<>();
    String[] names = {CLIENT, RAW, RAW_DECODE};
    for (int i = 0; i < 3; i++) {
      rows.add(new Row(names[i], run, h[i].getTotalCount(), micros(h[i].getValueAtPercentile(50)),
          micros(h[i].getValueAtPercentile(99)), micros(h[i].getValueAtPercentile(99.9)),
          micros(h[i].getMaxValue()), i == 0 ? loaderCalls : 0, load));
    }
    return rows;
  }

  private void clientOnce() {
    sink += client.getOrLoad(key, BenchProduct.class, policy, counting).stock();
  }

  private byte[] valueKey() {
    return CacheKey.parse(key).valueKey(policy.schemaVersion()).getBytes(StandardCharsets.UTF_8);
  }

  /** What client-lib does with the bytes of a hit, minus its own bookkeeping. */
  static BenchProduct decode(byte[] stored) {
    Envelope e = Envelope.decode(stored);
    return Codecs.byId(e.codecId()).decode(e.payload(), BenchProduct.class);
  }

  private static double micros(long nanos) {
    return nanos / 1000.0;
  }
}
