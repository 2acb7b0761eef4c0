package shop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.TypeRef;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootVersion;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Added by dev/check-quickstart to the project it made from the README: two instances of the
 * quick-start application share the cache through Redis, Actuator's health endpoint reports
 * the freshcache component, and /actuator/freshcache and /actuator/info answer (dev/check-quickstart
 * adds the web and actuator starters for the tests). Runs once per Spring Boot version the script checks (QUICKSTART_BOOT_VERSION).
 */
class QuickStartTests {
  static final String[] ARGS = {"--server.port=0", "--management.endpoint.health.show-details=always",
      "--management.endpoints.web.exposure.include=health,info,freshcache"};

  @Test
  void runsOnTheSpringBootVersionUnderTest() {
    assertThat(SpringBootVersion.getVersion()).isEqualTo(System.getenv("QUICKSTART_BOOT_VERSION"));
  }

  @Test
  void theQuickStartCachesThroughRedisForEveryInstance() throws Exception {
    long id = System.nanoTime() % 1_000_000_000L;
    try (ConfigurableApplicationContext one = SpringApplication.run(ShopApplication.class, ARGS);
        ConfigurableApplicationContext two = SpringApplication.run(ShopApplication.class, ARGS)) {
      Product p = one.getBean(ProductService.class).product(id);
      assertThat(p).isEqualTo(new Product(id, "lamp", 1));
      // the value is in Redis under the README's key, and the other instance reads it there
      CacheClient other = two.getBean(CacheClient.class);
      assertThat(other.getIfCached("catalog:product:" + id, TypeRef.of(Product.class), CachePolicy.PRODUCT_CATALOG))
          .hasValueSatisfying(hit -> assertThat(hit.value()).isEqualTo(p));
      assertThat(two.getBean(ProductService.class).product(id)).isEqualTo(p);
      // kafka-clients is optional and not here: publishing says so
      assertThatThrownBy(() -> other.publishWrite("catalog:product:" + id, p, 1, CachePolicy.PRODUCT_CATALOG))
          .isInstanceOf(IllegalStateException.class);

      // /actuator/health has the freshcache component, UP with its details, on both instances;
      // its indicator is Boot 4's or Boot 3's, whichever this Boot has
      for (ConfigurableApplicationContext app : new ConfigurableApplicationContext[] {one, two}) {
        JsonNode health = get(app, "/actuator/health");
        assertThat(health.path("status").asText()).isEqualTo("UP");
        JsonNode fc = health.path("components").path("freshcache");
        assertThat(fc.path("status").asText()).as("freshcache in %s", health).isEqualTo("UP");
        assertThat(fc.path("details").path("ping").asBoolean()).isTrue();
        assertThat(fc.path("details").path("circuit").asText()).isEqualTo("CLOSED");
        // the freshcache endpoint and info section (the same Actuator annotations on both versions)
        assertThat(get(app, "/actuator/freshcache").path("circuit").asText()).isEqualTo("CLOSED");
        assertThat(get(app, "/actuator/info").path("freshcache").has("breakers")).isTrue();
        assertThat(app.getBean("freshcacheHealthIndicator").getClass().getSimpleName())
            .isEqualTo(SpringBootVersion.getVersion().startsWith("3.") ? "FreshcacheBoot3HealthIndicator"
                : "FreshcacheHealthIndicator");
      }
    }
  }

  static JsonNode get(ConfigurableApplicationContext app, String path) throws Exception {
    String port = app.getEnvironment().getProperty("local.server.port");
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
    return new ObjectMapper().readTree(r.body());
  }
}
