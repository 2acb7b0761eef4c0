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
    assertThat(rule.onTruncate()).isEqualTo(TableRule.TruncateMode.INVALIDATE_NAMESPACE);
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

  @Test
  void anUpsertNeedsACodecAndATtl() {
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").upsert(null, java.time.Duration.ofSeconds(1)).build())
        .hasMessage("codec must be set for an upsert but was null");
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").upsert("json", java.time.Duration.ZERO).build())
        .hasMessage("ttl must be >= 1 ms for an upsert but was 0 ms");
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").upsert("yaml", java.time.Duration.ofSeconds(1)).build())
        .hasMessageContaining("unknown codec 'yaml'");
  }

  @Test
  void upsertSettingsAreRefusedOnAnInvalidation() {
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").schema(2).build())
        .hasMessage("schema applies to upserts only but was 2 for an invalidation");
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").payloadColumns(List.of("id")).build())
        .hasMessage("fieldNames and payloadColumns apply to upserts only");
  }

  @Test
  void aVersionColumnIsAColumnName() {
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").versionColumn("1x").build())
        .hasMessage("versionColumn must name a column for version source COLUMN but was '1x'");
    TableRule r = TableRule.builder("public.p", "a:b:{id}").versionColumn("row_version").build();
    assertThat(r.columns()).containsExactly("id", "row_version");
    assertThat(r).hasToString("public.p=a:b:{id} [version column row_version]");
  }

  @Test
  void everyWayToMakeARuleInvalidatesTheNamespaceOnTruncateUnlessToldToIgnore() {
    assertThat(List.of(
        TableRule.invalidate("public.p", "a:b:{id}"),
        TableRule.builder("public.p", "a:b:{id}").build(),
        TableRule.builder("public.p", "a:b:{id}").upsert("json", java.time.Duration.ofSeconds(1)).build(),
        TableRule.builder("public.p", "a:b:{id}").versionColumn("row_version").build(),
        new TableRule("public.p", KeyTemplate.parse("a:b:{id}"), TableRule.Operation.INVALIDATE,
            TableRule.VersionSource.COMMIT_LSN),
        TableRule.parseAll("public.p=a:b:{id}").get(0)))
        .extracting(TableRule::onTruncate).containsOnly(TableRule.TruncateMode.INVALIDATE_NAMESPACE);

    TableRule ignoring = TableRule.builder("public.p", "a:b:{id}")
        .onTruncate(TableRule.TruncateMode.IGNORE).build();
    assertThat(ignoring.onTruncate()).isEqualTo(TableRule.TruncateMode.IGNORE);
    assertThat(ignoring).as("the non-default mode is shown").hasToString("public.p=a:b:{id} [truncate ignore]");
    assertThat(ignoring).isNotEqualTo(TableRule.invalidate("public.p", "a:b:{id}"));
  }

  @Test
  void theNamespaceIsTheTemplatesServiceAndEntity() {
    assertThat(KeyTemplate.parse("shop:line:{order_id}:{line_no}").namespace()).isEqualTo("shop:line");
    assertThat(KeyTemplate.parse("catalog:product:p-{id}").namespace()).isEqualTo("catalog:product");
  }

  /** Regression: a null payload column gave a bare NullPointerException from List.copyOf. */
  @Test
  void aNullPayloadColumnIsNamed() {
    java.util.List<String> columns = new java.util.ArrayList<>();
    columns.add("id");
    columns.add(null);
    assertThatThrownBy(() -> TableRule.builder("public.p", "a:b:{id}").upsert("json", java.time.Duration.ofMinutes(1))
        .payloadColumns(columns).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("had null");
  }
}
