package shop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.TypeRef;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Added by dev/check-quickstart to the project it made from the README: two instances of the
 * quick-start application share the cache through Redis.
 */
class QuickStartTests {
  @Test
  void theQuickStartCachesThroughRedisForEveryInstance() {
    long id = System.nanoTime() % 1_000_000_000L;
    try (ConfigurableApplicationContext one = SpringApplication.run(ShopApplication.class);
        ConfigurableApplicationContext two = SpringApplication.run(ShopApplication.class)) {
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
    }
  }
}
