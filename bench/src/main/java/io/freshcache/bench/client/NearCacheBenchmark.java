package io.freshcache.bench.client;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.Loader;
import io.freshcache.protocol.CacheKey;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NearCacheBenchmark {
  static final CachePolicy REDIS = CachePolicy.PRODUCT_CATALOG;
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.withNearCache(true);

  private CacheClient client;
  private String key;
  private final Loader<BenchProduct> failing = () -> {
    throw new IllegalStateException("a miss during the near-cache benchmark");
  };

  /** Connects, stores the value, and waits until the near cache serves it. */
  @Setup(Level.Trial)
  public void setUp() {
    client = CacheClient.create(CacheClientConfig.fromEnv());
    key = "bench:near:" + UUID.randomUUID();
    BenchProduct p = BenchProduct.sample(3);
    client.getOrLoad(key, BenchProduct.class, REDIS, () -> p);
    // the near cache serves once its notice subscription is up, which happens after connecting
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (client.stats().nearHits() == 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the near cache never served a hit: " + client.stats());
      }
      client.getOrLoad(key, BenchProduct.class, NEAR, failing);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
  }

  /** @return the value from the near cache */
  @Benchmark
  public BenchProduct nearHit() {
    return client.getOrLoad(key, BenchProduct.class, NEAR, failing);
  }

  /** @return the value from Redis */
  @Benchmark
  public BenchProduct redisHit() {
    return client.getOrLoad(key, BenchProduct.class, REDIS, failing);
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

  /** Checks the hits came from where they should, then closes the client. */
  @TearDown(Level.Trial)
  public void tearDown() {
    CacheClient.Stats s = client.stats();
    client.close();
    if (s.loaderCalls() != 1 || s.fallbacks() != 0) {
      throw new IllegalStateException("the benchmark left the hit path: " + s);
    }
  }
}
