package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The near-cache rule on the real cluster: a value enters the near cache only if it was read or
 * loaded under a notice epoch no older than the newest seen for its channel, and its fill was
 * accepted (or it was a master hit). One regression test per way the rule was broken (issue 8,
 * item 2 a-d), with the interleaving forced by latches in loaders, a test seam in the
 * invalidating client, or {@code CLIENT PAUSE WRITE} on a replica (a lagging replica); then a
 * stress test that races readers and invalidations and compares every near entry with the truth.
 */
class NearCacheCoherenceIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true)
      .nearCacheTtl(Duration.ofMinutes(10)).build();
  static CacheClientConfig config;
  static CacheClient a;
  static CacheClient b;
  static RedisClusterClient raw;
  static StatefulRedisClusterConnection<String, String> conn;

  @BeforeAll
  static void connect() {
    config = ItClients.patient(CacheClientConfig.fromEnv());
    a = CacheClient.create(config);
    b = CacheClient.create(config);
    raw = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    conn = raw.connect();
    await().atMost(Duration.ofSeconds(20)).until(() -> nearReady(a) && nearReady(b));
  }

  @AfterAll
  static void close() {
    a.close();
    b.close();
    conn.close();
    raw.shutdown();
  }

  static String key(String name) {
    return "test:nearcoh:" + RUN + "-" + name;
  }

  static boolean nearReady(CacheClient c) {
    return c.meters().get("cache.near.subscribed").gauge().value() == 1;
  }

  static double notices(CacheClient c) {
    return c.meters().get("cache.near.notices").counter().count();
  }

  /** Item a: a caller that saw a notice must not join (and near-cache) a load that started before it. */
  @Test
  void aReadAfterANoticeDoesNotJoinOrStoreALoadThatStartedBeforeIt() throws Exception {
    for (boolean async : new boolean[] {false, true}) {
      String k = key("joiner-" + async);
      CountDownLatch loading = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<String> leader = CompletableFuture.supplyAsync(() -> a.getOrLoad(k, String.class, NEAR, () -> {
        loading.countDown(); // the database was read before the change below
        release.await(30, TimeUnit.SECONDS);
        return "old";
      }));
      try {
        assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
        double seen = notices(a);
        b.invalidate(k); // the change: revokes the leader's lease and notifies a
        await().atMost(Duration.ofSeconds(10)).until(() -> notices(a) > seen);
        // a read that starts now, after the notice, must not get the leader's result
        CompletableFuture<String> joiner = async
            ? a.getOrLoadAsync(k, String.class, NEAR, () -> "new")
            : CompletableFuture.supplyAsync(() -> a.getOrLoad(k, String.class, NEAR, () -> "new"));
        // before the fix it joined the leader's flight and waited for it (here: until the timeout)
        assertThat(joiner.get(15, TimeUnit.SECONDS)).as("async %s", async).isEqualTo("new");
      } finally {
        release.countDown();
      }
      assertThat(leader.get(20, TimeUnit.SECONDS)).isEqualTo("old"); // it started before the change
      assertThat(a.nearPeek(k, NEAR)).as("async %s", async).isIn("new", null);
      assertThat(a.getOrLoad(k, String.class, NEAR, () -> "reloaded")).isEqualTo("new");
    }
  }

  /** Item b, fenced: a loader that read a lagging replica; its fill is refused, so is the near cache. */
  @Test
  void aFillRefusedByTheFenceDoesNotEnterTheNearCache() throws Exception {
    for (boolean async : new boolean[] {false, true}) {
      String k = key("fenced-" + async);
      double seen = notices(a);
      assertThat(b.invalidate(k, 5)).isTrue(); // version 5 is the newest
      await().atMost(Duration.ofSeconds(10)).until(() -> notices(a) > seen); // and a handled its notice
      VersionedLoader<String> lagging = () -> Versioned.of("v3", 3);
      String got = async ? a.getOrLoadVersionedAsync(k, String.class, NEAR, lagging).get(10, TimeUnit.SECONDS)
          : a.getOrLoadVersioned(k, String.class, NEAR, lagging);
      assertThat(got).isEqualTo("v3"); // what the loader returned, to this caller only
      assertThat(a.nearPeek(k, NEAR)).as("async %s", async).isNull();
      assertThat(a.getOrLoadVersioned(k, String.class, NEAR, () -> Versioned.of("v5", 5))).isEqualTo("v5");
    }
  }

  /**
   * Item b, lease revoked by an invalidation whose notice never came (cache-writer sent none for
   * STALE events, and a notice can fail): the rejected fill must not reach the near cache.
   */
  @Test
  void aFillRejectedBecauseTheLeaseWasRevokedDoesNotEnterTheNearCache() throws Exception {
    String k = key("revoked");
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> reader = CompletableFuture.supplyAsync(() -> a.getOrLoad(k, String.class, NEAR, () -> {
      loading.countDown();
      release.await(30, TimeUnit.SECONDS);
      return "old";
    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    CacheKey ck = CacheKey.parse(k);
    // the apply script alone: revokes the lease, deletes the value, sends no notice
    long applied = conn.sync().eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER,
        new String[] {ck.fenceKey(), ck.leaseKey(), ck.valueKey(NEAR.schemaVersion())},
        CacheScripts.OP_INVALIDATE, "-1", "", "0", CacheScripts.schemaField(NEAR.schemaVersion()),
        Long.toString(NEAR.fenceTtl().toMillis()), ck.valueKeyPrefix());
    assertThat(applied).isEqualTo(CacheScripts.APPLY_APPLIED);
    release.countDown();
    assertThat(reader.get(20, TimeUnit.SECONDS)).isEqualTo("old");
    assertThat(a.stats().fillsRejected()).isPositive();
    assertThat(a.nearPeek(k, NEAR)).isNull();
    assertThat(a.getOrLoad(k, String.class, NEAR, () -> "new")).isEqualTo("new");
  }

  /**
   * Item c: replica reads with the near cache. The replica lags ({@code CLIENT PAUSE WRITE} stops
   * it applying the replication stream) after an invalidation this client already handled; a
   * near miss must not bring the replica's old value into the near cache.
   */
  @Test
  void aLaggingReplicasValueDoesNotEnterTheNearCache() throws Exception {
    String k = key("replica");
    CachePolicy replicaOnly = CachePolicy.PRODUCT_CATALOG.toBuilder().replicaReads(true).build();
    CachePolicy replicaNear = NEAR.toBuilder().replicaReads(true).build();
    String physical = CacheKey.parse(k).valueKey(NEAR.schemaVersion());
    assertThat(a.getOrLoad(k, String.class, replicaNear, () -> "old")).isEqualTo("old");
    StackNodes.Shard shard = StackNodes.shardOf(config, k);
    try (StackNodes.Node replica = StackNodes.Node.connect(shard.replica())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> holds(replica.readOnlyGet(physical), "old"));
      pauseWrites(shard.replica(), 30_000);
      try {
        double seen = notices(a);
        try {
          b.invalidate(k);
        } catch (ReplicaAckTimeoutException expected) {
          // the paused replica does not acknowledge it; applied on the master all the same
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> notices(a) > seen);
        // the replica still serves the old value to replica reads (the precondition of the test)
        assertThat(a.getOrLoad(k, String.class, replicaOnly, () -> "new")).isEqualTo("old");
        // a near miss of a near-cached policy: before the fix it read the replica and kept "old"
        a.getOrLoad(k, String.class, replicaNear, () -> "new");
      } finally {
        unpause(shard.replica());
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> !holds(replica.readOnlyGet(physical), "old"));
    }
    assertThat(a.nearPeek(k, replicaNear)).isIn("new", null);
    assertThat(a.getOrLoad(k, String.class, replicaNear, () -> "newer")).isIn("new", "newer");
  }

  /**
   * Item d: the invalidating client itself. A local read between its first near-cache drop and
   * the Redis apply read the old value and stored it; nothing dropped it after the apply, and a
   * failed notice (here: the channel's sequence key is not a number) was ignored.
   */
  @Test
  void theInvalidatingClientsNearCacheDoesNotKeepAValueReadBeforeItsApply() throws Exception {
    String k = key("own");
    assertThat(a.getOrLoad(k, String.class, NEAR, () -> "old")).isEqualTo("old");
    assertThat(a.nearPeek(k, NEAR)).isEqualTo("old");
    int ch = NoticeChannels.indexOf(CacheKey.parse(k));
    String seqKey = NoticeChannels.sequenceKey(ch);
    String seq = conn.sync().get(seqKey);
    conn.sync().set(seqKey, "not-a-number"); // every NOTIFY on this channel fails now
    double failures = a.meters().get("cache.notice.failures").counter().count();
    List<String> readMeanwhile = new ArrayList<>();
    a.beforeApply = () -> readMeanwhile.add(a.getOrLoad(k, String.class, NEAR, () -> "loaded"));
    try {
      assertThatThrownBy(() -> a.invalidate(k)).isInstanceOf(NoticeFailedException.class)
          .isInstanceOf(CacheUnavailableException.class).hasMessageContaining(k);
    } finally {
      a.beforeApply = () -> { };
      conn.sync().set(seqKey, Long.toString((seq == null ? 0 : Long.parseLong(seq)) + 1_000)); // a gap: flushes
    }
    assertThat(readMeanwhile).containsExactly("old"); // the read raced the apply as intended
    assertThat(a.meters().get("cache.notice.failures").counter().count()).isEqualTo(failures + 1);
    assertThat(a.nearPeek(k, NEAR)).as("dropped after the apply").isNull();
    assertThat(a.getOrLoad(k, String.class, NEAR, () -> "new")).isEqualTo("new");
  }

  /**
   * Readers on three clients (near cache on; one also with replica reads; sync and async;
   * versioned loaders that read a lagging copy of the database and unversioned ones that read
   * the primary) race writers that change a row and invalidate it through a random client.
   * Once the writers stop and the notices are in, every near entry equals its row or is absent.
   */
  @Test
  void racingReadersAndInvalidationsLeaveNoStaleNearEntry() throws Exception {
    int keys = 8;
    List<String> names = new ArrayList<>();
    Map<String, AtomicLong> primary = new ConcurrentHashMap<>();
    Map<String, Long> laggingCopy = new ConcurrentHashMap<>();
    for (int i = 0; i < keys; i++) {
      String k = key("stress-" + i);
      names.add(k);
      primary.put(k, new AtomicLong(1));
      laggingCopy.put(k, 1L);
    }
    CachePolicy replicaNear = NEAR.toBuilder().replicaReads(true).build();
    try (CacheClient c = CacheClient.create(config)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> nearReady(c));
      List<CacheClient> clients = List.of(a, b, c);
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService pool = Executors.newFixedThreadPool(10);
      ExecutorService lag = Executors.newSingleThreadExecutor();
      List<Future<?>> work = new ArrayList<>();
      AtomicLong reads = new AtomicLong();
      AtomicLong writes = new AtomicLong();
      for (int r = 0; r < 8; r++) {
        int reader = r;
        work.add(pool.submit(() -> {
          ThreadLocalRandom rnd = ThreadLocalRandom.current();
          while (!stop.get()) {
            String k = names.get(rnd.nextInt(keys));
            CacheClient client = clients.get(reader % 3);
            CachePolicy policy = client == c ? replicaNear : NEAR;
            try {
              int i = names.indexOf(k);
              if (i % 2 == 1) { // an unversioned entity: the loader reads the primary
                Loader<String> loader = () -> {
                  String val = "v" + primary.get(k).get();
                  LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000)); // widen the window
                  return val;
                };
                if (rnd.nextBoolean()) {
                  client.getOrLoad(k, String.class, policy, loader);
                } else {
                  client.getOrLoadAsync(k, String.class, policy, loader).get(30, TimeUnit.SECONDS);
                }
              } else { // a versioned entity: the loader reads a lagging copy and says its version
                VersionedLoader<String> loader = () -> {
                  long v = laggingCopy.get(k);
                  LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000));
                  return Versioned.of("v" + v, v);
                };
                if (rnd.nextBoolean()) {
                  client.getOrLoadVersioned(k, String.class, policy, loader);
                } else {
                  client.getOrLoadVersionedAsync(k, String.class, policy, loader).get(30, TimeUnit.SECONDS);
                }
              }
              reads.incrementAndGet();
            } catch (LoadSheddingException e) {
              // not expected with a patient client; harmless for coherence
            }
          }
          return null;
        }));
      }
      for (int w = 0; w < 2; w++) {
        work.add(pool.submit(() -> {
          ThreadLocalRandom rnd = ThreadLocalRandom.current();
          while (!stop.get()) {
            String k = names.get(rnd.nextInt(keys));
            long v = primary.get(k).incrementAndGet(); // the database write
            lag.execute(() -> {
              LockSupport.parkNanos(5_000_000); // the lagging copy gets it 5 ms later
              laggingCopy.merge(k, v, Math::max);
            });
            CacheClient client = clients.get(rnd.nextInt(3));
            if (names.indexOf(k) % 2 == 0) {
              client.invalidate(k, v); // versioned entities raise the fence (lagging loaders need it)
            } else {
              client.invalidate(k);
            }
            writes.incrementAndGet();
            LockSupport.parkNanos(rnd.nextLong(3_000_000));
          }
          return null;
        }));
      }
      long t0 = System.nanoTime();
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(15));
      stop.set(true);
      long ran = System.nanoTime() - t0;
      for (Future<?> f : work) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      lag.shutdown();
      System.out.printf("near-cache stress: %.1f s, %d reads, %d invalidations, stopped after %.1f s;"
          + " near entries: a=%d b=%d c=%d; stats: a=%s b=%s c=%s%n", ran / 1e9, reads.get(), writes.get(),
          (System.nanoTime() - t0) / 1e9, a.stats().nearSize(), b.stats().nearSize(), c.stats().nearSize(),
          a.stats(), b.stats(), c.stats());
      assertThat(reads.get()).isPositive();
      assertThat(writes.get()).isPositive();
      // notices in transit may still drop entries; a stale entry that stays is the bug
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
        List<String> stale = new ArrayList<>();
        for (CacheClient client : clients) {
          CachePolicy policy = client == c ? replicaNear : NEAR;
          for (String k : names) {
            Object held = client.nearPeek(k, policy);
            String truth = "v" + primary.get(k).get();
            if (held != null && !held.equals(truth)) {
              stale.add("client " + clients.indexOf(client) + ": " + k + " holds " + held + ", row is " + truth);
            }
          }
        }
        assertThat(stale).as("stale near entries").isEmpty();
      });
    }
  }

  /** @return whether a stored envelope holds the JSON string {@code value} */
  static boolean holds(String envelope, String value) {
    return envelope != null && envelope.contains('"' + value + '"');
  }

  static void pauseWrites(int port, long ms) {
    try (StackNodes.Node n = StackNodes.Node.connect(port)) {
      n.conn.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
          new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
          new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8)
              .add("PAUSE").add(ms).add("WRITE"));
    }
  }

  static void unpause(int port) {
    try (StackNodes.Node n = StackNodes.Node.connect(port)) {
      n.conn.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
          new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
          new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8).add("UNPAUSE"));
    }
  }
}
