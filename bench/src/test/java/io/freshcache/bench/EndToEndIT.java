package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.bench.demo.Product;
import io.freshcache.bench.demo.ProductStore;
import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path on real parts: PostgreSQL commit → Debezium (cdc-ingest) → Kafka →
 * cache-writer → Redis Cluster → client-lib read.
 */
class EndToEndIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8).replace('-', '_');
  static final Map<String, String> ENV = System.getenv();
  static final String JDBC = ENV.getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop");
  static final String USER = ENV.getOrDefault("PG_USER", "freshcache");
  static final String PASSWORD = ENV.getOrDefault("PG_PASSWORD", "freshcache");
  static final String SLOT = "e2e_" + RUN;

  static CdcIngest cdc;
  static CacheWriter writer;
  static CacheClient client;
  static ProductStore db;
  static Path offsets;

  @BeforeAll
  static void start() throws Exception {
    db = new ProductStore(JDBC, USER, PASSWORD);
    db.seed(0);
    offsets = Files.createTempFile("e2e-offsets", ".dat");
    Files.delete(offsets);
    cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder()
        .slotName(SLOT).publicationName(SLOT).offsetFile(offsets).build());
    assertThat(cdc.awaitStreaming(Duration.ofSeconds(60))).as("cdc-ingest streaming").isTrue();
    CacheWriterConfig writerConfig = CacheWriterConfig.fromEnv().withGroupId("e2e-" + RUN);
    writer = CacheWriter.start(writerConfig);
    client = CacheClient.create(CacheClientConfig.fromEnv());
    awaitWriterCaughtUp(writerConfig);
  }

  /** A new group starts from the earliest offset: let it replay the topic before the test. */
  static void awaitWriterCaughtUp(CacheWriterConfig config) {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers()))) {
      await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
        String topic = CdcIngestConfig.DEFAULT_TOPIC;
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (var p : admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()) {
          latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(config.groupId()).partitionsToOffsetAndMetadata().get();
        for (var e : admin.listOffsets(latest).all().get().entrySet()) {
          long end = e.getValue().offset();
          OffsetAndMetadata c = committed.get(e.getKey());
          if (end > 0 && (c == null || c.offset() < end)) {
            return false;
          }
        }
        return true;
      });
    }
  }

  /** Waits until cache-writer applied an event of {@code key}: its version fence exists. */
  static void awaitFenceOf(String key) {
    io.lettuce.core.cluster.RedisClusterClient redis = io.lettuce.core.cluster.RedisClusterClient.create(
        "redis://" + CacheClientConfig.fromEnv().redisNodes().get(0));
    try (var conn = redis.connect()) {
      String fence = io.freshcache.protocol.CacheKey.parse(key).fenceKey();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
          .until(() -> conn.sync().hget(fence, "v") != null);
    } finally {
      redis.shutdown();
    }
  }

  @AfterAll
  static void stop() throws Exception {
    stopPath(SLOT, client, writer, cdc, db);
    Files.deleteIfExists(offsets);
  }

  /**
   * Closes what a test of the whole path started, in the order given (null ones are skipped),
   * then drops the connector's replication slot and publication, both named {@code slot}.
   */
  static void stopPath(String slot, AutoCloseable... parts) throws Exception {
    for (AutoCloseable part : parts) {
      if (part != null) {
        part.close();
      }
    }
    sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        + " WHERE slot_name = '" + slot + "' AND NOT active");
    sql("DROP PUBLICATION IF EXISTS " + slot);
  }

  static void sql(String statement) throws SQLException {
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  @Test
  void anUpdateBySqlReachesTheNextRead() throws Exception {
    long id = 1_000_000 + Math.abs(RUN.hashCode() % 1_000_000);
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute("INSERT INTO public.products(id, name, price_cents) VALUES (" + id + ", 'e2e lamp', 1999)"
          + " ON CONFLICT (id) DO UPDATE SET price_cents = 1999");
    }
    String key = "catalog:product:" + id;
    // the insert's own invalidation must land first, or it would evict the first fill below
    awaitFenceOf(key);
    AtomicInteger loads = new AtomicInteger();
    ProductStore loaderDb = new ProductStore(JDBC, USER, PASSWORD);
    try (loaderDb) {
      Product first = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return loaderDb.find(id);
      });
      assertThat(first.priceCents()).isEqualTo(1999);
      assertThat(loads).as("miss runs the loader").hasValue(1);

      Product second = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return loaderDb.find(id);
      });
      assertThat(second).isEqualTo(first);
      assertThat(loads).as("hit skips the loader").hasValue(1);

      long version = db.bumpPrice(id, 1);
      long committedAt = System.nanoTime();
      long[] seenAt = new long[1];
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() -> {
        Product p = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
          loads.incrementAndGet();
          return loaderDb.find(id);
        });
        seenAt[0] = System.nanoTime();
        return p.version() == version && p.priceCents() == 2000;
      });
      System.out.printf("end-to-end: commit -> new value read after %.1f ms (cdc commit->produce %s)%n",
          (seenAt[0] - committedAt) / 1e6, cdc.lastCommitToProduceLag().map(d -> d.toMillis() + " ms").orElse("n/a"));
      assertThat(loads).as("the update costs exactly one more loader call").hasValue(2);
      assertThat(writer.applied()).isPositive();
    }
  }
}
