package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.protocol.CacheKey;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeyTemplateTest {

  @Test
  void rendersASingleColumnKey() {
    KeyTemplate t = KeyTemplate.parse("catalog:product:{id}");

    assertThat(t.columns()).containsExactly("id");
    assertThat(t.render(Map.of("id", 42L, "name", "chair"))).isEqualTo(CacheKey.parse("catalog:product:42"));
  }

  @Test
  void rendersACompositeKey() {
    KeyTemplate t = KeyTemplate.parse("shop:line:{order_id}:{line_no}");

    assertThat(t.columns()).containsExactly("order_id", "line_no");
    CacheKey key = t.render(Map.of("order_id", 17, "line_no", (short) 3));
    assertThat(key.toString()).isEqualTo("shop:line:17:3");
    assertThat(key.identifier()).isEqualTo("17:3");
  }

  @Test
  void allowsLiteralTextInTheIdentifierAndRepeatedColumns() {
    KeyTemplate t = KeyTemplate.parse("shop:order:o-{id}/v{id}");

    assertThat(t.columns()).containsExactly("id");
    assertThat(t.render(Map.of("id", "a7")).toString()).isEqualTo("shop:order:o-a7/va7");
  }

  @Test
  void rendersValueTypesAsTheirPlainText() {
    KeyTemplate t = KeyTemplate.parse("a:b:{v}");
    UUID uuid = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");

    assertThat(t.render(Map.of("v", new BigDecimal("4.25E+1"))).identifier()).isEqualTo("42.5");
    assertThat(t.render(Map.of("v", new BigDecimal("42.50"))).identifier()).isEqualTo("42.50");
    assertThat(t.render(Map.of("v", uuid)).identifier()).isEqualTo(uuid.toString());
    assertThat(t.render(Map.of("v", true)).identifier()).isEqualTo("true");
    assertThat(t.render(Map.of("v", "SKU-9")).identifier()).isEqualTo("SKU-9");
  }

  @Test
  void aMissingColumnIsAClearError() {
    KeyTemplate t = KeyTemplate.parse("shop:line:{order_id}:{line_no}");

    assertThatThrownBy(() -> t.render(Map.of("order_id", 17)))
        .isInstanceOfSatisfying(KeyMappingException.class,
            e -> assertThat(e.reason()).isEqualTo(KeyMappingException.Reason.MISSING_COLUMN))
        .hasMessageContaining("needs column 'line_no'")
        .hasMessageContaining("shop:line:{order_id}:{line_no}")
        .hasMessageContaining("[order_id]");
  }

  @Test
  void aNullValueIsAClearError() {
    Map<String, Object> row = new HashMap<>();
    row.put("id", null);

    assertThatThrownBy(() -> KeyTemplate.parse("catalog:product:{id}").render(row))
        .isInstanceOfSatisfying(KeyMappingException.class,
            e -> assertThat(e.reason()).isEqualTo(KeyMappingException.Reason.NULL_VALUE))
        .hasMessageContaining("'id' but it is null");
  }

  @Test
  void aBinaryValueCannotBePartOfAKey() {
    assertThatThrownBy(() -> KeyTemplate.parse("catalog:product:{id}")
        .render(Map.of("id", ByteBuffer.wrap(new byte[] {1}))))
        .isInstanceOfSatisfying(KeyMappingException.class,
            e -> assertThat(e.reason()).isEqualTo(KeyMappingException.Reason.UNSUPPORTED_TYPE))
        .hasMessageContaining("cannot be part of a key");
  }

  @Test
  void aValueThatMakesAnInvalidKeyIsAClearError() {
    assertThatThrownBy(() -> KeyTemplate.parse("catalog:product:{name}").render(Map.of("name", "red chair")))
        .isInstanceOfSatisfying(KeyMappingException.class,
            e -> assertThat(e.reason()).isEqualTo(KeyMappingException.Reason.INVALID_KEY))
        .hasMessageContaining("invalid key")
        .hasMessageContaining("red chair");
  }

  @Test
  void tableRuleErrorsNameTheTable() {
    TableRule rule = TableRule.invalidate("public.products", "catalog:product:{id}");

    assertThatThrownBy(() -> rule.cacheKey(Map.of("sku", 1)))
        .isInstanceOf(KeyMappingException.class)
        .hasMessageStartingWith("[cdc] public.products: template 'catalog:product:{id}' needs column 'id'");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "catalog:product:{id                | without a matching '}'",
      "catalog:product:id}                | without a matching '{'",
      "catalog:product:{}                 | empty placeholder",
      "catalog:product:{ id}              | must name a column",
      "catalog:product:{1d}               | must name a column",
      "catalog:product:id                 | no {column} placeholder",
      "{tenant}:product:{id}              | literal 'service:entity:' prefix",
      "catalog:{entity}:{id}              | literal 'service:entity:' prefix",
      "catalog{id}                        | literal 'service:entity:' prefix",
      "Catalog:product:{id}               | does not produce a valid cache key",
      "catalog:product:a b{id}            | does not produce a valid cache key",
      "catalog::{id}                      | does not produce a valid cache key",
  })
  void rejectsInvalidTemplates(String template, String problem) {
    assertThatThrownBy(() -> KeyTemplate.parse(template))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(problem)
        .hasMessageContaining("but was '" + template + "'");
  }

  @Test
  void rejectsABlankTemplate() {
    assertThatThrownBy(() -> KeyTemplate.parse(" ")).hasMessageContaining("must not be blank");
    assertThatThrownBy(() -> KeyTemplate.parse(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void equalityFollowsTheText() {
    assertThat(KeyTemplate.parse("a:b:{id}")).isEqualTo(KeyTemplate.parse("a:b:{id}"))
        .hasSameHashCodeAs(KeyTemplate.parse("a:b:{id}"))
        .hasToString("a:b:{id}");
  }
}
