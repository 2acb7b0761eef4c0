package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client's features against the real Redis Cluster (and Kafka for publishing). */
class ClientFeaturesIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final byte[] AES = Base64.getDecoder().decode("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=");
  static CacheClient a;
  static CacheClient b;
  static RedisClusterClient raw;
  static StatefulRedisClusterConnection<byte[], byte[]> conn;

  record Person(String name, String email) {}

  @BeforeAll
  static void connect() {
    // patient (see ItClients): these tests count loader calls and refreshes exactly
    CacheClientConfig config = ItClients.patient(CacheClientConfig.fromEnv().toBuilder().encryptionKey(AES)
        .kafkaBootstrapServers(System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
        .build());
    a = CacheClient.create(config);
    b = CacheClient.create(config);
    raw = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    conn = raw.connect(ByteArrayCodec.INSTANCE);
  }

  @AfterAll
  static void close() {
    a.close();
    b.close();
    conn.close();
    raw.shutdown();
  }

  static String key(String name) {
    return "test:feature:" + RUN + "-" + name;
  }

  static byte[] get(String physical) {
    return conn.sync().get(physical.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void asyncReadsMissThenHitAndAStampedeOfFuturesLoadsOnce() throws Exception {
    String k = key("async");
    AtomicInteger loads = new AtomicInteger();
    List<CompletableFuture<String>> fs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      CacheClient c = i % 2 == 0 ? a : b;
      fs.add(c.getOrLoadAsync(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        Thread.sleep(50);
        return "async value";
      }));
    }
    for (CompletableFuture<String> f : fs) {
      assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo("async value");
    }
    assertThat(loads).hasValue(1);
    assertThat(a.getOrLoadAsync(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> "other").get())
        .isEqualTo("async value");
  }

  @Test
  void asyncLoaderFailuresFailTheFutureAndAreNotCached() {
    String k = key("async-fail");
    CompletableFuture<String> f = a.getOrLoadAsync(k, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
      throw new IllegalStateException("nope");
    });
    assertThat(f).failsWithin(Duration.ofSeconds(5)).withThrowableThat().havingRootCause()
        .isInstanceOf(IllegalStateException.class).withMessage("nope");
    assertThat(get(CacheKey.parse(k).valueKey(1))).isNull();
  }

  @Test
  void negativeCachingRemembersNotFoundForItsTtl() {
    String k = key("negative");
    CachePolicy p = CachePolicy.PRODUCT_CATALOG.toBuilder().negativeTtl(Duration.ofSeconds(30)).build();
    AtomicInteger loads = new AtomicInteger();
    for (int i = 0; i < 3; i++) {
      assertThat(a.getOrLoad(k, String.class, p, () -> {
        loads.incrementAndGet();
        return null;
      })).isNull();
    }
    assertThat(loads).hasValue(1);
    long ttl = conn.sync().pttl(CacheKey.parse(k).valueKey(1).getBytes(StandardCharsets.UTF_8));
    assertThat(ttl).isBetween(1L, 36_000L);
  }

  @Test
  void oversizeValuesAreReturnedButNotCached() {
    String k = key("oversize");
    CachePolicy p = CachePolicy.PRODUCT_CATALOG.toBuilder().maxValueBytes(64).build();
    String big = "x".repeat(1000);
    assertThat(a.getOrLoad(k, String.class, p, () -> big)).isEqualTo(big);
    assertThat(get(CacheKey.parse(k).valueKey(1))).isNull();
    assertThat(get(CacheKey.parse(k).leaseKey())).as("lease released").isNull();
    assertThat(a.meters().get("cache.oversize").tag("entity", "catalog").counter().count()).isPositive();
  }

  @Test
  void encryptedEntitiesAreUnreadableInRedisAndReadableThroughTheClient() {
    String k = key("secret");
    CachePolicy p = CachePolicy.USER_PROFILES.toBuilder().encrypted(true).build();
    Person alice = new Person("Alice", "alice@example.org");
    a.getOrLoad(k, Person.class, p, () -> alice);
    byte[] stored = get(CacheKey.parse(k).valueKey(1));
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain("alice@example.org");
    AtomicInteger loads = new AtomicInteger();
    assertThat(b.getOrLoad(k, Person.class, p, () -> {
      loads.incrementAndGet();
      return null;
    })).isEqualTo(alice);
    assertThat(loads).hasValue(0);
  }

  @Test
  void anEntryWrittenWithOneCodecIsReadByAPolicyWithAnother() {
    String k = key("codec");
    Person bob = new Person("Bob", "bob@example.org");
    a.getOrLoad(k, Person.class, CachePolicy.USER_PROFILES.withCodec("msgpack"), () -> bob);
    assertThat(b.getOrLoad(k, Person.class, CachePolicy.USER_PROFILES, () -> null)).isEqualTo(bob);
  }

  @Test
  void earlyRefreshRenewsAHotKeyBeforeItExpires() {
    String k = key("xfetch");
    // 3 s TTL, no jitter, β high enough that refreshes start well before expiry
    CachePolicy p = CachePolicy.of("xfetch", Duration.ofSeconds(3)).toBuilder().jitter(0)
        .earlyRefreshBeta(20).build();
    AtomicInteger loads = new AtomicInteger();
    Loader<Integer> loader = () -> {
      Thread.sleep(100);
      return loads.incrementAndGet();
    };
    assertThat(a.getOrLoad(k, Integer.class, p, loader)).isEqualTo(1);
    long missesBefore = a.stats().misses();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
        .until(() -> a.getOrLoad(k, Integer.class, p, loader) >= 2);
    assertThat(a.meters().get("cache.early.refresh").tag("entity", "xfetch").counter().count()).isPositive();
    assertThat(a.stats().misses()).as("renewed before expiry: no reader missed").isEqualTo(missesBefore);
  }

  @Test
  void writeThroughWritesTheDatabaseThenTheCacheAndNeverGoesBackwards() {
    String k = key("session");
    List<String> database = new ArrayList<>();
    assertThat(a.writeThrough(k, "token-v2", 2, CachePolicy.SESSION_TOKENS, () -> database.add("v2"))).isTrue();
    assertThat(database).containsExactly("v2");
    assertThat(b.getOrLoad(k, String.class, CachePolicy.SESSION_TOKENS, () -> "loaded")).isEqualTo("token-v2");
    assertThat(a.writeThrough(k, "token-v1", 1, CachePolicy.SESSION_TOKENS, () -> database.add("v1")))
        .as("older version is stale").isFalse();
    assertThat(b.getOrLoad(k, String.class, CachePolicy.SESSION_TOKENS, () -> "loaded")).isEqualTo("token-v2");
  }

  @Test
  void aFailedDatabaseWriteLeavesTheCacheAlone() {
    String k = key("session-fail");
    a.getOrLoad(k, String.class, CachePolicy.SESSION_TOKENS, () -> "old");
    try {
      a.writeThrough(k, "new", 5, CachePolicy.SESSION_TOKENS, () -> {
        throw new IllegalStateException("constraint violated");
      });
    } catch (IllegalStateException expected) {
      // the database's error, unchanged
    }
    assertThat(b.getOrLoad(k, String.class, CachePolicy.SESSION_TOKENS, () -> "loaded")).isEqualTo("old");
  }

  /** Regression: an oversize value used to throw after the database write, leaving "old" cached. */
  @Test
  void writeThroughOfAValueTooBigToCacheWritesTheDatabaseAndInvalidatesTheEntry() {
    String k = key("session-big");
    CachePolicy p = CachePolicy.SESSION_TOKENS.toBuilder().maxValueBytes(64).build();
    a.getOrLoad(k, String.class, p, () -> "old");
    double oversize = a.meters().get("cache.oversize").tag("entity", p.name()).counter().count();
    List<String> database = new ArrayList<>();
    String big = "x".repeat(500);
    assertThat(a.writeThrough(k, big, 7, p, () -> database.add("big"))).isFalse();
    assertThat(database).containsExactly("big");
    assertThat(b.getOrLoad(k, String.class, p, () -> "loaded")).as("the old entry is gone").isEqualTo("loaded");
    assertThat(a.meters().get("cache.oversize").tag("entity", p.name()).counter().count()).isEqualTo(oversize + 1);
  }

  /** Regression: a value that cannot be encoded used to fail only after the database write. */
  @Test
  void writeThroughOfAValueThatCannotBeEncodedFailsBeforeTheDatabaseWrite() {
    String k = key("session-nokey");
    CachePolicy encrypted = CachePolicy.SESSION_TOKENS.toBuilder().encrypted(true).build();
    List<String> database = new ArrayList<>();
    try (CacheClient noKey = CacheClient.create(CacheClientConfig.fromEnv())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
          () -> noKey.writeThrough(k, "secret", 3, encrypted, () -> database.add("secret")))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("encrypt");
    }
    assertThat(database).as("the database was not written").isEmpty();
  }

  /** Regression: a null value was published as the JSON text "null", an upsert of a value. */
  @Test
  void publishWriteRefusesANullValue() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> a.publishWrite(key("null-write"), null, 1, CachePolicy.SESSION_TOKENS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("publishInvalidate");
  }

  @Test
  void publishWriteReachesTheWritesTopicOnceAcknowledged() throws Exception {
    String k = key("published");
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = c.partitionsFor("freshcache.writes").stream()
          .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      c.assign(parts);
      c.seekToEnd(parts);
      parts.forEach(c::position);
      a.publishWrite(k, new Person("Carol", "carol@example.org"), 9, CachePolicy.USER_PROFILES).get(30, TimeUnit.SECONDS);
      List<CacheEvent> mine = new ArrayList<>();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          CacheEvent e = CacheEventJson.read(r.value());
          if (e.key().toString().equals(k)) {
            mine.add(e);
          }
        }
        return !mine.isEmpty();
      });
      CacheEvent e = mine.get(0);
      assertThat(e.op()).isEqualTo(CacheEvent.Op.UPSERT);
      assertThat(e.version()).isEqualTo(9);
      assertThat(e.codec()).isEqualTo("json");
      assertThat(new String(e.payload(), StandardCharsets.UTF_8)).contains("carol@example.org");
    }
  }

  @Test
  void nearCacheIsDroppedByAnotherClientsInvalidation() {
    String k = key("near");
    CachePolicy p = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> nearReady(a) && nearReady(b));
    AtomicInteger loads = new AtomicInteger();
    Loader<Integer> loader = loads::incrementAndGet;
    assertThat(a.getOrLoad(k, Integer.class, p, loader)).isEqualTo(1);
    long nearHits = a.stats().nearHits();
    assertThat(a.getOrLoad(k, Integer.class, p, loader)).isEqualTo(1);
    assertThat(a.stats().nearHits()).isEqualTo(nearHits + 1);
    b.invalidate(k);
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(() -> a.getOrLoad(k, Integer.class, p, loader) == 2);
  }

  /**
   * Regression: a key read with two types. The near cache returned the object cached for the
   * other type, and a caller that joined another type's load in flight got that load's object:
   * both a ClassCastException at the caller.
   */
  @Test
  void oneKeyReadAsTwoTypesGivesEachCallerItsOwnType() throws Exception {
    String k = key("twotypes");
    CachePolicy near = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> nearReady(a));
    assertThat(a.getOrLoad(k, Person.class, near, () -> new Person("ann", "ann@example.com")))
        .isEqualTo(new Person("ann", "ann@example.com"));
    Map<?, ?> asMap = a.getOrLoad(k, Map.class, near, () -> Map.of("name", "loaded"));
    assertThat(asMap.get("name")).isEqualTo("ann");

    // a load of one type in flight while the other type asks for the same key
    for (boolean async : new boolean[] {false, true}) {
      String k2 = key("twotypes-flight-" + async);
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<Person> first = CompletableFuture.supplyAsync(() -> a.getOrLoad(k2, Person.class,
          CachePolicy.PRODUCT_CATALOG, () -> {
            started.countDown();
            release.await(10, TimeUnit.SECONDS);
            return new Person("bob", "bob@example.com");
          }));
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      long misses = a.stats().misses(); // the first read's miss is counted before its loader runs
      CompletableFuture<Map> second = async
          ? a.getOrLoadAsync(k2, Map.class, CachePolicy.PRODUCT_CATALOG, () -> Map.of("name", "own"))
          : CompletableFuture.supplyAsync(() -> a.getOrLoad(k2, Map.class, CachePolicy.PRODUCT_CATALOG,
              () -> Map.of("name", "own")));
      // the second read has missed in Redis and is about to look for a load in flight
      await().atMost(Duration.ofSeconds(10)).until(() -> a.stats().misses() > misses);
      release.countDown();
      assertThat(first.get(20, TimeUnit.SECONDS)).isEqualTo(new Person("bob", "bob@example.com"));
      Map<?, ?> m = second.get(20, TimeUnit.SECONDS);
      assertThat(m.get("name")).as("async %s", async).isIn("bob", "own");
    }
  }

  @Test
  void aGapInTheNoticeSequenceFlushesTheChannel() {
    String k = key("gap");
    CachePolicy p = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> nearReady(a));
    a.getOrLoad(k, String.class, p, () -> "v");
    a.getOrLoad(k, String.class, p, () -> "v");
    double flushes = a.meters().get("cache.near.flushes").counter().count();
    long hits = a.stats().nearHits();
    // a lost notice: the sequence moves by two, and the notice that arrives names another key
    int ch = NoticeChannels.indexOf(CacheKey.parse(k));
    byte[] seqKey = NoticeChannels.sequenceKey(ch).getBytes(StandardCharsets.UTF_8);
    conn.sync().incr(seqKey);
    long seq = conn.sync().incr(seqKey);
    conn.sync().spublish(NoticeChannels.channel(ch).getBytes(StandardCharsets.UTF_8),
        (seq + "\nother:key:" + RUN).getBytes(StandardCharsets.UTF_8));
    await().atMost(Duration.ofSeconds(5)).until(() -> a.meters().get("cache.near.flushes").counter().count() > flushes);
    a.getOrLoad(k, String.class, p, () -> "v");
    assertThat(a.stats().nearHits()).as("the entry was flushed, the read went to Redis").isEqualTo(hits);
  }

  @Test
  void aNamespaceNoticeDropsEveryNearEntryOfThatEntityAndNoOther() {
    CachePolicy p = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> nearReady(a));
    String entity = "ns" + RUN.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]", "");
    List<String> dropped = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      dropped.add("it:" + entity + ":" + i);
    }
    String kept = "it:" + entity + "x:1";
    for (String k : dropped) {
      a.getOrLoad(k, String.class, p, () -> "v");
      a.getOrLoad(k, String.class, p, () -> "v");
    }
    a.getOrLoad(kept, String.class, p, () -> "v");
    long hits = a.stats().nearHits();
    a.getOrLoad(kept, String.class, p, () -> "v");
    assertThat(a.stats().nearHits()).isEqualTo(hits + 1);

    // what cache-writer publishes after evicting a truncated table's keys: on every channel,
    // through the notify script (sequence and publish in one step)
    byte[] body = NoticeChannels.namespaceBody(CacheKey.namespace("it", entity));
    for (int ch = 0; ch < NoticeChannels.COUNT; ch++) {
      conn.sync().eval(io.freshcache.protocol.CacheScripts.NOTIFY.source(),
          io.lettuce.core.ScriptOutputType.INTEGER,
          new byte[][] {NoticeChannels.sequenceKey(ch).getBytes(StandardCharsets.UTF_8)},
          NoticeChannels.channel(ch).getBytes(StandardCharsets.UTF_8), body);
    }
    double flushes = a.meters().get("cache.near.flushes").counter().count();
    // the Redis values stay (the writer deletes them; here only the notice is sent), so a
    // dropped entry shows as a read that is not a near hit
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> {
      long before = a.stats().nearHits();
      a.getOrLoad(dropped.get(39), String.class, p, () -> "v");
      return a.stats().nearHits() == before;
    });
    for (String k : dropped.subList(0, 39)) { // the last one was read again by the wait above
      long before = a.stats().nearHits();
      a.getOrLoad(k, String.class, p, () -> "v");
      assertThat(a.stats().nearHits()).as("first read of %s after the namespace notice", k).isEqualTo(before);
    }
    hits = a.stats().nearHits();
    a.getOrLoad(kept, String.class, p, () -> "v");
    assertThat(a.stats().nearHits()).as("another entity's entry is still near").isEqualTo(hits + 1);
    assertThat(a.meters().get("cache.near.flushes").counter().count())
        .as("a namespace notice is not a gap: no channel flush").isEqualTo(flushes);
  }

  static boolean nearReady(CacheClient c) {
    return c.meters().get("cache.near.subscribed").gauge().value() == 1;
  }
}
