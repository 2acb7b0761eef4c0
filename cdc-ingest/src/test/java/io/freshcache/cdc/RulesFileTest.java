package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RulesFileTest {
  private static final String FULL = """
      ttlPolicies:
        orders: 600000
      tables:
        public.products:
          key: catalog:product:{id}
          operation: upsert
          codec: cbor
          ttl: catalog
          schema: 2
          fieldNames: camelCase
          columns: [id, name, price_cents, version]
          version: column:version
          truncate: ignore
        shop.order_lines:
          key: shop:line:{order_id}:{line_no}
        shop.orders:
          key: shop:order:{id}
          operation: upsert
          ttl: orders
        shop.carts:
          key: shop:cart:{id}
          operation: upsert
          ttl: 1500
      """;

  @Test
  void readsEverySetting() {
    List<TableRule> rules = RulesFile.parse(FULL, "rules.yaml");

    assertThat(rules).extracting(TableRule::table)
        .containsExactly("public.products", "shop.order_lines", "shop.orders", "shop.carts");
    TableRule products = rules.get(0);
    assertThat(products.keyTemplate()).isEqualTo(KeyTemplate.parse("catalog:product:{id}"));
    assertThat(products.operation()).isEqualTo(TableRule.Operation.UPSERT);
    assertThat(products.codec()).isEqualTo("cbor");
    assertThat(products.ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(products.schema()).isEqualTo(2);
    assertThat(products.fieldNames()).isEqualTo(TableRule.FieldNames.CAMEL_CASE);
    assertThat(products.payloadColumns()).containsExactly("id", "name", "price_cents", "version");
    assertThat(products.versionSource()).isEqualTo(TableRule.VersionSource.COLUMN);
    assertThat(products.versionColumn()).isEqualTo("version");
    assertThat(products.onTruncate()).isEqualTo(TableRule.TruncateMode.IGNORE);
    assertThat(products.columns()).containsExactly("id", "version", "name", "price_cents");

    assertThat(rules.get(1)).isEqualTo(TableRule.parse("shop.order_lines=shop:line:{order_id}:{line_no}"));
    assertThat(rules.get(2).codec()).as("json is the default codec").isEqualTo("json");
    assertThat(rules.get(2).ttl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(rules.get(2).versionSource()).isEqualTo(TableRule.VersionSource.COMMIT_LSN);
    assertThat(rules.get(3).ttl()).isEqualTo(Duration.ofMillis(1500));
    assertThat(rules.subList(1, 4)).as("invalidate_namespace is the default truncate mode")
        .extracting(TableRule::onTruncate).containsOnly(TableRule.TruncateMode.INVALIDATE_NAMESPACE);
    assertThat(products.toString()).isEqualTo("public.products=catalog:product:{id} [upsert cbor ttl"
        + " 3600000 ms schema 2, fields camel_case, columns [id, name, price_cents, version],"
        + " version column version, truncate ignore]");
  }

  @Test
  void truncateIsInvalidateNamespaceUnlessTheRuleSaysIgnore() {
    List<TableRule> rules = RulesFile.parse("""
        tables:
          public.a:
            key: s:a:{id}
          public.b:
            key: s:b:{id}
            truncate: invalidate_namespace
          public.c:
            key: s:c:{id}
            truncate: ignore
          public.d:
            key: s:d:{id}
            version: column:row_version
        """, "rules.yaml");

    assertThat(rules).extracting(TableRule::onTruncate).containsExactly(
        TableRule.TruncateMode.INVALIDATE_NAMESPACE, TableRule.TruncateMode.INVALIDATE_NAMESPACE,
        TableRule.TruncateMode.IGNORE, TableRule.TruncateMode.INVALIDATE_NAMESPACE);
    assertThat(rules.get(0)).as("the same rule as the text form makes")
        .isEqualTo(TableRule.parse("public.a=s:a:{id}"));
    assertThat(rules.get(1).toString()).isEqualTo("public.b=s:b:{id}");
    assertThat(rules.get(2).toString()).isEqualTo("public.c=s:c:{id} [truncate ignore]");
  }

  @Test
  void loadsAFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, FULL);

    assertThat(RulesFile.load(file)).hasSize(4);
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "tables: {public.p: {key: 'a:b:{id}', kee: x}}               | tables.public.p.kee: unknown setting; known: [codec, columns,",
      "table: {}                                                   | table: unknown setting; known: [tables, ttlPolicies]",
      "ttlPolicies: {}                                             | has no 'tables' mapping",
      "tables: []                                                  | tables: must be a mapping but was a list '[]'",
      "tables: {public.p: {}}                                      | tables.public.p: 'key' (the key template) must be set",
      "tables: {public.p: {key: 'a:b'}}                            | tables.public.p.key: key template has no {column} placeholder",
      "tables: {p: {key: 'a:b:{id}'}}                              | tables.p: table must be schema.table",
      "tables: {public.p: {key: 'a:b:{id}', operation: write}}     | tables.public.p.operation: must be invalidate or upsert but was 'write'",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert}}    | tables.public.p.ttl: must be set for an upsert",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: forever}} | tables.public.p.ttl: unknown TTL policy 'forever'; known: [catalog, profiles, sessions]",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: 0}}       | tables.public.p.ttl: must be in 1..",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: 5, codec: xml}} | tables.public.p: unknown codec 'xml'",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: 5, schema: 0}}  | tables.public.p.schema: must be in 1..",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: 5, fieldNames: snake}} | tables.public.p.fieldNames: must be column or camelCase but was 'snake'",
      "tables: {public.p: {key: 'a:b:{id}', operation: upsert, ttl: 5, columns: id}} | tables.public.p.columns: must be a list of column names but was text 'id'",
      "tables: {public.p: {key: 'a:b:{id}', codec: json}}          | tables.public.p.codec: applies to 'operation: upsert' only",
      "tables: {public.p: {key: 'a:b:{id}', version: row}}         | tables.public.p.version: must be lsn or column:<name> but was 'row'",
      "tables: {public.p: {key: 'a:b:{id}', version: 'column:'}}   | tables.public.p: versionColumn must name a column",
      "tables: {public.p: {key: 'a:b:{id}', truncate: drop}}       | tables.public.p.truncate: must be invalidate_namespace or ignore but was 'drop'",
      "tables: {public.p: {key: 'a:b:{id}'}, public.p: {key: 'a:c:{id}'}} | is not valid YAML: ",
      "tables: {}                                                  | at least one table rule is needed",
      "'just text'                                                 | must be a mapping with 'tables' but was text 'just text'",
      "'tables: [unclosed'                                         | is not valid YAML: while parsing a flow sequence",
  })
  void aBadFileNamesTheFileTableAndSetting(String yaml, String problem) {
    assertThatThrownBy(() -> RulesFile.parse(yaml, "/etc/fc/rules.yaml"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("rules file /etc/fc/rules.yaml: ")
        .hasMessageContaining(problem);
  }

  @Test
  void anUnreadableFileIsNamed(@TempDir Path dir) {
    assertThatThrownBy(() -> RulesFile.load(dir.resolve("nope.yaml")))
        .hasMessageStartingWith("rules file " + dir.resolve("nope.yaml") + ": cannot be read (NoSuchFileException");
  }

  @Test
  void yamlTagsAreNotObjects() {
    assertThatThrownBy(() -> RulesFile.parse("tables: !!java.util.Date {}", "r.yaml"))
        .hasMessageStartingWith("rules file r.yaml: is not valid YAML");
  }
}
