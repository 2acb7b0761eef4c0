package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The docker-compose.yml stack, from the host: an insert, a read through client-lib, an update
 * that must reach Redis through cdc-ingest, Kafka and cache-writer (the next read sees the new
 * value), Prometheus scraping both services with the alert rules loaded, and a kill -9 and
 * restart of the cache-writer container after which updates still arrive. dev/compose-smoke
 * brings the stack up (its own ports, so a dev/stack beside it is left alone), runs this with
 * {@code FRESHCACHE_COMPOSE_SMOKE=1} and the stack's ports in the environment, and takes the
 * stack down; without that variable there is no stack to test and the class is skipped.
 */
@EnabledIfEnvironmentVariable(named = "FRESHCACHE_COMPOSE_SMOKE", matches = "1")
class ComposeStackIT {
  /** The demo's product row, as cached. */
  record Product(long id, String name, long priceCents, long version) {}

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();
  private static String project;
  private static String jdbcUrl;
  private static int writerPort;
  private static int cdcPort;
  private static int prometheusPort;
  private static CacheClient cache;

  @BeforeAll
  static void connect() {
    project = env("FRESHCACHE_COMPOSE_PROJECT");
    jdbcUrl = "jdbc:postgresql://127.0.0.1:" + env("FRESHCACHE_PG_PORT") + "/shop";
    writerPort = Integer.parseInt(env("FRESHCACHE_WRITER_HTTP_PORT"));
    cdcPort = Integer.parseInt(env("FRESHCACHE_CDC_HTTP_PORT"));
    prometheusPort = Integer.parseInt(env("FRESHCACHE_PROMETHEUS_PORT"));
    List<String> nodes = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      nodes.add("127.0.0.1:" + env("FRESHCACHE_REDIS_PORT_" + i));
    }
    // patient timeouts: a busy 2-core machine runs the whole stack in containers beside the test
    cache = CacheClient.create(CacheClientConfig.fromEnv(Map.of("REDIS_NODES", String.join(",", nodes),
        "REDIS_COMMAND_TIMEOUT_MS", "5000", "REDIS_CONNECT_TIMEOUT_MS", "5000",
        "CIRCUIT_BREAKER_SLOW_CALL_MS", "5000")));
    await("cache-writer and cdc-ingest ready").atMost(2, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(500))
        .until(() -> status(writerPort, "/health/ready") == 200 && status(cdcPort, "/health/ready") == 200);
  }

  @AfterAll
  static void close() {
    if (cache != null) {
      cache.close();
    }
  }

  @Test
  void insertReadUpdateReadThroughTheStackAcrossAWriterRestart() throws Exception {
    long id = ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000);
    String key = "catalog:product:" + id;
    sql("INSERT INTO public.products (id, name, price_cents, version) VALUES (?, 'lamp', 100, 1)", id);

    assertThat(read(key, id).priceCents()).isEqualTo(100);
    // the insert's own invalidation may still be on its way and drop the entry once: wait until
    // a read is answered from the cache
    await("a read answered from the cache").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
        .until(() -> {
          long hits = cache.stats().hits();
          return read(key, id).priceCents() == 100 && cache.stats().hits() == hits + 1;
        });

    sql("UPDATE public.products SET price_cents = 200, version = 2 WHERE id = ?", id);
    await("the update reaches the cache").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
        .until(() -> read(key, id).priceCents() == 200);

    // Prometheus scrapes both services (job names of deploy/prometheus/prometheus.yml) and has
    // the rules of deploy/prometheus/freshcache-alerts.yml; the writer's applies are visible.
    await("Prometheus has scraped both services").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofSeconds(1))
        .until(() -> promValue("up{job=\"freshcache-cache-writer\"}") == 1
            && promValue("up{job=\"freshcache-cdc-ingest\"}") == 1
            && promValue("sum(freshcache_writer_events_applied_total)") >= 1
            && promValue("sum(freshcache_cdc_events_produced_total)") >= 1
            // every Redis node through redis_exporter, for the eviction alert
            && promValue("count(up{job=\"redis\"} == 1)") == 6
            && promValue("count(redis_evicted_keys_total)") == 6);
    String rules = get(prometheusPort, "/api/v1/rules");
    assertThat(rules).contains("\"name\":\"freshcache-writer\"").contains("FreshcacheWriterEventUnapplied")
        .contains("FreshcacheHitRatioLow").contains("FreshcacheCdcSlotLagGrowing");

    // kill -9 the cache-writer container and start it again: it rejoins the group and applies
    // what arrived while it was down
    String writer = docker("ps", "-q", "--filter", "label=com.docker.compose.project=" + project,
        "--filter", "label=com.docker.compose.service=cache-writer").trim();
    assertThat(writer).as("the cache-writer container of project %s", project).isNotEmpty();
    docker("kill", "--signal", "KILL", writer);
    await("cache-writer is down").atMost(30, TimeUnit.SECONDS).until(() -> status(writerPort, "/health/live") < 0);
    sql("UPDATE public.products SET price_cents = 300, version = 3 WHERE id = ?", id);
    docker("start", writer);
    await("cache-writer is ready again").atMost(2, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(500))
        .until(() -> status(writerPort, "/health/ready") == 200);
    await("the update made while the writer was down reaches the cache").atMost(1, TimeUnit.MINUTES)
        .pollInterval(Duration.ofMillis(200)).until(() -> read(key, id).priceCents() == 300);
    sql("UPDATE public.products SET price_cents = 400, version = 4 WHERE id = ?", id);
    await("an update after the restart reaches the cache").atMost(1, TimeUnit.MINUTES)
        .pollInterval(Duration.ofMillis(200)).until(() -> read(key, id).priceCents() == 400);
  }

  private static Product read(String key, long id) {
    return cache.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> load(id));
  }

  private static Product load(long id) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, "freshcache", "freshcache");
        PreparedStatement ps = c.prepareStatement(
            "SELECT id, name, price_cents, version FROM public.products WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getLong(4)) : null;
      }
    }
  }

  private static void sql(String statement, long id) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, "freshcache", "freshcache");
        PreparedStatement ps = c.prepareStatement(statement)) {
      ps.setLong(1, id);
      assertThat(ps.executeUpdate()).as(statement).isEqualTo(1);
    }
  }

  /** @return the HTTP status, or -1 when nothing answers */
  private static int status(int port, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String get(int port, String path) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s on port %s: %s", path, port, r.body()).isEqualTo(200);
    return r.body();
  }

  /** @return the first value of an instant query, or -1 when it has no result */
  private static double promValue(String query) throws IOException, InterruptedException {
    String body = get(prometheusPort, "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"value\":\\[[^,]+,\"([^\"]+)\"]").matcher(body);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  private static String docker(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("docker"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
    assertThat(p.exitValue()).as("%s: %s", command, out).isZero();
    return out;
  }

  private static String env(String name) {
    String value = System.getenv(name);
    assertThat(value).as("environment variable %s (set by dev/compose-smoke)", name).isNotBlank();
    return value;
  }
}
