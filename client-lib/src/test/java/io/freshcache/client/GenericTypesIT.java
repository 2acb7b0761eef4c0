package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

/** Reads of generic types ({@link TypeRef}) against the real Redis Cluster. */
class GenericTypesIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final TypeRef<List<Product>> PRODUCTS = new TypeRef<>() { };
  static final TypeRef<List<Map<String, Object>>> ROWS = new TypeRef<>() { };
  static final TypeRef<Map<String, Price>> PRICES = new TypeRef<>() { };
  static CacheClient a;
  static CacheClient b;

  record Product(long id, String name) {}

  record Price(long cents, String currency) {}

  @BeforeAll
  static void connect() {
    CacheClientConfig config = ItClients.patient(CacheClientConfig.fromEnv());
    a = CacheClient.create(config);
    b = CacheClient.create(config);
  }

  @AfterAll
  static void close() {
    a.close();
    b.close();
  }

  static String key(String name) {
    return "test:generic:" + RUN + "-" + name;
  }

  @Test
  void listsAndMapsOfRecordsComeBackAsTheirElementTypesOnEveryReadPath() throws Exception {
    List<Product> list = List.of(new Product(1, "tea"), new Product(2, "cup"));
    Map<String, Price> prices = Map.of("eur", new Price(350, "EUR"), "usd", new Price(380, "USD"));
    AtomicInteger loads = new AtomicInteger();
    CachePolicy p = CachePolicy.PRODUCT_CATALOG;

    assertThat(a.getOrLoad(key("list"), PRODUCTS, p, () -> { loads.incrementAndGet(); return list; })).isEqualTo(list);
    List<Product> fromRedis = b.getOrLoad(key("list"), PRODUCTS, p, () -> { loads.incrementAndGet(); return List.of(); });
    assertThat(fromRedis).isEqualTo(list);
    assertThat(fromRedis.get(0)).isInstanceOf(Product.class);

    assertThat(a.getOrLoadVersioned(key("map"), PRICES, p, () -> { loads.incrementAndGet(); return Versioned.of(prices, 7); }))
        .isEqualTo(prices);
    Map<String, Price> m = b.getOrLoadVersionedAsync(key("map"), PRICES, p,
        () -> { loads.incrementAndGet(); return Versioned.of(Map.of(), 7); }).get(10, TimeUnit.SECONDS);
    assertThat(m).isEqualTo(prices);
    assertThat(m.get("eur")).isInstanceOf(Price.class);

    assertThat(b.getOrLoadAsync(key("list-async"), PRODUCTS, p, () -> { loads.incrementAndGet(); return list; })
        .get(10, TimeUnit.SECONDS)).isEqualTo(list);
    assertThat(a.getOrLoadAsync(key("list-async"), PRODUCTS, p, () -> { loads.incrementAndGet(); return List.of(); })
        .get(10, TimeUnit.SECONDS).get(1)).isEqualTo(new Product(2, "cup"));
    assertThat(loads).as("one load per key; every other read decoded the stored value").hasValue(3);
  }

  /**
   * The near cache keeps the type each value was read as: a {@code List<Product>} stored near is
   * not returned to a {@code List<Map<String, Object>>} read of the same key (both are a
   * {@code List} to the JVM, so a check of the class alone would hand it out and the caller would
   * fail with a ClassCastException on the first element).
   */
  @Test
  void theNearCacheNeverServesAValueReadAsAnotherGenericType() {
    String k = key("near");
    CachePolicy near = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> a.meters().get("cache.near.subscribed").gauge().value() == 1);
    a.getOrLoad(k, PRODUCTS, near, () -> List.of(new Product(5, "pot")));
    long hits = a.stats().nearHits();
    assertThat(a.getOrLoad(k, PRODUCTS, near, List::of).get(0)).isInstanceOf(Product.class);
    assertThat(a.stats().nearHits()).as("same type: a near hit").isEqualTo(hits + 1);
    List<Map<String, Object>> rows = a.getOrLoad(k, ROWS, near, List::of);
    assertThat(rows.get(0)).isInstanceOf(Map.class).containsEntry("name", "pot");
    assertThat(a.stats().nearHits()).as("other type: decoded from Redis").isEqualTo(hits + 1);
    rows = a.getOrLoad(k, ROWS, near, List::of); // now near under its own type
    assertThat(rows.get(0)).isInstanceOf(Map.class);
    assertThat(a.getOrLoad(k, PRODUCTS, near, List::of).get(0)).isInstanceOf(Product.class);
  }

  /**
   * Stress: on cold keys, sync and async readers of two generic types with one erasure start
   * together (parked to a shared deadline) and slow loaders keep their flights open; every
   * caller must get elements of its own type. A flight shared across the two types (keyed by
   * the erasure) would hand {@code Product}s to the {@code Map} readers.
   */
  @Test
  void twoGenericTypesOnOneKeyNeverCrossUnderConcurrency() throws Exception {
    CachePolicy near = CachePolicy.PRODUCT_CATALOG.withNearCache(true);
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      for (int round = 0; round < 10; round++) {
        String k = key("race-" + round);
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        List<CompletableFuture<Object>> results = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
          boolean asProducts = i % 2 == 0;
          boolean async = i % 4 >= 2;
          CacheClient c = i % 8 < 4 ? a : b;
          results.add(CompletableFuture.supplyAsync(() -> {
            LockSupport.parkNanos(start - System.nanoTime());
            if (asProducts) {
              Loader<List<Product>> l = () -> { Thread.sleep(30); return List.of(new Product(9, "kettle")); };
              return async ? c.getOrLoadAsync(k, PRODUCTS, near, l).join() : c.getOrLoad(k, PRODUCTS, near, l);
            }
            Loader<List<Map<String, Object>>> l = () -> { Thread.sleep(30); return List.of(Map.of("id", 9, "name", "kettle")); };
            return async ? c.getOrLoadAsync(k, ROWS, near, l).join() : c.getOrLoad(k, ROWS, near, l);
          }, pool));
        }
        for (int i = 0; i < results.size(); i++) {
          List<?> got = (List<?>) results.get(i).get(30, TimeUnit.SECONDS);
          assertThat(got).hasSize(1);
          assertThat(got.get(0)).as("round %d caller %d", round, i)
              .isInstanceOf(i % 2 == 0 ? Product.class : Map.class);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
