package io.freshcache.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheKey;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyRulesTest {
  static final KeyRules RULES = KeyRules.of(List.of(
      TableRule.invalidate("public.products", "catalog:product:{id}"),
      TableRule.invalidate("shop.lines", "shop:line:{order_id}:{line_no}")));

  @Test
  void aKeyMapsBackToItsRuleAndKeyColumns() {
    CacheKey k = CacheKey.parse("catalog:product:42");
    TableRule r = RULES.ruleFor(k).orElseThrow();
    assertThat(r.table()).isEqualTo("public.products");
    assertThat(RULES.keyColumns(r, k)).isEqualTo(Map.of("id", "42"));
  }

  @Test
  void aCompositeKeyGivesEachColumnTheLastOneTakingTheRest() {
    CacheKey k = CacheKey.parse("shop:line:17:3");
    TableRule r = RULES.ruleFor(k).orElseThrow();
    assertThat(RULES.keyColumns(r, k)).containsExactly(Map.entry("order_id", "17"), Map.entry("line_no", "3"));
    CacheKey colon = CacheKey.parse("shop:line:17:3:x");
    assertThat(RULES.keyColumns(r, colon)).containsEntry("line_no", "3:x");
  }

  @Test
  void keysOfOtherNamespacesOrShapesHaveNoRule() {
    assertThat(RULES.ruleFor(CacheKey.parse("catalog:price:42"))).isEmpty();
    assertThat(RULES.ruleFor(CacheKey.parse("shop:line:17"))).as("one part short").isEmpty();
  }

  @Test
  void rulesAreFoundByTableOrNamespaceAndAnUnknownNameListsThem() {
    assertThat(RULES.byName("products").table()).isEqualTo("public.products");
    assertThat(RULES.byName("shop.lines").table()).isEqualTo("shop.lines");
    assertThat(RULES.byName("shop:line").table()).isEqualTo("shop.lines");
    assertThatThrownBy(() -> RULES.byName("orders")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("no rule named 'orders'; the rules are: public.products (catalog:product), shop.lines (shop:line)");
  }

  @Test
  void rulesComeFromTheEnvironmentAsCdcIngestReadsThem() {
    assertThat(KeyRules.load(null, Map.of()).rules()).extracting(TableRule::table).containsExactly("public.products");
    assertThat(KeyRules.load(null, Map.of("CDC_RULES", "public.a=x:a:{id}")).rules()).extracting(TableRule::table)
        .containsExactly("public.a");
    assertThatThrownBy(() -> KeyRules.load(null, Map.of("CDC_RULES", "nonsense")))
        .hasMessageStartingWith("CDC_RULES: ");
    assertThatThrownBy(() -> KeyRules.load(null, Map.of("CDC_RULES", "public.a=x:a:{id}", "CDC_RULES_FILE", "/x")))
        .hasMessageContaining("both were set");
  }
}
