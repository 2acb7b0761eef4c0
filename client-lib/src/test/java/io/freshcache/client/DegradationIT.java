package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * G4 on the real cluster: with a master killed, and then with the whole cluster down, reads keep
 * succeeding from the loader, the breaker opens, the rate limiter caps loader calls, and after the
 * restart the cache is used again. Stops and restarts Redis through {@code dev/stack}; it leaves
 * the stack up and ready.
 */
class DegradationIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final int BUDGET_PER_SECOND = 50;

  @AfterAll
  static void leaveTheStackReady() throws Exception {
    stack("up", "redis");
  }

  @Test
  void readsSurviveAMasterKillAndAFullOutageWithinTheLoaderBudget() throws Exception {
    CacheClientConfig config = CacheClientConfig.fromEnv().toBuilder()
        .commandTimeout(Duration.ofMillis(300))
        .circuitBreakerTimeout(Duration.ofSeconds(2))
        .loaderRateLimit(BUDGET_PER_SECOND)
        .loaderRateLimitWait(Duration.ofMillis(50))
        .build();
    AtomicInteger loads = new AtomicInteger();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      keys.add("test:degrade:" + RUN + "-" + i);
    }
    try (CacheClient client = CacheClient.create(config)) {
      // on a loaded machine the first connect can outlast the 300 ms command timeout (the
      // client then connects in the background); warm up once it is connected
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(client::ping);
      for (String k : keys) {
        client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
          loads.incrementAndGet();
          return "v";
        });
      }
      long hitsBefore = client.stats().hits();
      read(client, keys, loads, 20);
      assertThat(client.stats().hits()).as("warm cache serves hits").isGreaterThan(hitsBefore);

      // 1. one master dies: open-loop reads at 20/s for 8 s all succeed
      int master = aMasterPort(config);
      long killedAt = System.nanoTime();
      stack("kill", "redis:" + master);
      int failed = openLoop(client, keys, loads, 20, Duration.ofSeconds(8));
      System.out.printf("degradation: master %d killed, %d failed reads of 160%n", master, failed);
      assertThat(failed).isZero();

      // 1b. after the failover every key is a Redis hit again and the breaker is closed: the
      // client does not stay on the loader (a lead from a benchmark run: one client bypassed
      // Redis for ~20 s after a master kill)
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
        long hits = client.stats().hits();
        read(client, keys, loads, keys.size());
        return client.stats().hits() - hits == keys.size()
            && client.circuitState() == CircuitBreaker.State.CLOSED;
      });
      System.out.printf("degradation: all %d keys served from Redis again %.1f s after the master kill%n",
          keys.size(), (System.nanoTime() - killedAt) / 1e9);

      // 2. the whole cluster is down: reads still succeed, the breaker opens
      stack("down", "redis");
      failed = openLoop(client, keys, loads, 20, Duration.ofSeconds(5));
      assertThat(failed).isZero();
      assertThat(client.circuitState()).isIn(CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN);

      // 3. a burst beyond the budget: loader calls stay within it, the rest is shed
      int before = loads.get();
      long start = System.nanoTime();
      AtomicInteger shed = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        fs.add(pool.submit(() -> {
          for (int i = 0; i < 100; i++) {
            try {
              client.getOrLoad(keys.get(i % keys.size()), String.class, CachePolicy.PRODUCT_CATALOG, () -> {
                loads.incrementAndGet();
                return "v";
              });
            } catch (LoadSheddingException e) {
              shed.incrementAndGet();
            }
          }
        }));
      }
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      double seconds = (System.nanoTime() - start) / 1e9;
      int calls = loads.get() - before;
      System.out.printf("degradation: burst of 800 reads in %.2f s with Redis down: %d loader calls"
          + " (budget %d/s), %d shed%n", seconds, calls, BUDGET_PER_SECOND, shed.get());
      assertThat(shed.get()).isPositive();
      assertThat(calls).isLessThanOrEqualTo((int) Math.ceil((seconds + 0.2) * BUDGET_PER_SECOND) + BUDGET_PER_SECOND / 10);

      // 4. Redis is back: the client reconnects and the cache serves hits again
      stack("up", "redis");
      String k = keys.get(0);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
        client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> "v");
        long hits = client.stats().hits();
        client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> "v");
        return client.stats().hits() > hits;
      });
      // the half-open breaker closes after its probe calls succeed
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
        client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> "v");
        return client.circuitState() == CircuitBreaker.State.CLOSED;
      });

      // 5. regression: the near cache subscribes again after the restart (Lettuce's own
      // re-subscribe fails with CROSSSLOT) and drops entries on another client's invalidation
      CachePolicy near = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> client.meters().get("cache.near.subscribed").gauge().value() == 1);
      try (CacheClient other = CacheClient.create(config)) {
        String nk = "test:degrade:" + RUN + "-near";
        AtomicInteger version = new AtomicInteger();
        assertThat(client.getOrLoad(nk, Integer.class, near, version::incrementAndGet)).isEqualTo(1);
        long nearHits = client.stats().nearHits();
        assertThat(client.getOrLoad(nk, Integer.class, near, version::incrementAndGet)).isEqualTo(1);
        assertThat(client.stats().nearHits()).isEqualTo(nearHits + 1);
        other.invalidate(nk);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
            .until(() -> client.getOrLoad(nk, Integer.class, near, version::incrementAndGet) == 2);
      }
    }
  }

  /** Reads {@code n} keys once; every read must succeed. */
  static void read(CacheClient client, List<String> keys, AtomicInteger loads, int n) {
    for (int i = 0; i < n; i++) {
      client.getOrLoad(keys.get(i % keys.size()), String.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return "v";
      });
    }
  }

  /** Dispatches reads on a fixed schedule (open loop); returns how many failed. */
  static int openLoop(CacheClient client, List<String> keys, AtomicInteger loads, int perSecond, Duration d)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<Future<Boolean>> results = new ArrayList<>();
    long period = TimeUnit.SECONDS.toNanos(1) / perSecond;
    long next = System.nanoTime();
    long end = next + d.toNanos();
    int i = 0;
    while (next < end) {
      String k = keys.get(i++ % keys.size());
      results.add(pool.submit(() -> {
        try {
          return "v".equals(client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
            loads.incrementAndGet();
            return "v";
          }));
        } catch (RuntimeException e) {
          return false;
        }
      }));
      next += period;
      LockSupport.parkNanos(next - System.nanoTime());
    }
    int failed = 0;
    for (Future<Boolean> f : results) {
      if (!f.get(30, TimeUnit.SECONDS)) {
        failed++;
      }
    }
    pool.shutdown();
    return failed;
  }

  static int aMasterPort(CacheClientConfig config) {
    RedisClusterClient c = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    try (StatefulRedisClusterConnection<String, String> conn = c.connect()) {
      for (RedisClusterNode n : conn.getPartitions()) {
        if (n.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
          return n.getUri().getPort();
        }
      }
      throw new IllegalStateException("no master found");
    } finally {
      c.shutdown();
    }
  }

  static Path repoRoot() {
    Path root = Path.of("").toAbsolutePath();
    while (root != null && !Files.isExecutable(root.resolve("dev/stack"))) {
      root = root.getParent();
    }
    if (root == null) {
      throw new IllegalStateException("dev/stack not found above " + Path.of("").toAbsolutePath());
    }
    return root;
  }

  static void stack(String... args) throws IOException, InterruptedException {
    Path root = repoRoot();
    List<String> cmd = new ArrayList<>();
    cmd.add(root.resolve("dev/stack").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("dev/stack " + String.join(" ", args) + " failed:\n" + out);
    }
  }
}
