package io.freshcache.spring.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.CachePolicy;
import io.freshcache.client.TypeRef;
import io.freshcache.protocol.CacheKey;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.springframework.cache.interceptor.SimpleKey;

class CacheKeysTest {
  record Product(long id, String name, long version) {}

  enum Region { EU, US }

  static final class Bean {
    private final int version = 7;

    public int getVersion() {
      return version;
    }
  }

  @Test
  void simpleKeysMapToValidIdentifiersAndDistinctStringsStayDistinct() {
    assertThat(CacheKeys.identifier("c", 42L)).isEqualTo("42");
    assertThat(CacheKeys.identifier("c", Region.EU)).isEqualTo("EU");
    UUID u = UUID.randomUUID();
    assertThat(CacheKeys.identifier("c", u)).isEqualTo(u.toString());
    assertThat(CacheKeys.identifier("c", LocalDate.of(2026, 12, 6))).isEqualTo("2026-12-06");
    for (String s : List.of("a b", "{tag}", "100%", "straße", "tab\there", "emoji\uD83D\uDE00", "a%20b")) {
      String id = CacheKeys.identifier("c", s);
      assertThat(CacheKey.parse("svc:ent:" + id).toString()).as(s).isEqualTo("svc:ent:" + id);
    }
    assertThat(CacheKeys.identifier("c", "a b")).isNotEqualTo(CacheKeys.identifier("c", "a%20b"));
  }

  @Test
  void unmappableKeysFailNamingTheCacheTheTypeAndTheRemedy() {
    assertThatThrownBy(() -> CacheKeys.identifier("products", new Product(1, "x", 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cache 'products'").hasMessageContaining(Product.class.getName())
        .hasMessageContaining("key = ");
    assertThatThrownBy(() -> CacheKeys.identifier("products", new SimpleKey("a", 1)))
        .hasMessageContaining("SimpleKey");
    assertThatThrownBy(() -> new FreshcacheKeyGenerator().generate(this,
        CacheKeysTest.class.getDeclaredMethod("unmappableKeysFailNamingTheCacheTheTypeAndTheRemedy"), "eu", List.of(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("parameter 1")
        .hasMessageContaining("java.util");
  }

  @Test
  void theKeyGeneratorJoinsSimpleParameters() throws Exception {
    var m = CacheKeysTest.class.getDeclaredMethod("theKeyGeneratorJoinsSimpleParameters");
    FreshcacheKeyGenerator g = new FreshcacheKeyGenerator();
    assertThat(g.generate(this, m, "eu", 42)).isEqualTo(new FreshcacheKeyGenerator.Key("eu,42"));
    assertThat(g.generate(this, m, "a,b", 1)).isNotEqualTo(g.generate(this, m, "a", "b,1"));
    assertThat(g.generate(this, m)).isEqualTo(new FreshcacheKeyGenerator.Key("_"));
    assertThat(g.generate(this, m, "x y")).isEqualTo(new FreshcacheKeyGenerator.Key("x%20y"));
  }

  @Test
  void putReadsTheRowVersionFromARecordAGetterOrNothing() {
    FreshcacheCache c = new FreshcacheCache("p", "catalog:product", CachePolicy.PRODUCT_CATALOG,
        TypeRef.of(Object.class), "version", true, null);
    assertThat(c.version(new Product(1, "tea", 12))).isEqualTo(12L);
    assertThat(c.version(new Bean())).isEqualTo(7L);
    assertThat(c.version("no version")).isNull();
    assertThat(c.version(Map.of("version", 3))).isNull();
  }

  interface Repo {
    List<Product> top();

    Optional<Product> find(long id);

    CompletableFuture<Map<String, Product>> byName();

    void evict(long id);

    long count();
  }

  @Test
  void theResolverReadsTheMethodsGenericReturnType() throws Exception {
    assertThat(FreshcacheCacheResolver.returnType(Repo.class.getMethod("top"), null))
        .isEqualTo(new TypeRef<List<Product>>() { });
    assertThat(FreshcacheCacheResolver.returnType(Repo.class.getMethod("find", long.class), null))
        .isEqualTo(TypeRef.of(Product.class));
    assertThat(FreshcacheCacheResolver.returnType(Repo.class.getMethod("byName"), null))
        .isEqualTo(new TypeRef<Map<String, Product>>() { });
    assertThat(FreshcacheCacheResolver.returnType(Repo.class.getMethod("evict", long.class), null)).isNull();
    assertThat(FreshcacheCacheResolver.returnType(Repo.class.getMethod("count"), null)).isEqualTo(TypeRef.of(long.class));
  }
}
