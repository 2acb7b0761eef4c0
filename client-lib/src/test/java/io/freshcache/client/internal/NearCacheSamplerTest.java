package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The near-cache sampler's decision (unit): what counts as newer, and the re-check stages. */
class NearCacheSamplerTest {
  static final CacheKey K = CacheKey.parse("test:sampler:1");
  static final Duration TTL = Duration.ofMinutes(10);

  final NearCache near = new NearCache(100, () -> { }, () -> { });
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final AtomicReference<NearCacheSampler.RedisView> redis = new AtomicReference<>(nothing());

  @AfterEach
  void close() {
    near.close();
  }

  static Envelope header(long version, int flags) {
    return new Envelope(Codecs.JSON_ID, flags, version, 1_000, 2_000, 0, new byte[0]);
  }

  static NearCacheSampler.RedisView nothing() {
    return new NearCacheSampler.RedisView(-1, false, false, null);
  }

  static NearCacheSampler.RedisView fence(long v, boolean deleted) {
    return new NearCacheSampler.RedisView(v, deleted, false, null);
  }

  static NearCacheSampler.RedisView value(long fence, long version) {
    return new NearCacheSampler.RedisView(fence, false, true, header(version, 0));
  }

  @Test
  void redisHoldingNothingNewerIsConsistent() {
    assertThat(NearCacheSampler.newer(5, nothing())).isNull();
    assertThat(NearCacheSampler.newer(5, fence(5, false))).isNull(); // the entry's own change, noticed
    assertThat(NearCacheSampler.newer(5, fence(4, true))).isNull(); // an older delete
    assertThat(NearCacheSampler.newer(5, value(-1, 5))).isNull();
    assertThat(NearCacheSampler.newer(5, value(3, 4))).isNull();
    assertThat(NearCacheSampler.newer(5, value(-1, Envelope.NO_VERSION))).isNull(); // nothing to compare
    assertThat(NearCacheSampler.newer(5, new NearCacheSampler.RedisView(-1, false, true, null))).isNull();
  }

  @Test
  void redisHoldingSomethingNewerIsApparent() {
    assertThat(NearCacheSampler.newer(5, fence(6, false))).contains("fence is at v6 > entry v5");
    assertThat(NearCacheSampler.newer(5, fence(5, true))).contains("deleted at the entry's version v5");
    assertThat(NearCacheSampler.newer(5, value(5, 7))).contains("the value is at v7 > entry v5");
    assertThat(NearCacheSampler.newer(5, new NearCacheSampler.RedisView(-1, false, true,
        header(6, Envelope.FLAG_NOT_FOUND)))).contains("a cached not-found is at v6");
  }

  @Test
  void theScriptsReplyIsParsed() {
    byte[] h = new Envelope(Codecs.JSON_ID, 0, 42, 1_000, 2_000, 3, new byte[0]).encode();
    NearCacheSampler.RedisView v = NearCacheSampler.view("43".getBytes(), "1".getBytes(), h);
    assertThat(v.fenceVersion()).isEqualTo(43);
    assertThat(v.tombstone()).isTrue();
    assertThat(v.valuePresent()).isTrue();
    assertThat(v.value().dataVersion()).isEqualTo(42);
    assertThat(v.value().writtenAtMs()).isEqualTo(1_000);
    NearCacheSampler.RedisView none = NearCacheSampler.view(new byte[0], new byte[0], new byte[0]);
    assertThat(none).isEqualTo(nothing());
    NearCacheSampler.RedisView garbage = NearCacheSampler.view(new byte[0], new byte[0], "x".getBytes());
    assertThat(garbage.valuePresent()).isTrue();
    assertThat(garbage.value()).isNull();
  }

  NearCacheSampler sampler(Duration m, Duration... windows) {
    near.subscribedForTests();
    return new NearCacheSampler(near, s -> redis.get(), 10, m, List.of(windows), registry);
  }

  void store(long version) {
    near.put(K, 1, String.class, "v" + version, version, 1_000, near.epoch(K), TTL);
  }

  @Test
  void aConsistentEntryIsCountedAndFreedForLaterSamples() {
    NearCacheSampler s = sampler(Duration.ofMillis(1), Duration.ofMillis(2));
    store(5);
    redis.set(fence(5, false));
    s.sampleOnce();
    assertThat(s.checks("sample", "consistent")).isEqualTo(1);
    assertThat(s.sampled()).isEqualTo(1);
    s.sampleOnce();
    assertThat(s.checks("sample", "consistent")).isEqualTo(2);
    assertThat(s.pending()).isZero();
    assertThat(s.nines("1ms")).isEqualTo(Math.log10(2));
  }

  @Test
  void anUnversionedEntryIsSkipped() {
    NearCacheSampler s = sampler(Duration.ofMillis(1), Duration.ofMillis(2));
    near.put(K, 1, String.class, "old", near.epoch(K), TTL);
    redis.set(fence(99, false));
    s.sampleOnce();
    assertThat(s.checks("sample", "unversioned")).isEqualTo(1);
    assertThat(s.sampled()).isZero();
    assertThat(s.pending()).isZero();
  }

