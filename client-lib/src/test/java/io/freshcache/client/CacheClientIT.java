package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.protocol.CacheKey;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** client-lib against the real Redis Cluster that {@code dev/stack up} starts. */
class CacheClientIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static CacheClient client;
  static CacheClient other;
  static RedisClusterClient raw;
  static StatefulRedisClusterConnection<String, String> rawConn;

  record Product(long id, String name, long version) {}

  @BeforeAll
  static void connect() {
    // patient: these tests count loader calls exactly, and a read slower than the command timeout
    // (a stalled machine) goes to the loader, as it should; DegradationIT tests that path
    CacheClientConfig config = ItClients.patient(CacheClientConfig.fromEnv());
    client = CacheClient.create(config);
    other = CacheClient.create(config);
    raw = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    rawConn = raw.connect();
  }

  @AfterAll
  static void close() {
    client.close();
    other.close();
    rawConn.close();
    raw.shutdown();
  }

  static String key(String name) {
    return "test:product:" + RUN + "-" + name;
  }

  @Test
  void missLoadsAndFillsThenHitSkipsTheLoader() {
    AtomicInteger loads = new AtomicInteger();
    String k = key("hit");
    Product first = client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG,
        () -> new Product(1, "lamp", loads.incrementAndGet()));
    Product second = other.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG,
        () -> new Product(1, "lamp", loads.incrementAndGet()));
    assertThat(second).isEqualTo(first);
    assertThat(loads).hasValue(1);
    long ttl = rawConn.sync().pttl(CacheKey.parse(k).valueKey(1));
    // 3600 s ± 20%
    assertThat(ttl).isBetween(2_870_000L, 4_320_000L);
    assertThat(rawConn.sync().exists(CacheKey.parse(k).leaseKey())).isZero();
  }

  @Test
  void versionedInvalidationDuringALoadRejectsTheStaleFill() throws Exception {
    String k = key("stale-set");
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    CompletableFuture<Product> slowReader = CompletableFuture.supplyAsync(() ->
        client.getOrLoadVersioned(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
          loading.countDown();
          proceed.await();
          return Versioned.of(new Product(7, "old", 1), 1);
        }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(other.invalidate(k, 2)).isTrue();
    proceed.countDown();
    // the slow reader still gets what it loaded, but must not have stored it
    assertThat(slowReader.get(5, TimeUnit.SECONDS).name()).isEqualTo("old");
    assertThat(client.stats().fillsRejected()).isPositive();
    AtomicInteger loads = new AtomicInteger();
    Product next = other.getOrLoadVersioned(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
      loads.incrementAndGet();
      return Versioned.of(new Product(7, "new", 2), 2);
    });
    assertThat(next.name()).isEqualTo("new");
    assertThat(loads).hasValue(1);
  }

  @Test
  void aFillOfAnOlderVersionThanTheFenceIsRejectedEvenWithTheLease() {
    String k = key("fenced");
    assertThat(client.invalidate(k, 10)).isTrue();
    assertThat(client.invalidate(k, 9)).as("older invalidation is stale").isFalse();
    client.getOrLoadVersioned(k, Product.class, CachePolicy.PRODUCT_CATALOG,
        () -> Versioned.of(new Product(1, "lagging replica", 9), 9));
    assertThat(rawConn.sync().exists(CacheKey.parse(k).valueKey(1))).isZero();
    client.getOrLoadVersioned(k, Product.class, CachePolicy.PRODUCT_CATALOG,
        () -> Versioned.of(new Product(1, "current", 10), 10));
    assertThat(rawConn.sync().exists(CacheKey.parse(k).valueKey(1))).isOne();
  }

  @Test
  void unversionedInvalidationRevokesTheLease() throws Exception {
    String k = key("revoke");
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    CompletableFuture<Product> slowReader = CompletableFuture.supplyAsync(() ->
        client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
          loading.countDown();
          proceed.await();
          return new Product(3, "old", 0);
        }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
    other.invalidate(k);
    proceed.countDown();
    slowReader.get(5, TimeUnit.SECONDS);
    assertThat(rawConn.sync().exists(CacheKey.parse(k).valueKey(1))).isZero();
  }

  @Test
  void invalidationReachesEverySchemaVersionInUse() {
    String k = key("schemas");
    CachePolicy v1 = CachePolicy.PRODUCT_CATALOG;
    CachePolicy v2 = CachePolicy.PRODUCT_CATALOG.withSchemaVersion(2);
    client.getOrLoad(k, Product.class, v1, () -> new Product(1, "v1 shape", 0));
    other.getOrLoad(k, Product.class, v2, () -> new Product(1, "v2 shape", 0));
    CacheKey ck = CacheKey.parse(k);
    assertThat(rawConn.sync().exists(ck.valueKey(1), ck.valueKey(2))).isEqualTo(2);
    client.invalidate(k);
    assertThat(rawConn.sync().exists(ck.valueKey(1), ck.valueKey(2))).isZero();
  }

  @Test
  void loaderExceptionsReachTheCallerUnchangedAndReleaseTheLease() {
    String k = key("failing");
    IllegalStateException boom = new IllegalStateException("database says no");
    assertThatThrownBy(() -> client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
      throw boom;
    })).isSameAs(boom);
    assertThatThrownBy(() -> client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
      throw new IOException("disk");
    })).isInstanceOf(LoaderException.class).hasCauseInstanceOf(IOException.class);
    assertThat(rawConn.sync().exists(CacheKey.parse(k).leaseKey())).isZero();
    assertThat(rawConn.sync().exists(CacheKey.parse(k).valueKey(1))).isZero();
  }

  @Test
  void notFoundIsNotCached() {
    String k = key("absent");
    AtomicInteger loads = new AtomicInteger();
    for (int i = 0; i < 3; i++) {
      assertThat(client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return null;
      })).isNull();
    }
    assertThat(loads).hasValue(3);
  }

  @Test
  void aCorruptEntryIsAMissNotAnError() {
    String k = key("corrupt");
    rawConn.sync().set(CacheKey.parse(k).valueKey(1), "garbage");
    Product p = client.getOrLoad(k, Product.class, CachePolicy.PRODUCT_CATALOG, () -> new Product(5, "ok", 0));
    assertThat(p.name()).isEqualTo("ok");
  }

  @Test
  void badKeysAreRejectedBeforeAnyIo() {
    assertThatThrownBy(() -> client.getOrLoad("no spaces allowed here", String.class, () -> "x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no spaces allowed here");
  }

  /**
   * G3: 1,000 callers on 4 clients (separate connections), one cold key, a 50 ms loader: exactly
   * one loader call. The clients get a lenient breaker (2 s slow-call threshold and timeout): a
   * burst of 1,000 threads on 2 cores queues reads for longer than the default slow-call
   * threshold, and this test is about the lease, not the breaker (see DegradationIT).
   */
  @Test
  void stampedeOfAThousandCallersOnFourClientsLoadsOnce() throws Exception {
    CacheClientConfig lenient = CacheClientConfig.fromEnv().toBuilder()
        .slowCallThreshold(Duration.ofSeconds(2)).commandTimeout(Duration.ofSeconds(2)).build();
    List<CacheClient> clients = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      clients.add(CacheClient.create(lenient));
    }
    try {
      String k = key("stampede");
      AtomicInteger loads = new AtomicInteger();
      int callers = 1000;
      long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
      long[] started = new long[callers];
      List<Thread> threads = new ArrayList<>();
      List<String> results = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int i = 0; i < callers; i++) {
        CacheClient c = clients.get(i % clients.size());
        int n = i;
        Thread t = new Thread(() -> {
          // park every caller until one shared instant, so they really arrive together
          long wait;
          while ((wait = startAt - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
          }
          started[n] = System.nanoTime();
          results.add(c.getOrLoad(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
            loads.incrementAndGet();
            Thread.sleep(50);
            return "value";
          }));
        });
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join(30_000);
      }
      long min = Long.MAX_VALUE;
      long max = Long.MIN_VALUE;
      for (long s : started) {
        min = Math.min(min, s);
        max = Math.max(max, s);
      }
      long busy = clients.stream().mapToLong(c -> c.stats().leaseBusy()).sum();
      System.out.printf("stampede: %d callers on %d clients, start spread %.1f ms, loader calls %d,"
          + " lease-busy polls %d%n", callers, clients.size(), (max - min) / 1e6, loads.get(), busy);
      assertThat(results).hasSize(callers).containsOnly("value");
      assertThat(loads).hasValue(1);
    } finally {
      clients.forEach(CacheClient::close);
    }
  }

  @Test
  void aWaiterWhoseLeaseWaitRunsOutLoadsItselfWithoutFilling() {
    String k = key("stuck-lease");
    CacheKey ck = CacheKey.parse(k);
    // a lease held by a holder that never fills (crashed mid-load)
    rawConn.sync().set(ck.leaseKey(), "someone-else", io.lettuce.core.SetArgs.Builder.px(10_000));
    CachePolicy shortLease = CachePolicy.PRODUCT_CATALOG.withLeaseTime(Duration.ofMillis(300));
    long start = System.nanoTime();
    Product p = client.getOrLoad(k, Product.class, shortLease, () -> new Product(1, "self-loaded", 0));
    long waitedMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(p.name()).isEqualTo("self-loaded");
    assertThat(waitedMs).as("waited about the lease time").isGreaterThanOrEqualTo(250);
    assertThat(rawConn.sync().exists(ck.valueKey(1))).as("did not fill without the lease").isZero();
    assertThat(rawConn.sync().get(ck.leaseKey())).isEqualTo("someone-else");
  }

  @Test
  void replicaReadsServeHitsFromReplicas() {
    String k = key("replica");
    CachePolicy replicas = CachePolicy.PRODUCT_CATALOG.toBuilder().replicaReads(true).build();
    client.getOrLoad(k, Product.class, replicas, () -> new Product(1, "r", 0));
    AtomicInteger loads = new AtomicInteger();
    // a replica may lag the fill by a moment; once replicated, reads are hits
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
      long hits = other.stats().hits();
      other.getOrLoad(k, Product.class, replicas, () -> {
        loads.incrementAndGet();
        return new Product(1, "r", 0);
      });
      return other.stats().hits() > hits;
    });
  }

  /** GET calls served by the cluster's replicas so far (their command statistics). */
  static long replicaGets() {
    long sum = 0;
    try (var c = raw.connect()) {
      for (var node : c.getPartitions()) {
        if (!node.is(io.lettuce.core.cluster.models.partitions.RedisClusterNode.NodeFlag.REPLICA)) {
          continue;
        }
        String stats = c.getConnection(node.getNodeId()).sync().info("commandstats");
        for (String line : stats.split("\r?\n")) {
          if (line.startsWith("cmdstat_get:")) {
            String calls = line.substring(line.indexOf("calls=") + 6);
            sum += Long.parseLong(calls.substring(0, calls.indexOf(',')));
          }
        }
      }
    }
    return sum;
  }

  /** Regression: async reads of a policy allowing replica reads went to the masters. */
  @Test
  void replicaReadsGoToReplicasSyncAndAsync() throws Exception {
    CachePolicy replicas = CachePolicy.PRODUCT_CATALOG.toBuilder().replicaReads(true).build();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      keys.add(key("replica-stats-" + i));
      client.getOrLoad(keys.get(i), Product.class, replicas, () -> new Product(1, "r", 0));
    }
    // the first GET of every read goes to a replica, hit or miss (a lagging replica misses)
    long before = replicaGets();
    for (String k : keys) {
      other.getOrLoad(k, Product.class, replicas, () -> new Product(1, "r", 0));
    }
    long afterSync = replicaGets();
    for (String k : keys) {
      other.getOrLoadAsync(k, Product.class, replicas, () -> new Product(1, "r", 0)).get(5, java.util.concurrent.TimeUnit.SECONDS);
    }
    long afterAsync = replicaGets();
    assertThat(afterSync - before).as("sync GETs on replicas").isGreaterThanOrEqualTo(keys.size());
    assertThat(afterAsync - afterSync).as("async GETs on replicas").isGreaterThanOrEqualTo(keys.size());
  }

  @Test
  void pingAnswers() {
    assertThat(client.ping()).isTrue();
  }
}
