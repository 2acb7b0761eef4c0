package io.freshcache.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.TableRule;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The sample application on the real stack: two instances (two application contexts with their
 * own web servers) behind the starter, cdc-ingest and cache-writer in this JVM. 200 concurrent
 * cold requests across both cost one query; an SQL update reaches both through CDC; Actuator
 * health and Prometheus metrics are scraped over HTTP.
 */
class SpringBootDemoIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final Map<String, String> ENV = System.getenv();
  static final String JDBC = ENV.getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop");
  static final String USER = ENV.getOrDefault("PG_USER", "freshcache");
  static final String PASSWORD = ENV.getOrDefault("PG_PASSWORD", "freshcache");
  static final String SLOT = "demo_" + RUN;
  static final Duration PATIENCE = Duration.ofSeconds(60);
  static final long ID = 1_000_000 + (UUID.randomUUID().getMostSignificantBits() & 0xffffff);

  static CdcIngest cdc;
  static CacheWriter writer;
  static ConfigurableApplicationContext one;
  static ConfigurableApplicationContext two;
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    sql("CREATE TABLE IF NOT EXISTS public.demo_products (id bigint PRIMARY KEY, name text NOT NULL,"
        + " price_cents bigint NOT NULL, version bigint NOT NULL DEFAULT 1)");
    sql("ALTER TABLE public.demo_products REPLICA IDENTITY FULL");
    // before the connector exists: its insert is not captured, so no invalidation races the test
    sql("INSERT INTO public.demo_products(id, name, price_cents) VALUES (" + ID + ", 'demo lamp', 1999)");
    cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder().connectorName("demo-" + RUN)
        .slotName(SLOT).publicationName(SLOT).httpPort(0)
        .rules(List.of(TableRule.invalidate("public.demo_products", "demo:product:{id}"))).build());
    assertThat(cdc.awaitStreaming(PATIENCE)).as("cdc-ingest streaming").isTrue();
    CacheWriterConfig wc = CacheWriterConfig.fromEnv().toBuilder().httpPort(0).sink(null).build()
        .withGroupId("demo-" + RUN);
    startGroupAtTheEnd(wc);
    writer = CacheWriter.start(wc);
    one = app();
    two = app();
  }

  static ConfigurableApplicationContext app() {
    return new SpringApplicationBuilder(DemoApplication.class).properties(
        "server.port=0",
        // patient: this test counts queries exactly; with the production defaults a stall of a
        // loaded 2-core machine would send a read around Redis (right in production)
        "freshcache.client.redis.command-timeout=5s",
        "freshcache.client.breaker.slow-call-threshold=5s").run();
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {one, two, writer, cdc}) {
      if (c != null) {
        c.close();
      }
    }
    dropSlotAndPublication();
  }

  static String base(ConfigurableApplicationContext ctx) {
    return "http://127.0.0.1:" + ctx.getEnvironment().getProperty("local.server.port");
  }

  static HttpResponse<String> get(ConfigurableApplicationContext ctx, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base(ctx) + path)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static long loads() {
    return one.getBean(ProductRepository.class).loads() + two.getBean(ProductRepository.class).loads();
  }

  @Test
  void oneQueryForAColdStampedeOnTwoInstancesThenCdcRefreshesBothAndActuatorReports() throws Exception {
    // 200 concurrent cold requests, alternating between the instances, released together
    ExecutorService pool = Executors.newFixedThreadPool(200);
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
    long[] started = new long[200];
    try {
      for (int i = 0; i < 200; i++) {
        ConfigurableApplicationContext ctx = i % 2 == 0 ? one : two;
        int n = i;
        all.add(CompletableFuture.supplyAsync(() -> {
          LockSupport.parkNanos(startAt - System.nanoTime());
          started[n] = System.nanoTime();
          try {
            return get(ctx, "/products/" + ID);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, pool));
      }
      for (CompletableFuture<HttpResponse<String>> f : all) {
        HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("\"priceCents\":1999");
      }
    } finally {
      pool.shutdownNow();
    }
    long spread = java.util.Arrays.stream(started).max().getAsLong() - java.util.Arrays.stream(started).min().getAsLong();
    System.out.printf("spring-boot-demo: 200 cold requests started within %.1f ms; queries: %d%n", spread / 1e6, loads());
    assertThat(loads()).as("database queries for 200 concurrent cold requests on two instances").isEqualTo(1);

    // an SQL update: CDC invalidates, and both instances serve the new row
    sql("UPDATE public.demo_products SET price_cents = 2500, version = version + 1 WHERE id = " + ID);
    for (ConfigurableApplicationContext ctx : List.of(one, two)) {
      await("new price through " + base(ctx)).atMost(PATIENCE).pollInterval(Duration.ofMillis(20))
          .until(() -> get(ctx, "/products/" + ID).body().contains("\"priceCents\":2500"));
    }
    assertThat(loads()).as("the update cost a query (the lease keeps it to one per change)").isBetween(2L, 3L);

    // Actuator: health with freshcache's indicator, kept out of readiness; Prometheus metrics
    HttpResponse<String> health = get(one, "/actuator/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"freshcache\"").contains("\"breakers\"");
    HttpResponse<String> readiness = get(one, "/actuator/health/readiness");
    assertThat(readiness.statusCode()).isEqualTo(200);
    assertThat(readiness.body()).doesNotContain("freshcache");
    HttpResponse<String> prometheus = get(two, "/actuator/prometheus");
    assertThat(prometheus.statusCode()).isEqualTo(200);
    assertThat(prometheus.body()).contains("cache_loader_calls_total").contains("cache_hit_total")
        .contains("cache_lease_granted_total").contains("cache_circuit_state");
    HttpResponse<String> state = get(two, "/actuator/freshcache");
    assertThat(state.statusCode()).isEqualTo(200);
    assertThat(state.body()).contains("\"circuit\":\"CLOSED\"").contains("noticeGaps").contains("nearCacheSize");
  }

  static void sql(String statement) throws SQLException {
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  /**
   * Commits the writer's new group at the end of its topics, so it applies only what this test
   * produces (the topics are shared and persistent); as bench's EndToEndSupport does.
   */
  static void startGroupAtTheEnd(CacheWriterConfig config) throws Exception {
    try (Admin admin = Admin.create(config.kafka().apply(Map.of(), java.util.Set.of()))) {
      var existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (var d : admin.describeTopics(config.topics().stream().filter(existing::contains).toList())
          .allTopicNames().get(30, TimeUnit.SECONDS).values()) {
        for (var p : d.partitions()) {
          latest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
        }
      }
      Map<TopicPartition, OffsetAndMetadata> start = new HashMap<>();
      admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS)
          .forEach((tp, info) -> start.put(tp, new OffsetAndMetadata(info.offset())));
      admin.alterConsumerGroupOffsets(config.groupId(), start).all().get(30, TimeUnit.SECONDS);
    }
  }

  /** Drops this test's replication slot (once its walsender let go) and publication. */
  static void dropSlotAndPublication() throws SQLException {
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD)) {
      await("slot " + SLOT + " released").atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).until(() -> {
        try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
          ps.setString(1, SLOT);
          try (ResultSet rs = ps.executeQuery()) {
            return !rs.next() || !rs.getBoolean(1);
          }
        }
      });
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, SLOT);
        ps.executeQuery().close();
      }
      try (Statement s = c.createStatement()) {
        s.execute("DROP PUBLICATION IF EXISTS " + SLOT);
      }
    }
  }
}
