package io.freshcache.spring.boot3.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.client.CacheClient;
import io.freshcache.spring.boot.autoconfigure.FreshcacheAutoConfiguration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * On Spring Boot 3.5 and Framework 6.2 against the stack's Redis Cluster: Boot's own health
 * endpoint reports the freshcache component UP with its details, and {@code @Cacheable(sync = true)}
 * goes through freshcache's cache manager (one load for concurrent callers, the value in Redis).
 */
class FreshcacheBoot3IT {
  static final long RUN = System.nanoTime() % 1_000_000_000L;

  /** A cached value, with the row version freshcache fences on. */
  public record Price(long id, String amount, long version) {}

  /** A cached service, as an application has. */
  public static class Prices {
    private final AtomicInteger loads = new AtomicInteger();

    /** @return the loads so far (a method: the bean is a proxy) */
    public int loads() {
      return loads.get();
    }

    /** @return the price, loaded slowly once */
    @Cacheable(cacheNames = "prices", sync = true)
    public Price price(long id) throws InterruptedException {
      loads.incrementAndGet();
      Thread.sleep(300);
      return new Price(id, "9.99", 1);
    }
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class App {
    @Bean
    Prices prices() {
      return new Prices();
    }
  }

  final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(FreshcacheAutoConfiguration.class,
          FreshcacheBoot3HealthAutoConfiguration.class, CacheAutoConfiguration.class, EndpointAutoConfiguration.class,
          HealthContributorAutoConfiguration.class, HealthEndpointAutoConfiguration.class))
      .withUserConfiguration(App.class);

  static List<String> redisProps() {
    List<String> props = new ArrayList<>(List.of(
        "freshcache.client.redis.nodes=" + System.getenv().getOrDefault("REDIS_NODES", "127.0.0.1:7000"),
        "freshcache.cache.caches.prices.key-prefix=it-boot3:price" + RUN,
        "freshcache.cache.caches.prices.policy=catalog",
        "management.endpoint.health.show-details=always"));
    if (System.getenv("REDIS_PASSWORD") != null) {
      props.add("freshcache.client.redis.password=" + System.getenv("REDIS_PASSWORD"));
    }
    return props;
  }

  @Test
  void healthIsUpWithDetailsAndCacheableLoadsOnceThroughRedis() {
    runner.withPropertyValues(redisProps().toArray(String[]::new)).run(ctx -> {
      assertThat(ctx).hasNotFailed();
      Health h = (Health) ctx.getBean(HealthEndpoint.class).healthForPath("freshcache");
      assertThat(h).isNotNull();
      assertThat(h.getStatus()).isEqualTo(Status.UP);
      assertThat(h.getDetails()).containsEntry("ping", true).containsEntry("circuit", "CLOSED");
      assertThat(h.getDetails().get("breakers")).asInstanceOf(
          org.assertj.core.api.InstanceOfAssertFactories.MAP).isNotEmpty();
      // the overall status includes it
      assertThat(ctx.getBean(HealthEndpoint.class).health().getStatus()).isEqualTo(Status.UP);

      Prices prices = ctx.getBean(Prices.class);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Price>> calls = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          calls.add(pool.submit(() -> {
            go.await();
            return prices.price(7);
          }));
        }
        go.countDown();
        for (Future<Price> f : calls) {
          assertThat(f.get()).isEqualTo(new Price(7, "9.99", 1));
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(prices.loads()).isEqualTo(1);
      // a second instance reads the value from Redis: no load there
      runner.withPropertyValues(redisProps().toArray(String[]::new)).run(other -> {
        Prices there = other.getBean(Prices.class);
        assertThat(there.price(7)).isEqualTo(new Price(7, "9.99", 1));
        assertThat(there.loads()).isZero();
        assertThat(other.getBean(CacheClient.class).stats().hits()).isPositive();
      });
    });
  }
}
