package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.internal.EntryCodec;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.CodecException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TypeRefTest {
  record Product(long id, String name) {}

  record Price(long cents, String currency) {}

  @Test
  void capturesTheFullTypeOfAnAnonymousSubclass() {
    TypeRef<List<Product>> products = new TypeRef<>() { };
    assertThat(products.type().getTypeName()).isEqualTo("java.util.List<" + Product.class.getName() + ">");
    assertThat(products.rawType()).isEqualTo(List.class);
    assertThat(products).isEqualTo(new TypeRef<List<Product>>() { }).isNotEqualTo(new TypeRef<List<Price>>() { });
    assertThat(TypeRef.of(Product.class)).isEqualTo(new TypeRef<Product>() { });
    assertThat(TypeRef.of(long.class).accepts(42L)).isTrue();
  }

  @Test
  void refusesTypesTheCodecCouldNotResolve() {
    assertThatThrownBy(() -> TypeRef.of(List.class.getTypeParameters()[0]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'E'");
    assertThatThrownBy(() -> new TypeRef<List<?>>() { })
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'?'");
  }

  @Test
  void everyJacksonCodecDecodesGenericTypesIntoTheirElementTypes() {
    CacheKey k = CacheKey.parse("test:typeref:1");
    EntryCodec codec = new EntryCodec(null);
    List<Product> list = List.of(new Product(1, "a"), new Product(2, "b"));
    Map<String, Price> prices = Map.of("eur", new Price(100, "EUR"), "usd", new Price(120, "USD"));
    for (String name : List.of("json", "cbor", "smile", "msgpack")) {
      CachePolicy p = CachePolicy.PRODUCT_CATALOG.toBuilder().codec(name).build();
      byte[] l = codec.encode(k, p, list, 1, 0, 1000, 0);
      assertThat(codec.decode(k, 1, l, new TypeRef<List<Product>>() { }.type()).value()).as(name).isEqualTo(list);
      byte[] m = codec.encode(k, p, prices, 1, 0, 1000, 0);
      assertThat(codec.decode(k, 1, m, new TypeRef<Map<String, Price>>() { }.type()).value()).as(name).isEqualTo(prices);
    }
  }

  @Test
  void aCodecWithoutGenericSupportNamesTheType() {
    io.freshcache.protocol.Codec plain = new io.freshcache.protocol.Codec() {
      @Override public byte id() {
        return 99;
      }

      @Override public String name() {
        return "plain";
      }

      @Override public byte[] encode(Object value) {
        return new byte[0];
      }

      @Override public <T> T decode(byte[] payload, Class<T> type) {
        return null;
      }
    };
    assertThatThrownBy(() -> plain.decode(new byte[0], new TypeRef<List<Product>>() { }.type()))
        .isInstanceOf(CodecException.class).hasMessageContaining("java.util.List<");
    assertThat(Codecs.json().decode("[1,2]".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        new TypeRef<List<Long>>() { }.type())).isEqualTo(List.of(1L, 2L));
  }
}
