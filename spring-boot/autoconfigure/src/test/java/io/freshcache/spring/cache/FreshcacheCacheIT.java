package io.freshcache.spring.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.spring.boot.autoconfigure.FreshcacheAutoConfiguration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.CachePut;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The Spring Cache integration against the real Redis Cluster: two application contexts (two
 * "instances" of one app) with the same caches.
 */
class FreshcacheCacheIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final AtomicInteger LOADS = new AtomicInteger();
  static final AtomicInteger LIST_LOADS = new AtomicInteger();
  static final AtomicInteger NULL_LOADS = new AtomicInteger();
  static ConfigurableApplicationContext a;
  static ConfigurableApplicationContext b;

  public record Product(long id, String name, long version) {}

  /** The cached methods of the test application. */
  public static class Catalog {
    @Cacheable(cacheNames = "products", sync = true)
    public Product find(long id) throws InterruptedException {
      LOADS.incrementAndGet();
      Thread.sleep(50); // a query: long enough for every concurrent caller to arrive
      return new Product(id, "product-" + id, 1);
    }

    @Cacheable(cacheNames = "products")
    public Product findWithoutSync(long id) {
      LOADS.incrementAndGet();
      return new Product(id, "product-" + id, 1);
    }

    @Cacheable(cacheNames = "lists", sync = true)
    public List<Product> top(String region) {
      LIST_LOADS.incrementAndGet();
      return List.of(new Product(1, region + "-tea", 1), new Product(2, region + "-cup", 1));
    }

    @Cacheable(cacheNames = "products", sync = true)
    public Product missing(long id) {
      NULL_LOADS.incrementAndGet();
      return null;
    }

    @Cacheable(cacheNames = "products", sync = true)
    public Product byExample(Product example) {
      return example;
    }

    @Cacheable(cacheNames = "products", sync = true)
    public Product failing(long id) throws java.io.IOException {
      throw new java.io.IOException("database down for " + id);
    }

    @CacheEvict(cacheNames = "products")
    public void evict(long id) {}

    @CachePut(cacheNames = "products", key = "#a0.id")
    public Product save(Product p) {
      return p;
    }
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  @ImportAutoConfiguration(FreshcacheAutoConfiguration.class)
  static class App {
    @Bean
    Catalog catalog() {
      return new Catalog();
    }
  }

  /** The first instance has a resilience4j registry of its own, as an app with resilience4j's starter does. */
  @Configuration(proxyBeanMethods = false)
  static class WithBreakerRegistry {
    @Bean
    io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry circuitBreakerRegistry() {
      return io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry.ofDefaults();
    }
  }

  static ConfigurableApplicationContext start(Class<?>... extra) {
    List<String> props = new ArrayList<>(List.of(
        "freshcache.client.redis.nodes=" + System.getenv().getOrDefault("REDIS_NODES", "127.0.0.1:7000"),
        // patient: the test counts loader calls exactly, a stalled machine must not bypass Redis
        "freshcache.client.redis.command-timeout=5s",
        "freshcache.client.breaker.slow-call-threshold=5s",
        "freshcache.cache.caches.products.key-prefix=test:product-" + RUN,
        "freshcache.cache.caches.lists.key-prefix=test:list-" + RUN,
        "freshcache.cache.caches.lists.policy=lists",
        "freshcache.policies.lists.ttl=10m",
        "freshcache.policies.lists.near-cache=true"));
    if (System.getenv("REDIS_PASSWORD") != null) {
      props.add("freshcache.client.redis.password=" + System.getenv("REDIS_PASSWORD"));
    }
    List<Class<?>> sources = new ArrayList<>(List.of(App.class));
    sources.addAll(List.of(extra));
    return new SpringApplicationBuilder(sources.toArray(Class<?>[]::new)).web(WebApplicationType.NONE)
        .properties(props.toArray(String[]::new)).run();
  }

  @BeforeAll
  static void startTwoInstances() {
    a = start(WithBreakerRegistry.class);
    b = start();
  }

  @AfterAll
  static void stop() {
    a.close();
    b.close();
  }

  @Test
  void syncCacheableLoadsOnceAcrossBothInstances() throws Exception {
    Catalog ca = a.getBean(Catalog.class);
    Catalog cb = b.getBean(Catalog.class);
    ExecutorService pool = Executors.newFixedThreadPool(64);
    try {
      int before = LOADS.get();
      long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
      List<CompletableFuture<Product>> all = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        Catalog c = i % 2 == 0 ? ca : cb;
        all.add(CompletableFuture.supplyAsync(() -> {
          LockSupport.parkNanos(start - System.nanoTime()); // all start together
          try {
            return c.find(7);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }, pool));
      }
      for (CompletableFuture<Product> f : all) {
        assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(new Product(7, "product-7", 1));
      }
      assertThat(LOADS.get() - before).as("loader calls for 100 concurrent cold calls on two instances").isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aGenericReturnTypeIsReadBackAsItselfOnTheOtherInstance() {
    int before = LIST_LOADS.get();
    List<Product> fromA = a.getBean(Catalog.class).top("eu");
    List<Product> fromB = b.getBean(Catalog.class).top("eu");
    assertThat(fromB).isEqualTo(fromA);
    assertThat(fromB.get(0)).isInstanceOf(Product.class); // decoded as List<Product>, not a list of maps
    assertThat(LIST_LOADS.get() - before).isEqualTo(1);
  }

  @Test
  void evictInvalidatesForEveryInstanceAndPutIsAFencedWrite() throws Exception {
    Catalog ca = a.getBean(Catalog.class);
    Catalog cb = b.getBean(Catalog.class);
    cb.find(8);
    int loads = LOADS.get();
    ca.evict(8);
    cb.find(8);
    assertThat(LOADS.get()).as("evicted on a: b loads again").isEqualTo(loads + 1);

    ca.save(new Product(8, "renamed", 5));
    assertThat(cb.find(8)).isEqualTo(new Product(8, "renamed", 5));
    ca.save(new Product(8, "an older write", 3)); // version 3 < 5: the fence refuses it
    assertThat(cb.find(8)).isEqualTo(new Product(8, "renamed", 5));
    assertThat(LOADS.get()).as("puts wrote the cache: no load").isEqualTo(loads + 1);
  }

  @Test
  void cacheableWithoutSyncReadsAndStores() {
    Catalog ca = a.getBean(Catalog.class);
    Catalog cb = b.getBean(Catalog.class);
    int loads = LOADS.get();
    ca.findWithoutSync(9);
    assertThat(cb.findWithoutSync(9)).isEqualTo(new Product(9, "product-9", 1));
    assertThat(LOADS.get()).isEqualTo(loads + 1);
  }

  @Test
  void nullsAreReturnedAndAMethodsExceptionReachesTheCallerUnchanged() {
    assertThat(a.getBean(Catalog.class).missing(404)).isNull();
    assertThat(b.getBean(Catalog.class).missing(404)).isNull();
    assertThatThrownBy(() -> a.getBean(Catalog.class).failing(500))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("database down for 500");
  }

  @Test
  void theClientsBreakersLiveInTheApplicationsResilience4jRegistry() throws Exception {
    a.getBean(Catalog.class).find(10);
    var registry = a.getBean(io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry.class);
    assertThat(registry.getAllCircuitBreakers()).isNotEmpty()
        .allSatisfy(cb -> assertThat(cb.getName()).startsWith("freshcache-redis-"));
  }

  @Test
  void aKeyThatCannotBeMappedFailsClearly() {
    assertThatThrownBy(() -> a.getBean(Catalog.class).byExample(new Product(1, "x", 1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("byExample")
        .hasMessageContaining(Product.class.getName());
  }
}
