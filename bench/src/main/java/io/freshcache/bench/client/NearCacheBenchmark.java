package io.freshcache.bench.client;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.Loader;
import io.freshcache.protocol.CacheKey;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Benchmark 3 (JMH, one thread): a hit on the same client and key with the near cache on
 * ({@code PRODUCT_CATALOG.withNearCache(true)}) and off ({@code PRODUCT_CATALOG}, one Redis
 * {@code GET} and a decode). Needs the stack ({@code REDIS_NODES}).
 *
 * <p>The stack is shared with other engineers' tests, which may stall or fail over a node: a read
 * that bypasses Redis then calls the loader, which returns the value and is counted in the
 * secondary result {@code loaderCalls}, reported beside the times.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NearCacheBenchmark {
  static final CachePolicy REDIS = CachePolicy.PRODUCT_CATALOG;
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
  static final BenchProduct VALUE = BenchProduct.sample(3);

  private CacheClient client;
  private String key;

  /** Loader calls during measurement: reads that were not cache hits. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Fallbacks {
    /** Reported by JMH as a secondary result. */
    public long loaderCalls;
    final Loader<BenchProduct> loader = () -> {
      loaderCalls++;
      return VALUE;
    };

    /** Counts per iteration. */
    @Setup(Level.Iteration)
    public void reset() {
      loaderCalls = 0;
    }
  }

  /** Connects, stores the value, and waits until the near cache serves it. */
  @Setup(Level.Trial)
  public void setUp() {
    client = CacheClient.create(CacheClientConfig.fromEnv());
    // a key of realistic length: validating it is part of every read
    key = "bench:product:" + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
    // the near cache serves once Redis is reachable and its notice subscription is up
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!client.ping() || client.stats().nearHits() == 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the near cache never served a hit: " + client.stats());
      }
      client.getOrLoad(key, BenchProduct.class, NEAR, () -> VALUE);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
  }

  /** @return the value from the near cache */
  @Benchmark
  public BenchProduct nearHit(Fallbacks f) {
    return client.getOrLoad(key, BenchProduct.class, NEAR, f.loader);
  }

  /** @return the value from Redis */
  @Benchmark
  public BenchProduct redisHit(Fallbacks f) {
    return client.getOrLoad(key, BenchProduct.class, REDIS, f.loader);
  }

  /**
   * Diagnostic: what validating the key costs, a step of every read (near or not).
   *
   * @return the parsed key
   */
  @Benchmark
  public CacheKey parseKey() {
    return CacheKey.parse(key);
  }

  /** Closes the client. */
  @TearDown(Level.Trial)
  public void tearDown() {
    client.close();
  }
}
