package io.freshcache.testcontainers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a user's test does with the module: the shared stack with cdc-ingest and cache-writer,
 * then insert -> read through client-lib -> update -> the next read sees the new value. Runs on
 * the local images (the pom sets FRESHCACHE_*_IMAGE and the two Testcontainers settings).
 */
class FreshcacheStackIT {
  record Product(long id, String name, long priceCents, long version) {}

  private static FreshcacheStack stack;
  private static CacheClient cache;

  @BeforeAll
  static void start() {
    stack = FreshcacheStack.shared(FreshcacheStack.builder()
        .initSql("CREATE TABLE public.products (id bigint PRIMARY KEY, name text NOT NULL,"
            + " price_cents bigint NOT NULL, version bigint NOT NULL DEFAULT 1)")
        .services("public.products=catalog:product:{id}"));
    Map<String, String> env = new HashMap<>(stack.clientEnvironment());
    // patient timeouts: the whole stack shares a busy machine with the test
    env.put("REDIS_COMMAND_TIMEOUT_MS", "5000");
    env.put("REDIS_CONNECT_TIMEOUT_MS", "5000");
    env.put("CIRCUIT_BREAKER_SLOW_CALL_MS", "5000");
    cache = CacheClient.create(CacheClientConfig.fromEnv(env));
  }

  @AfterAll
  static void closeClient() {
    if (cache != null) {
      cache.close();
    }
  }

  @Test
  void anUpdateInPostgresReachesTheCacheThroughTheServices() throws Exception {
    long id = 42;
    String key = "catalog:product:" + id;
    sql("INSERT INTO public.products (id, name, price_cents) VALUES (?, 'lamp', 100)", id);
    assertThat(read(key, id).priceCents()).isEqualTo(100);
    // the insert's own invalidation may still be on its way and drop the entry once: wait until
    // a read is answered from the cache
    await("a read answered from the cache").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
        .until(() -> {
          long hits = cache.stats().hits();
          return read(key, id).priceCents() == 100 && cache.stats().hits() == hits + 1;
        });

    sql("UPDATE public.products SET price_cents = 250, version = 2 WHERE id = ?", id);
    await("the update reaches the cache").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
        .until(() -> read(key, id).priceCents() == 250);
  }

  @Test
  void exposesTheServicesHealthAndSettings() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    for (int port : new int[] {stack.cdcIngestHttpPort(), stack.cacheWriterHttpPort()}) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/live"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("port %s: %s", port, r.body()).isEqualTo(200);
    }
    assertThat(stack.redisNodes()).hasSize(6);
    assertThat(stack.clientEnvironment()).containsKeys("REDIS_NODES", "KAFKA_BOOTSTRAP_SERVERS");
    assertThat(stack.jdbcUrl()).startsWith("jdbc:postgresql://127.0.0.1:").endsWith("/shop");
    assertThat(FreshcacheStack.shared(FreshcacheStack.builder())).as("one shared stack per JVM").isSameAs(stack);
  }

  private static Product read(String key, long id) {
    return cache.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> load(id));
  }

  private static Product load(long id) throws SQLException {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), FreshcacheStack.DB_USER, FreshcacheStack.DB_PASSWORD);
        PreparedStatement ps = c.prepareStatement("SELECT id, name, price_cents, version FROM public.products WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getLong(4)) : null;
      }
    }
  }

  private static void sql(String statement, long id) throws SQLException {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), FreshcacheStack.DB_USER, FreshcacheStack.DB_PASSWORD);
        PreparedStatement ps = c.prepareStatement(statement)) {
      ps.setLong(1, id);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }
}
