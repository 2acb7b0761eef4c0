package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CacheKeyTest {
  @Test
  void physicalKeysShareOneHashTag() {
    CacheKey k = CacheKey.parse("catalog:product:42");
    assertThat(k.service()).isEqualTo("catalog");
    assertThat(k.entity()).isEqualTo("product");
    assertThat(k.identifier()).isEqualTo("42");
    assertThat(k.valueKey(1)).isEqualTo("{catalog:product:42}:v1");
    assertThat(k.leaseKey()).isEqualTo("{catalog:product:42}:lease");
    assertThat(k.fenceKey()).isEqualTo("{catalog:product:42}:fence");
    assertThat(k.valueKeyPrefix() + 7).isEqualTo(k.valueKey(7));
  }

  @Test
  void compositeIdentifierKeepsItsColons() {
    CacheKey k = CacheKey.of("shop", "line", "17:3");
    assertThat(k.identifier()).isEqualTo("17:3");
    assertThat(k).isEqualTo(CacheKey.parse("shop:line:17:3"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "catalog", "catalog:product", "catalog:product:", ":product:1",
      "catalog::1", "Catalog:product:1", "catalog:product:4 2", "catalog:product:{42}",
      "catalog:product:é", "cat alog:product:1"})
  void badKeysAreRejectedNamingTheKey(String bad) {
    assertThatThrownBy(() -> CacheKey.parse(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cache key");
  }

  @Test
  void overlongKeyIsRejectedWithItsLength() {
    String key = "a:b:" + "x".repeat(CacheKey.MAX_LENGTH);
    assertThatThrownBy(() -> CacheKey.parse(key)).hasMessageContaining("but was " + key.length());
  }

  @Test
  void nullKeyIsRejected() {
    assertThatThrownBy(() -> CacheKey.parse(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void schemaVersionMustBePositive() {
    assertThatThrownBy(() -> CacheKey.parse("a:b:c").valueKey(0)).hasMessageContaining("but was 0");
  }

  @Test
  void physicalKeysLeadBackToTheirLogicalKey() {
    CacheKey k = CacheKey.parse("shop:line:17:3");
    assertThat(CacheKey.ofPhysical(k.valueKey(2))).isEqualTo(k);
    assertThat(CacheKey.ofPhysical(k.leaseKey())).isEqualTo(k);
    assertThat(CacheKey.ofPhysical(k.fenceKey())).isEqualTo(k);
    assertThat(CacheKey.ofPhysical("freshcache:notices:{n3}:seq")).isNull();
    assertThat(CacheKey.ofPhysical("{}:v1")).isNull();
    assertThat(CacheKey.ofPhysical("{a:b:c}")).isNull();
    assertThat(CacheKey.ofPhysical("{not a key}:v1")).isNull();
    assertThat(k.isNamespace()).isFalse();
    assertThat(k.namespaceName()).isEqualTo("shop:line");
  }

  /** Regression: parts were joined and parsed, so a colon in a part silently moved the others. */
  @Test
  void partsAreCheckedOneByOne() {
    assertThatThrownBy(() -> CacheKey.of("a:b", "c", "d")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("service part").hasMessageContaining("'a:b'");
    assertThatThrownBy(() -> CacheKey.of("a", "b:c", "d")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("entity part");
    assertThatThrownBy(() -> CacheKey.of("a", "b", null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("identifier must not be null");
    assertThatThrownBy(() -> CacheKey.namespace("a:b", "c")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("service part");
    assertThatThrownBy(() -> CacheKey.namespace("a", null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("entity part");
    assertThat(CacheKey.of("a", "b", "c:d").identifier()).isEqualTo("c:d");
    assertThat(CacheKey.namespace("a", "b").isNamespace()).isTrue();
  }
}
