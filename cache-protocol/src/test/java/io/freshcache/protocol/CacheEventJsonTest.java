package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CacheEventJsonTest {
  private static CacheEvent read(String json) {
    return CacheEventJson.read(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsTheDesignDocumentsExample() {
    CacheEvent e = read("{\"v\":1, \"op\":\"upsert\", \"key\":\"catalog:product:42\", \"version\":1234,"
        + " \"ttlMs\":3600000, \"codec\":\"json\", \"payload\":\"eyJpZCI6NDJ9\","
        + " \"source\":{\"connector\":\"pg-main\",\"db\":\"shop\",\"table\":\"public.products\","
        + "\"lsn\":1234,\"txId\":77,\"commitTsMs\":1764140000000}, \"producedAtMs\":1764140000012}");
    assertThat(e.op()).isEqualTo(CacheEvent.Op.UPSERT);
    assertThat(e.key().toString()).isEqualTo("catalog:product:42");
    assertThat(e.version()).isEqualTo(1234);
    assertThat(e.schema()).isEqualTo(1);
    assertThat(new String(e.payload(), StandardCharsets.UTF_8)).isEqualTo("{\"id\":42}");
    assertThat(e.source().commitTsMs()).isEqualTo(1764140000000L);
  }

  @Test
  void createdIsWrittenOnlyWhenTrueAndMissingMeansFalse() {
    CacheKey key = CacheKey.parse("a:b:1");
    CacheEvent insert = CacheEvent.invalidate(key, 1, 5).withCreated(true);
    String json = new String(CacheEventJson.write(insert), StandardCharsets.UTF_8);
    assertThat(json).contains("\"created\":true");
    assertThat(CacheEventJson.read(CacheEventJson.write(insert))).isEqualTo(insert);
    assertThat(new String(CacheEventJson.write(CacheEvent.invalidate(key, 1, 5)),
        StandardCharsets.UTF_8)).doesNotContain("created");
    assertThat(read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:1\",\"version\":1}").created())
        .isFalse();
    // a reader ignores fields it does not know, as an older reader ignores "created"
    assertThat(read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:1\",\"version\":1,"
        + "\"someday\":{\"x\":1}}").version()).isEqualTo(1);
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:1\","
        + "\"version\":1,\"created\":\"yes\"}")).hasMessageContaining("'created'");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"delete\",\"key\":\"a:b:1\","
        + "\"version\":1,\"created\":true}")).hasMessageContaining("created");
  }

  @Test
  void namesTheProblem() {
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"explode\",\"key\":\"a:b:c\",\"version\":1}"))
        .isInstanceOf(InvalidEventException.class).hasMessageContaining("unknown op 'explode'");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:c\"}"))
        .hasMessageContaining("'version'");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"bad key\",\"version\":1}"))
        .hasMessageContaining("bad key");
    assertThatThrownBy(() -> read("{\"v\":2,\"op\":\"invalidate\",\"key\":\"a:b:c\",\"version\":1}"))
        .hasMessageContaining("schema version 2");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"upsert\",\"key\":\"a:b:c\",\"version\":1}"))
        .hasMessageContaining("payload");
    assertThatThrownBy(() -> read("not json")).hasMessageContaining("not JSON");
    assertThatThrownBy(() -> read("[1,2]")).hasMessageContaining("object");
    assertThatThrownBy(() -> CacheEventJson.read(null)).isInstanceOf(InvalidEventException.class);
  }

  @Test
  void aNamespaceInvalidationRoundTripsAndNeedsTheWildcardKey() {
    CacheEvent ns = CacheEvent.invalidateNamespace("catalog", "product", 77,
        new CacheEvent.Source("pg-main", "shop", "public.products", 77, 5, 1_700_000_000_000L), 9);
    byte[] json = CacheEventJson.write(ns);
    assertThat(new String(json, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"op\":\"invalidate_namespace\"", "\"key\":\"catalog:product:*\"");
    CacheEvent back = read(new String(json, java.nio.charset.StandardCharsets.UTF_8));
    assertThat(back).isEqualTo(ns);
    assertThat(back.key().isNamespace()).isTrue();
    assertThat(back.key().namespaceScanPattern()).isEqualTo("{catalog:product:*");

    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate_namespace\",\"key\":\"a:b:1\",\"version\":1}"))
        .isInstanceOf(InvalidEventException.class).hasMessageContaining("needs a namespace key");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate\",\"key\":\"a:b:*\",\"version\":1}"))
        .isInstanceOf(InvalidEventException.class).hasMessageContaining("not the namespace wildcard");
    assertThatThrownBy(() -> read("{\"v\":1,\"op\":\"invalidate_namespace\",\"key\":\"a:b:*\","
        + "\"version\":1,\"codec\":\"json\",\"payload\":\"e30=\"}"))
        .isInstanceOf(InvalidEventException.class).hasMessageContaining("takes no payload");
  }
}
