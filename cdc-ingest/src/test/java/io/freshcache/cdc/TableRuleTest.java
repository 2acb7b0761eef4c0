package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TableRuleTest {

  @Test
  void parsesTheTextForm() {
    TableRule rule = TableRule.parse(" public.products = catalog:product:{id} ");

    assertThat(rule.table()).isEqualTo("public.products");
    assertThat(rule.keyTemplate()).isEqualTo(KeyTemplate.parse("catalog:product:{id}"));
    assertThat(rule.operation()).isEqualTo(TableRule.Operation.INVALIDATE);
    assertThat(rule.versionSource()).isEqualTo(TableRule.VersionSource.COMMIT_LSN);
    assertThat(rule).hasToString("public.products=catalog:product:{id}");
    assertThat(rule.cacheKey(Map.of("id", 7)).toString()).isEqualTo("catalog:product:7");
  }

  @Test
  void parsesSeveralRules() {
    List<TableRule> rules = TableRule.parseAll(
        "public.products=catalog:product:{id}; shop.order_lines=shop:line:{order_id}:{line_no};");

    assertThat(rules).extracting(TableRule::table).containsExactly("public.products", "shop.order_lines");
    assertThat(rules.get(1).keyTemplate().columns()).containsExactly("order_id", "line_no");
  }

  @Test
  void rejectsATableTwice() {
    assertThatThrownBy(() -> TableRule.parseAll("public.p=a:b:{id};public.p=a:c:{id}"))
        .hasMessageContaining("public.p has more than one");
  }

  @Test
  void rejectsNoRules() {
    assertThatThrownBy(() -> TableRule.parseAll(" ; ")).hasMessageContaining("at least one table rule");
  }

  @Test
  void rejectsMalformedRules() {
    assertThatThrownBy(() -> TableRule.parse("public.products"))
        .hasMessage("rule must look like schema.table=keyTemplate but was 'public.products'");
    assertThatThrownBy(() -> TableRule.parse("products=catalog:product:{id}"))
        .hasMessageContaining("table must be schema.table")
        .hasMessageContaining("but was 'products'");
    assertThatThrownBy(() -> TableRule.parse("public.products=catalog:product"))
        .hasMessageContaining("but was 'catalog:product'")
        .hasMessageContaining("in rule 'public.products=catalog:product'");
    assertThatThrownBy(() -> TableRule.parse("public.pro ducts=catalog:product:{id}"))
        .hasMessageContaining("table must be schema.table");
  }
}
