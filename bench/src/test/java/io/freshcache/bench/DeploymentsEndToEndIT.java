package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.bench.demo.Product;
import io.freshcache.bench.demo.ProductStore;
import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.redis.RedisSetupException;
import io.freshcache.redis.RedisTopology;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The whole path (SQL update → cdc-ingest → Kafka → cache-writer → Redis → client) on the
 * deployments teams run, each a dev/stack component started by {@code dev/test}:
 * <ul>
 *   <li>secured: Redis Cluster over TLS with the minimal ACL users of {@code docs/redis-acl.md},
 *       Kafka over SASL_SSL (SCRAM-SHA-512), PostgreSQL over TLS with {@code sslmode=verify-full}
 *       for Debezium and the loader, a user that may only connect over TLS;</li>
 *   <li>a standalone Redis server;</li>
 *   <li>Redis through Sentinel.</li>
 * </ul>
 * Every part is configured only through environment variables, as a deployment would be. Also:
 * the services fail at start with a clear message naming the server for a wrong Kafka password,
 * a wrong PostgreSQL CA and a wrong Redis password.
 */
class DeploymentsEndToEndIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8).replace('-', '_');
  static final Map<String, String> ENV = System.getenv();

  static String env(String name) {
    String v = ENV.get(name);
    assertThat(v).as("%s (exported by `eval \"$(dev/stack env)\"`; dev/test starts the optional"
        + " components)", name).isNotBlank();
    return v;
  }

  /** The variables every part shares: the stack's plain settings. */
  static Map<String, String> plain() {
    Map<String, String> m = new HashMap<>();
    for (String k : new String[] {"REDIS_NODES", "KAFKA_BOOTSTRAP_SERVERS", "PG_HOST", "PG_PORT", "PG_DB",
        "PG_USER", "PG_PASSWORD"}) {
      m.put(k, env(k));
    }
    m.put("REDIS_COMMAND_TIMEOUT_MS", "5000");
    m.put("CIRCUIT_BREAKER_SLOW_CALL_MS", "5000");
    return m;
  }

  static Map<String, String> saslKafka(String password) {
    Map<String, String> m = new HashMap<>();
    m.put("KAFKA_BOOTSTRAP_SERVERS", env("FRESHCACHE_KAFKA_SASL_BOOTSTRAP_SERVERS"));
    m.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
    m.put("KAFKA_SASL_MECHANISM", env("FRESHCACHE_KAFKA_SASL_MECHANISM"));
    m.put("KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required"
        + " username=\"" + env("FRESHCACHE_KAFKA_SASL_USER") + "\" password=\"" + password + "\";");
    m.put("KAFKA_SSL_TRUSTSTORE_TYPE", "PEM");
    m.put("KAFKA_SSL_TRUSTSTORE_LOCATION", env("FRESHCACHE_TLS_CA_FILE"));
    return m;
  }

  static Map<String, String> tlsPostgres(String caFile) {
    Map<String, String> m = new HashMap<>();
    m.put("PG_HOST", "localhost");
    m.put("PG_USER", env("FRESHCACHE_PG_TLS_USER"));
    m.put("PG_PASSWORD", env("FRESHCACHE_PG_TLS_PASSWORD"));
    m.put("CDC_DEBEZIUM_DATABASE_SSLMODE", "verify-full");
    m.put("CDC_DEBEZIUM_DATABASE_SSLROOTCERT", caFile);
    return m;
  }

  static Map<String, String> tlsRedis(String user, String password) {
    Map<String, String> m = new HashMap<>();
    m.put("REDIS_NODES", env("FRESHCACHE_REDIS_TLS_NODES"));
    m.put("REDIS_TLS", "true");
    m.put("REDIS_TLS_CA_FILE", env("FRESHCACHE_TLS_CA_FILE"));
    m.put("REDIS_USERNAME", user);
    m.put("REDIS_PASSWORD", password);
    return m;
  }

  /** What one deployment's parts read: the client's, the writer's and cdc-ingest's variables. */
  record Deployment(String name, Map<String, String> client, Map<String, String> writer,
      Map<String, String> cdc, RedisConnectionConfig inspect, String loaderJdbc, String loaderUser,
      String loaderPassword) {}

  static Deployment secured() {
    Map<String, String> kafka = saslKafka(env("FRESHCACHE_KAFKA_SASL_PASSWORD"));
    Map<String, String> client = plain();
    client.putAll(tlsRedis(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD")));
    client.putAll(kafka);
    Map<String, String> writer = plain();
    writer.putAll(tlsRedis(env("FRESHCACHE_REDIS_WRITER_USER"), env("FRESHCACHE_REDIS_WRITER_PASSWORD")));
    writer.putAll(kafka);
    Map<String, String> cdc = plain();
    cdc.putAll(kafka);
    cdc.putAll(tlsPostgres(env("FRESHCACHE_TLS_CA_FILE")));
    Map<String, String> admin = tlsRedis(env("FRESHCACHE_REDIS_ADMIN_USER"), env("FRESHCACHE_REDIS_ADMIN_PASSWORD"));
    return new Deployment("secured", client, writer, cdc,
        RedisConnectionConfig.fromEnv(EnvSettings.of(admin)), env("FRESHCACHE_PG_TLS_JDBC_URL"),
        env("FRESHCACHE_PG_TLS_USER"), env("FRESHCACHE_PG_TLS_PASSWORD"));
  }

  static Deployment of(String name, Map<String, String> redis) {
    Map<String, String> client = plain();
    client.putAll(redis);
    Map<String, String> writer = plain();
    writer.putAll(redis);
    return new Deployment(name, client, writer, plain(),
        RedisConnectionConfig.fromEnv(EnvSettings.of(redis)), env("JDBC_URL"), env("PG_USER"),
        env("PG_PASSWORD"));
  }

  @Test
  void securedRedisKafkaAndPostgres() throws Exception {
    long clientDenials = TopologyAcl.denials("freshcache-client");
    long writerDenials = TopologyAcl.denials("freshcache-writer");
    wholePath(secured());
    assertThat(TopologyAcl.denials("freshcache-client")).as("ACL LOG denials of the client user").isEqualTo(clientDenials);
    assertThat(TopologyAcl.denials("freshcache-writer")).as("ACL LOG denials of the writer user").isEqualTo(writerDenials);
  }

  @Test
  void standaloneRedis() throws Exception {
    wholePath(of("standalone", Map.of("REDIS_MODE", "standalone", "REDIS_NODES",
        env("FRESHCACHE_REDIS_STANDALONE_NODE"))));
  }

  @Test
  void sentinelRedis() throws Exception {
    wholePath(of("sentinel", Map.of("REDIS_MODE", "sentinel", "REDIS_NODES", env("FRESHCACHE_REDIS_SENTINELS"),
        "REDIS_SENTINEL_MASTER", env("FRESHCACHE_REDIS_SENTINEL_MASTER"))));
  }

  /**
   * Starts the three parts on {@code d}, then: an insert's invalidation reaches Redis; a miss
   * loads and fills, a second read hits; an SQL update reaches the next read through the CDC
   * path; at the end the cached entry equals the row.
   */
  static void wholePath(Deployment d) throws Exception {
    String slot = "dep_" + d.name() + "_" + RUN;
    CdcIngest cdc = null;
    CacheWriter writer = null;
    CacheClient client = null;
    try (ProductStore db = new ProductStore(d.loaderJdbc(), d.loaderUser(), d.loaderPassword());
        RedisTopology redis = new RedisTopology(d.inspect().toBuilder().commandTimeout(Duration.ofSeconds(5)).build(), null)) {
      db.seed(0);
      redis.connect();
      cdc = CdcIngest.start(CdcIngestConfig.fromEnv(d.cdc()).toBuilder().connectorName("dep-" + d.name() + "-" + RUN)
          .slotName(slot).publicationName(slot).httpPort(0).build());
      assertThat(cdc.awaitStreaming(Duration.ofSeconds(90))).as("%s: cdc-ingest streaming", d.name()).isTrue();
      CacheWriterConfig wc = CacheWriterConfig.fromEnv(d.writer()).toBuilder().httpPort(0).sink(null).build()
          .withGroupId("dep-" + d.name() + "-" + RUN);
      EndToEndSupport.startGroupAtTheEnd(wc);
      writer = CacheWriter.start(wc);
      client = CacheClient.create(CacheClientConfig.fromEnv(d.client()));

      long id = 3_000_000 + Math.abs((d.name() + RUN).hashCode() % 1_000_000);
      String key = "catalog:product:" + id;
      byte[] fence = CacheKey.parse(key).fenceKey().getBytes(StandardCharsets.UTF_8);
      byte[] before = redis.sync().hget(fence, "v".getBytes(StandardCharsets.UTF_8));
      EndToEndIT.sql("INSERT INTO public.products(id, name, price_cents) VALUES (" + id + ", 'dep lamp', 1999)"
          + " ON CONFLICT (id) DO UPDATE SET price_cents = 1999");
      await(d.name() + ": the insert's invalidation fenced " + key).atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(20)).until(() -> {
            byte[] v = redis.sync().hget(fence, "v".getBytes(StandardCharsets.UTF_8));
            return v != null && (before == null || Long.parseLong(new String(v, StandardCharsets.UTF_8))
                > Long.parseLong(new String(before, StandardCharsets.UTF_8)));
          });
      AtomicInteger loads = new AtomicInteger();
      CacheClient c = client;
      Product first = c.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return db.find(id);
      });
      assertThat(first.priceCents()).isEqualTo(1999);
      assertThat(c.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return db.find(id);
      })).isEqualTo(first);
      assertThat(loads).as("%s: one load, then a hit", d.name()).hasValue(1);

      long version = db.bumpPrice(id, 1);
      await(d.name() + ": the update reaches the next read").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(10)).until(() -> {
            Product p = c.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
              loads.incrementAndGet();
              return db.find(id);
            });
            return p.version() == version && p.priceCents() == 2000;
          });
      Product row = db.find(id);
      Product cached = c.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        throw new AssertionError("the entry must be cached now");
      });
      assertThat(cached).as("%s: the cached entry equals the row", d.name()).isEqualTo(row);

      // the client's publisher (KAFKA_* pass-through) → writes topic → cache-writer → fence
      long fenced = Long.parseLong(new String(redis.sync().hget(fence, "v".getBytes(StandardCharsets.UTF_8)),
          StandardCharsets.UTF_8));
      c.publishInvalidate(key, fenced + 1).get(60, java.util.concurrent.TimeUnit.SECONDS);
      await(d.name() + ": the published invalidation fenced " + key).atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(20)).until(() -> String.valueOf(fenced + 1).equals(new String(
              redis.sync().hget(fence, "v".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)));
    } finally {
      EndToEndIT.stopPath(slot, client, writer, cdc);
    }
  }

  @Test
  void aUserWithoutTheWritersPermissionsStopsTheWriterNamingTheCommand() {
    Map<String, String> writer = plain();
    writer.putAll(tlsRedis(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD")));
    assertThatThrownBy(() -> CacheWriter.start(CacheWriterConfig.fromEnv(writer).toBuilder().httpPort(0)
        .sink(null).build().withGroupId("dep-noperm-" + RUN)))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at 127.0.0.1:")
        .hasMessageContaining("refused SCAN")
        .hasMessageContaining(env("FRESHCACHE_REDIS_CLIENT_USER"))
        .hasMessageContaining("docs/redis-acl.md");
  }

  @Test
  void aWrongKafkaPasswordStopsCdcIngestNamingTheBroker() {
    Map<String, String> cdc = plain();
    cdc.putAll(saslKafka("not-the-password"));
    String slot = "dep_badkafka_" + RUN;
    assertThatThrownBy(() -> {
      try (CdcIngest started = CdcIngest.start(CdcIngestConfig.fromEnv(cdc).toBuilder()
          .connectorName("dep-badkafka-" + RUN).slotName(slot).publicationName(slot).httpPort(0).build())) {
        started.awaitStreaming(Duration.ofSeconds(30));
      }
    }).hasMessageContaining(env("FRESHCACHE_KAFKA_SASL_BOOTSTRAP_SERVERS"))
        .hasMessageContainingAll("uthentication")
        .hasMessageNotContaining("not-the-password");
  }

  @Test
  void aWrongPostgresCaStopsCdcIngestNamingTheDatabase() {
    Map<String, String> cdc = plain();
    cdc.putAll(tlsPostgres(env("FRESHCACHE_TLS_WRONG_CA_FILE")));
    String slot = "dep_badca_" + RUN;
    assertThatThrownBy(() -> {
      try (CdcIngest started = CdcIngest.start(CdcIngestConfig.fromEnv(cdc).toBuilder()
          .connectorName("dep-badca-" + RUN).slotName(slot).publicationName(slot).httpPort(0).build())) {
        started.awaitStreaming(Duration.ofSeconds(30));
      }
    }).hasMessageContaining("localhost:" + env("PG_PORT"))
        .satisfies(e -> assertThat(e.getMessage()).containsAnyOf("certificate", "PKIX", "SSL"));
  }

  @Test
  void aWrongRedisPasswordStopsTheWriterNamingTheServer() {
    Map<String, String> writer = plain();
    writer.putAll(tlsRedis(env("FRESHCACHE_REDIS_WRITER_USER"), "not-the-password"));
    assertThatThrownBy(() -> CacheWriter.start(CacheWriterConfig.fromEnv(writer).toBuilder().httpPort(0)
        .sink(null).build().withGroupId("dep-badredis-" + RUN)))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at 127.0.0.1:")
        .hasMessageContaining("refused the credentials")
        .hasMessageNotContaining("not-the-password");
  }
}
