package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.client.internal.ScriptRunner;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The near-cache consistency sampler on the real cluster ({@link CacheClient#nearCacheConsistency()}):
 * (a) invalidations through the real publish path leave nothing inconsistent; (b) a lost notice,
 * injected by applying a newer version in Redis (value and fence) without publishing its notice,
 * with the watchdog off so nothing else drops the entry, is reported apparent, inconsistent
 * within M and at each window, then confirmed, naming the key and both versions; (c) readers and
 * invalidations racing while the sampler runs raise nothing and confirm nothing. Each test ends
 * by comparing every near entry it made with Redis or the test's source of truth. M and the
 * windows are short here (500 ms, then 1 s and 2 s; the stress test 2 s and 5 s).
 */
class NearCacheSamplerIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true)
      .nearCacheTtl(Duration.ofMinutes(10)).build();
  static CacheClientConfig config;
  static CacheClient writer;
  static RedisClusterClient raw;
  static StatefulRedisClusterConnection<byte[], byte[]> conn;

  @BeforeAll
  static void connect() {
    config = ItClients.patient(CacheClientConfig.fromEnv());
    writer = CacheClient.create(config.toBuilder().replicaAcks(0).build());
    raw = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    conn = raw.connect(ByteArrayCodec.INSTANCE);
  }

  @AfterAll
  static void close() {
    writer.close();
    conn.close();
    raw.shutdown();
  }

  static String key(String name) {
    return "test:nearsample:" + RUN + "-" + name;
  }

  static CacheClient sampled(CacheClientConfig.Builder b) {
    CacheClient c = CacheClient.create(b.build());
    await().atMost(Duration.ofSeconds(30)).until(() -> NoticeWatchdogIT.nearReady(c));
    return c;
  }

  /** @return the data version of the value Redis holds for {@code k} under {@link #NEAR}, or -1 if none */
  static long redisVersion(String k) {
    byte[] v = conn.sync().get(CacheKey.parse(k).valueKey(NEAR.schemaVersion()).getBytes(StandardCharsets.UTF_8));
    return v == null ? -1 : Envelope.peekVersion(v);
  }

  /** The source of truth of tests (a) and (c): each key's value and version. */
  static final class Truth {
    final Map<String, Versioned<String>> rows = new ConcurrentHashMap<>();

    Versioned<String> load(String k) {
      return rows.computeIfAbsent(k, x -> Versioned.of(x + "@1", 1));
    }

    /** A change: the row moves on, then the cache is told with the new version, as cdc-ingest does. */
    void change(String k) {
      Versioned<String> now = rows.compute(k, (x, old) -> {
        long v = old == null ? 2 : old.version() + 1;
        return Versioned.of(x + "@" + v, v);
      });
      writer.invalidate(k, now.version());
    }
  }

  static String read(CacheClient c, Truth truth, String k) {
    return c.getOrLoadVersioned(k, String.class, NEAR, () -> truth.load(k));
  }

  /** Every near entry of {@code keys} is absent or at the truth's version and value. */
  static void nearMatchesTruth(CacheClient c, Truth truth, List<String> keys) {
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      for (String k : keys) {
        Object held = c.nearPeek(k, NEAR);
        if (held != null) {
          Versioned<String> row = truth.rows.get(k);
          assertThat(held).as(k).isEqualTo(row.value());
          assertThat(c.nearPeekVersion(k, NEAR)).as(k).isEqualTo(row.version());
        }
      }
    });
  }

  @Test
  void invalidationsThroughTheRealPublishPathLeaveNothingInconsistent() throws Exception {
    Truth truth = new Truth();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      keys.add(key("normal-" + i));
    }
    try (CacheClient c = sampled(config.toBuilder().nearCacheSamplePerSecond(100)
        .nearCacheSampleDelay(Duration.ofMillis(500)).nearCacheSampleWindows(List.of(Duration.ofSeconds(1),
            Duration.ofSeconds(2))))) {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
      int round = 0;
      while (System.nanoTime() < end) {
        for (String k : keys) {
          assertThat(read(c, truth, k)).startsWith(k + "@"); // a notice may be in flight: not always the newest
        }
        if (round++ % 2 == 0) {
          truth.change(keys.get(ThreadLocalRandom.current().nextInt(keys.size())));
        }
        Thread.sleep(100);
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> c.nearCacheConsistency().pending() == 0);
      NearCacheConsistency s = c.nearCacheConsistency();
      System.out.printf("sampler (normal traffic): %s%n", s);
      assertThat(s.enabled()).isTrue();
      assertThat(s.sampled()).isGreaterThan(50);
      assertThat(s.unversioned()).isZero();
      assertThat(s.inconsistent()).containsOnlyKeys("500ms", "1s", "2s").allSatisfy((w, n) -> assertThat(n).as(w).isZero());
      assertThat(s.confirmed()).isZero();
      assertThat(s.findings()).isEmpty();
      // none inconsistent: at least log10(sampled) nines (the sampler goes on while this is read)
      assertThat(s.nines().get("500ms")).isGreaterThanOrEqualTo(Math.log10(s.sampled()));
      assertThat(c.meters().get("cache.near.sample.checks").tag("window", "sample").tag("result", "consistent")
          .counter().count()).isEqualTo(s.consistent());
      nearMatchesTruth(c, truth, keys);
    }
  }

  @Test
  void aLostNoticeIsReportedInconsistentWithinMAndConfirmedAfterTheLastWindow() {
    String victim = key("lost");
    List<String> others = List.of(key("kept-1"), key("kept-2"), key("kept-3"));
    try (CacheClient c = sampled(config.toBuilder().nearCacheNoticeCheck(Duration.ZERO) // nothing else drops it
        .nearCacheSamplePerSecond(100).nearCacheSampleDelay(Duration.ofMillis(500))
        .nearCacheSampleWindows(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2))))) {
      for (String k : others) {
        assertThat(c.getOrLoadVersioned(k, String.class, NEAR, () -> Versioned.of("same", 3))).isEqualTo("same");
      }
      assertThat(c.getOrLoadVersioned(victim, String.class, NEAR, () -> Versioned.of("v1", 1))).isEqualTo("v1");
      assertThat(c.nearPeekVersion(victim, NEAR)).isEqualTo(1L);
      // a change whose notice is lost: applied in Redis as cache-writer applies it, not published
      CacheKey k = CacheKey.parse(victim);
      long now = System.currentTimeMillis();
      byte[] envelope = new Envelope(Codecs.JSON_ID, 0, 2, now, now + 3_600_000, 0,
          "\"v2\"".getBytes(StandardCharsets.UTF_8)).encode();
      long applied = ScriptRunner.<Long>run(conn.sync(), CacheScripts.APPLY, ScriptOutputType.INTEGER,
          new byte[][] {b(k.fenceKey()), b(k.leaseKey()), b(k.valueKey(NEAR.schemaVersion()))},
          b(CacheScripts.OP_UPSERT), b("2"), envelope, b("3600000"), b(CacheScripts.schemaField(NEAR.schemaVersion())),
          b(Long.toString(NEAR.fenceTtl().toMillis())), b(k.valueKeyPrefix()), b("0"));
      assertThat(applied).isEqualTo(CacheScripts.APPLY_APPLIED);
      assertThat(redisVersion(victim)).isEqualTo(2);

      await().atMost(Duration.ofSeconds(30)).until(() -> c.nearCacheConsistency().confirmed() >= 1);
      NearCacheConsistency s = c.nearCacheConsistency();
      System.out.printf("sampler (lost notice): %s%n", s);
      assertThat(s.apparent()).isGreaterThanOrEqualTo(1);
      assertThat(s.inconsistent()).containsEntry("500ms", 1L).containsEntry("1s", 1L).containsEntry("2s", 1L);
      assertThat(s.confirmed()).isEqualTo(1);
      assertThat(s.nines().get("confirmed")).isGreaterThanOrEqualTo(-Math.log10(1.0 / s.sampled()));
      assertThat(s.findings()).anySatisfy(f -> assertThat(f).startsWith("near cache inconsistent at window 500ms")
          .contains(victim, "held at v1", "fence v2", "a value at v2", "notice channel"));
      assertThat(s.findings()).last().satisfies(f -> assertThat(f).startsWith("near cache confirmed at window 2s")
          .contains(victim, "held at v1", "fence v2"));
      assertThat(s.findings()).noneMatch(f -> others.stream().anyMatch(f::contains));
      assertThat(c.meters().get("cache.near.sample.violations").tag("result", "confirmed").counter().count())
          .isEqualTo(1);
      // a confirmed entry is not followed again: nothing new is counted for it
      await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
          .until(() -> c.nearCacheConsistency().confirmed() == 1 && c.nearCacheConsistency().pending() == 0);

      // every near entry of the test against Redis: the victim is the one stale entry, and reported
      assertThat(c.nearPeek(victim, NEAR)).isEqualTo("v1");
      assertThat(c.nearPeekVersion(victim, NEAR)).isLessThan(redisVersion(victim));
      for (String o : others) {
        Long held = c.nearPeekVersion(o, NEAR);
        assertThat(held).as(o).isNotNull();
        assertThat(held).as(o).isEqualTo(redisVersion(o));
      }
      // the notice the change should have sent drops it
      writer.invalidate(victim, 2);
      await().atMost(Duration.ofSeconds(10)).until(() -> c.nearPeek(victim, NEAR) == null);
      assertThat(c.getOrLoadVersioned(victim, String.class, NEAR, () -> Versioned.of("v2", 2))).isEqualTo("v2");
    }
  }

  @Test
  void racingReadsAndInvalidationsWhileSamplingConfirmNothing() throws Exception {
    Truth truth = new Truth();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      keys.add(key("stress-" + i));
    }
    try (CacheClient c = sampled(config.toBuilder().nearCacheSamplePerSecond(500)
        .nearCacheSampleDelay(Duration.ofMillis(500)).nearCacheSampleWindows(List.of(Duration.ofSeconds(2),
            Duration.ofSeconds(5))))) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      AtomicLong changes = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(6);
      List<Future<?>> tasks = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean async = t % 2 == 1;
        tasks.add(pool.submit(() -> {
          while (!stop.get()) {
            String k = keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
            String v = async
                ? c.getOrLoadVersionedAsync(k, String.class, NEAR, () -> truth.load(k)).get(10, TimeUnit.SECONDS)
                : read(c, truth, k);
            assertThat(v).startsWith(k + "@");
            reads.incrementAndGet();
          }
          return null;
        }));
      }
      for (int t = 0; t < 2; t++) {
        tasks.add(pool.submit(() -> {
          while (!stop.get()) {
            truth.change(keys.get(ThreadLocalRandom.current().nextInt(keys.size())));
            changes.incrementAndGet();
            Thread.sleep(2);
          }
          return null;
        }));
      }
      Thread.sleep(8_000);
      stop.set(true);
      for (Future<?> f : tasks) {
        f.get(30, TimeUnit.SECONDS); // no exception in any reader or invalidator
      }
      pool.shutdown();
      await().atMost(Duration.ofSeconds(20)).until(() -> c.nearCacheConsistency().pending() == 0);
      NearCacheConsistency s = c.nearCacheConsistency();
      System.out.printf("sampler (stress, %d reads, %d changes): %s%n", reads.get(), changes.get(), s);
      assertThat(reads.get()).isGreaterThan(1000);
      assertThat(changes.get()).isGreaterThan(100);
      assertThat(s.sampled()).isGreaterThan(100);
      assertThat(s.confirmed()).isZero();
      assertThat(s.inconsistent().get("5s")).isZero();
      assertThat(s.findings()).noneMatch(f -> f.startsWith("near cache confirmed"));
      nearMatchesTruth(c, truth, keys);
    }
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
