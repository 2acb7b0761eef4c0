package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The circuit breakers on the real cluster (issue 8): one per master, so a killed master bypasses
 * only its own slots and the breakers are closed again soon after the promotion; and CPU
 * starvation of the client alone opens none. Kills a master through {@code dev/stack}; leaves the
 * stack up and ready.
 */
class BreakerIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  @AfterAll
  static void leaveTheStackReady() throws Exception {
    DegradationIT.stack("up", "redis");
  }

  /** @return {@code perShard} keys for each current master, by master port */
  static Map<Integer, List<String>> keysByMaster(CacheClientConfig config, String prefix, int perShard) {
    StackNodes.partitions(config); // fails early if the cluster does not answer
    Map<Integer, List<String>> byMaster = new HashMap<>();
    List<Integer> masters = StackNodes.masters(config);
    Map<Integer, Integer> slotOwner = new HashMap<>();
    for (var n : StackNodes.partitions(config)) {
      if (masters.contains(n.getUri().getPort())) {
        for (int s : n.getSlots()) {
          slotOwner.put(s, n.getUri().getPort());
        }
      }
    }
    for (int i = 0; byMaster.values().stream().mapToInt(List::size).sum() < perShard * masters.size(); i++) {
      String k = prefix + i;
      int owner = slotOwner.get(SlotHash.getSlot("{" + k + "}"));
      List<String> l = byMaster.computeIfAbsent(owner, o -> new ArrayList<>());
      if (l.size() < perShard) {
        l.add(k);
      }
    }
    return byMaster;
  }

  @Test
  void aKilledMasterBypassesOnlyItsOwnSlotsAndItsBreakerClosesSoonAfterThePromotion() throws Exception {
    CacheClientConfig config = CacheClientConfig.fromEnv().toBuilder()
        .commandTimeout(Duration.ofMillis(300))
        .loaderRateLimit(50) // the victim's reads beyond it are shed: allowed, they are its own slots
        .loaderRateLimitWait(Duration.ofMillis(50))
        .build();
    Map<Integer, List<String>> keys = keysByMaster(config, "test:breaker:" + RUN + "-", 20);
    int victim = keys.keySet().iterator().next();
    Map<String, AtomicInteger> loads = new ConcurrentHashMap<>();
    List<String> all = new ArrayList<>();
    keys.values().forEach(all::addAll);
    try (CacheClient client = CacheClient.create(config)) {
      for (String k : all) {
        read(client, k, loads);
      }
      int[] warmLoads = {loads.values().stream().mapToInt(AtomicInteger::get).sum()};
      assertThat(warmLoads[0]).isEqualTo(all.size());
      loads.clear();
      long hitsBefore = client.stats().hits();

      Set<String> seenNotClosed = ConcurrentHashMap.newKeySet();
      AtomicBoolean stop = new AtomicBoolean();
      Thread watcher = new Thread(() -> {
        while (!stop.get()) {
          client.circuitStates().forEach((node, st) -> {
            if (st != CircuitBreaker.State.CLOSED) {
              seenNotClosed.add(node);
            }
          });
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
      });
      watcher.start();
      DegradationIT.stack("kill", "redis:" + victim);
      long killedAt = System.nanoTime();
      AtomicInteger failed = new AtomicInteger();
      Map<String, Integer> failures = new ConcurrentHashMap<>();
      // open loop, 60 reads/s over every shard, until the victim's slots have a new master
      ExecutorService pool = Executors.newFixedThreadPool(16);
      List<Future<?>> fs = new ArrayList<>();
      long next = System.nanoTime();
      int i = 0;
      int slot = SlotHash.getSlot("{" + keys.get(victim).get(0) + "}");
      long promotedAt = 0;
      while (System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(60)) {
        String k = all.get(i++ % all.size());
        fs.add(pool.submit(() -> {
          try {
            read(client, k, loads);
          } catch (RuntimeException e) {
            if (!keys.get(victim).contains(k)) {
              failed.incrementAndGet(); // a read of a healthy shard failed
            }
            failures.merge(e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replaceAll("test:breaker:\\S+", "K"), 1, Integer::sum);
          }
        }));
        next += TimeUnit.SECONDS.toNanos(1) / 60;
        LockSupport.parkNanos(next - System.nanoTime());
        if (i % 30 == 0 && promotedAt == 0) {
          try {
            if (StackNodes.shardOfSlot(config, slot).master() != victim) {
              promotedAt = System.nanoTime();
            }
          } catch (IllegalStateException noLiveMasterOrReplicaYet) {
            // the new master has no replica: it is promoted all the same
            if (!StackNodes.masters(config).contains(victim)) {
              promotedAt = System.nanoTime();
            }
          }
        }
        if (promotedAt != 0 && System.nanoTime() - promotedAt > TimeUnit.SECONDS.toNanos(2)) {
          break;
        }
      }
      for (Future<?> f : fs) {
        f.get(30, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(promotedAt).as("the victim's replica was promoted").isPositive();
      System.out.printf("breakers: master %d killed, promoted after %.1f s; breakers seen not closed: %s;"
          + " failed reads of healthy shards %d; failures %s%n", victim, (promotedAt - killedAt) / 1e9, seenNotClosed, failed.get(), failures);
      assertThat(failed).hasValue(0);
      for (Map.Entry<Integer, List<String>> shard : keys.entrySet()) {
        if (shard.getKey() != victim) {
          for (String k : shard.getValue()) {
            assertThat(loads.getOrDefault(k, new AtomicInteger()).get())
                .as("loader calls for %s of the healthy master %d", k, shard.getKey()).isZero();
          }
          assertThat(seenNotClosed).as("breaker of the healthy master").doesNotContain("127.0.0.1:" + shard.getKey());
        }
      }
      assertThat(client.stats().hits()).isGreaterThan(hitsBefore);
      // after the promotion, the victim's keys are Redis hits again and every breaker is closed
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
        long hits = client.stats().hits();
        for (String k : keys.get(victim)) {
          read(client, k, loads);
        }
        return client.stats().hits() - hits == keys.get(victim).size()
            && client.circuitState() == CircuitBreaker.State.CLOSED;
      });
      long recovered = System.nanoTime();
      stop.set(true);
      watcher.join();
      System.out.printf("breakers: the victim's keys are Redis hits and every breaker is closed %.1f s after"
          + " the promotion (%.1f s after the kill)%n", (recovered - promotedAt) / 1e9, (recovered - killedAt) / 1e9);
    } finally {
      DegradationIT.stack("up", "redis");
    }
  }

  /**
   * With no fault at all, busy threads take the CPU from the client (several times as many as
   * cores, beside everything else on this machine): calls get slow and some time out, but that
   * is this process, not Redis; no breaker may open, and no read may go to the loader.
   */
  @Test
  void cpuStarvationOfTheClientAloneOpensNoBreaker() throws Exception {
    CacheClientConfig config = CacheClientConfig.fromEnv(); // production defaults
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      keys.add("test:starve:" + RUN + "-" + i);
    }
    Map<String, AtomicInteger> loads = new ConcurrentHashMap<>();
    try (CacheClient client = CacheClient.create(config)) {
      for (String k : keys) {
        read(client, k, loads);
      }
      loads.clear();
      long before = client.stats().fallbacks();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicBoolean opened = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      List<Thread> threads = new ArrayList<>();
      int hogs = 8 * Runtime.getRuntime().availableProcessors();
      for (int h = 0; h < hogs; h++) {
        Thread t = new Thread(() -> {
          double x = 1;
          while (!stop.get()) {
            x = Math.sin(x) + 1;
          }
          if (x == 42) {
            System.out.print("");
          }
        }, "cpu-hog-" + h);
        t.start();
        threads.add(t);
      }
      for (int r = 0; r < 16; r++) {
        int first = r;
        Thread t = new Thread(() -> {
          int i = first;
          while (!stop.get()) {
            try {
              read(client, keys.get(i++ % keys.size()), loads);
              reads.incrementAndGet();
            } catch (RuntimeException e) {
              // counted below as fallbacks / shed reads
            }
          }
        }, "reader-" + r);
        t.start();
        threads.add(t);
      }
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < end) {
        if (client.circuitState() != CircuitBreaker.State.CLOSED) {
          opened.set(true);
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(30_000);
      }
      long fallbacks = client.stats().fallbacks() - before;
      System.out.printf("starvation: %d hogs, %d reads in 20 s, %d loader calls, %d reads bypassed Redis,"
          + " a breaker opened: %s, load average %.1f%n", hogs, reads.get(),
          loads.values().stream().mapToInt(AtomicInteger::get).sum(), fallbacks, opened.get(),
          java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
      assertThat(opened).as("a breaker opened with no fault").isFalse();
      assertThat(reads.get()).isPositive();
    }
  }

  static void read(CacheClient client, String k, Map<String, AtomicInteger> loads) {
    String v = client.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
      loads.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
      return "v";
    });
    if (!"v".equals(v)) {
      throw new IllegalStateException(k + " read " + v);
    }
  }

}