  @Test
  void anEntryDroppedBeforeMIsConsistentWithinM() throws Exception {
    NearCacheSampler s = sampler(Duration.ofMillis(20), Duration.ofMillis(40));
    store(5);
    redis.set(fence(6, false));
    s.sampleOnce();
    assertThat(s.checks("sample", "apparent")).isEqualTo(1);
    assertThat(s.pending()).isEqualTo(1);
    s.sampleOnce(); // an entry being followed is not sampled twice
    assertThat(s.checks("sample", "apparent")).isEqualTo(1);
    near.drop(K); // its notice came
    Thread.sleep(30);
    s.recheckDue();
    assertThat(s.checks("20ms", "consistent")).isEqualTo(1);
    assertThat(s.checks("20ms", "inconsistent")).isZero();
    assertThat(s.pending()).isZero();
    assertThat(s.findings()).isEmpty();
  }

  @Test
  void anEntryHeldPastMIsInconsistentAndClearsWhenDroppedAtALaterWindow() throws Exception {
    NearCacheSampler s = sampler(Duration.ofMillis(20), Duration.ofMillis(300), Duration.ofMillis(600));
    store(5);
    redis.set(value(6, 6));
    s.sampleOnce();
    Thread.sleep(30);
    s.recheckDue();
    assertThat(s.checks("20ms", "inconsistent")).isEqualTo(1);
    assertThat(s.pending()).isEqualTo(1);
    assertThat(s.findings()).singleElement().satisfies(f -> {
      assertThat(f.key()).isEqualTo(K.toString());
      assertThat(f.entryVersion()).isEqualTo(5);
      assertThat(f.redis().newestVersion()).isEqualTo(6);
      assertThat(f.outcome()).isEqualTo("inconsistent");
      assertThat(f.describe()).contains("test:sampler:1", "v5", "fence v6", "last notice #");
    });
    near.drop(K);
    Thread.sleep(300);
    s.recheckDue();
    assertThat(s.checks("300ms", "consistent")).isEqualTo(1);
    assertThat(s.confirmed()).isZero();
    assertThat(s.pending()).isZero();
    assertThat(s.nines("20ms")).isEqualTo(0.0); // 1 of 1 inconsistent
    assertThat(s.nines("300ms")).isEqualTo(0.0); // log10(1): none inconsistent there
  }

  @Test
  void anEntryHeldPastTheLastWindowIsConfirmedAndNotSampledAgain() throws Exception {
    NearCacheSampler s = sampler(Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(15));
    store(5);
    redis.set(fence(7, false));
    s.sampleOnce();
    Thread.sleep(25);
    s.recheckDue();
    assertThat(s.checks("5ms", "inconsistent")).isEqualTo(1);
    assertThat(s.checks("10ms", "inconsistent")).isEqualTo(1);
    assertThat(s.checks("15ms", "inconsistent")).isEqualTo(1);
    assertThat(s.confirmed()).isEqualTo(1);
    assertThat(s.pending()).isZero();
    assertThat(s.findings()).last().satisfies(f -> assertThat(f.outcome()).isEqualTo("confirmed"));
    assertThat(registry.get("cache.near.sample.violations").tag("result", "confirmed").counter().count())
        .isEqualTo(1);
    assertThat(registry.get("cache.near.sample.nines").tag("window", "confirmed").gauge().value()).isEqualTo(0.0);
    s.sampleOnce();
    assertThat(s.sampled()).isEqualTo(1); // the confirmed entry is not sampled again
    store(7); // a new entry of the key is
    redis.set(fence(7, false));
    s.sampleOnce();
    assertThat(s.checks("sample", "consistent")).isEqualTo(1);
  }

  @Test
  void redisNoLongerNewerAtARecheckIsConsistent() throws Exception {
    NearCacheSampler s = sampler(Duration.ofMillis(10), Duration.ofMillis(20));
    store(5);
    redis.set(fence(6, false));
    s.sampleOnce();
    redis.set(nothing()); // e.g. the fence was evicted with its namespace
    Thread.sleep(15);
    s.recheckDue();
    assertThat(s.checks("10ms", "consistent")).isEqualTo(1);
    assertThat(s.pending()).isZero();
  }

  @Test
  void aFailedRedisReadIsAnErrorAndTheEntryIsFreed() {
    near.subscribedForTests();
    NearCacheSampler s = new NearCacheSampler(near, x -> {
      throw new RedisLink.Unavailable("down");
    }, 10, Duration.ofMillis(10), List.of(Duration.ofMillis(20)), registry);
    store(5);
    s.sampleOnce();
    s.sampleOnce();
    assertThat(s.checks("sample", "error")).isEqualTo(2);
    assertThat(s.sampled()).isZero();
  }
}
