package io.freshcache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.Codecs;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** Upserts, row-version columns and truncates, on records shaped like Debezium's. */
class RowChangeMapperRulesTest {
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(ChangeRecords.COMMIT_MS + 3), ZoneOffset.UTC);
  static final Schema KEY = SchemaBuilder.struct().field("id", Schema.INT64_SCHEMA).build();
  static final Schema ROW = SchemaBuilder.struct().optional()
      .field("id", Schema.INT64_SCHEMA)
      .field("price_cents", Schema.OPTIONAL_INT64_SCHEMA)
      .field("note", Schema.OPTIONAL_STRING_SCHEMA)
      .field("created_on", SchemaBuilder.int32().name("io.debezium.time.Date").optional().build())
      .field("updated_at", SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").optional().build())
      .field("row_version", Schema.OPTIONAL_INT64_SCHEMA)
      .build();
  static final Schema ENVELOPE = SchemaBuilder.struct()
      .field("before", ROW).field("after", ROW).field("source", ChangeRecords.SOURCE)
      .field("op", Schema.STRING_SCHEMA).build();

  static Struct row(long id, long price, String note, long version) {
    return new Struct(ROW).put("id", id).put("price_cents", price).put("note", note)
        .put("created_on", 20_000).put("updated_at", 1_764_140_000_123_456L).put("row_version", version);
  }

  static SourceRecord change(String op, Struct before, Struct after, long lsn) {
    Struct source = new Struct(ChangeRecords.SOURCE).put("version", "3.6.1.Final").put("connector", "postgresql")
        .put("name", "pg-main").put("ts_ms", ChangeRecords.COMMIT_MS).put("db", "shop")
        .put("ts_us", ChangeRecords.COMMIT_US).put("schema", "public").put("table", "items")
        .put("txId", 9L).put("lsn", lsn);
    Struct value = new Struct(ENVELOPE).put("before", before).put("after", after).put("source", source).put("op", op);
    Struct image = after != null ? after : before;
    Struct key = image == null ? null : new Struct(KEY).put("id", image.getInt64("id"));
    return new SourceRecord(Map.of(), Map.of("lsn", lsn), "pg-main.public.items", null,
        key == null ? null : KEY, key, ENVELOPE, value);
  }

  private static RowChangeMapper mapper(TableRule rule) {
    return new RowChangeMapper("pg-main", List.of(rule), CLOCK);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(byte[] payload) throws Exception {
    return new ObjectMapper().readValue(payload, Map.class);
  }

  @Test
  void anUpsertCarriesTheAfterImageInTheRulesCodec() throws Exception {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}")
        .upsert("json", Duration.ofMinutes(5)).schema(3).fieldNames(TableRule.FieldNames.CAMEL_CASE).build();

    CacheEvent e = mapper(rule).map(change("u", null, row(5, 1999, "hi", 2), 700)).events().get(0);

    assertThat(e.op()).isEqualTo(CacheEvent.Op.UPSERT);
    assertThat(e.key().toString()).isEqualTo("shop:item:5");
    assertThat(e.version()).isEqualTo(700);
    assertThat(e.ttlMs()).isEqualTo(300_000);
    assertThat(e.schema()).isEqualTo(3);
    assertThat(e.codec()).isEqualTo("json");
    assertThat(json(e.payload())).containsExactly(Map.entry("id", 5), Map.entry("priceCents", 1999),
        Map.entry("note", "hi"), Map.entry("createdOn", "2024-10-04"),
        Map.entry("updatedAt", "2025-11-26T06:53:20.123456"), Map.entry("rowVersion", 2));
  }

  @Test
  void anUpsertCanChooseItsColumnsAndABinaryCodec() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}")
        .upsert("msgpack", Duration.ofSeconds(1)).payloadColumns(List.of("id", "note")).build();

    CacheEvent e = mapper(rule).map(change("c", null, row(5, 1999, "hi", 2), 700)).events().get(0);

    assertThat(e.codec()).isEqualTo("msgpack");
    assertThat(Codecs.byName("msgpack").decode(e.payload(), Map.class))
        .isEqualTo(Map.of("id", 5, "note", "hi"));
  }

  @Test
  void anUpdateWithoutAnUnchangedToastValueInvalidatesInstead() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}").upsert("json", Duration.ofSeconds(1)).build();
    RowChangeMapper m = mapper(rule);

    CacheEvent e = m.map(change("u", null, row(5, 1, RowImages.UNAVAILABLE, 2), 700)).events().get(0);

    assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE);
    assertThat(e.payload()).isNull();
    assertThat(m.upsertsInvalidated()).isEqualTo(1);
  }

  @Test
  void aDeleteOfAnUpsertRuleIsADelete() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}").upsert("json", Duration.ofSeconds(1)).build();

    CacheEvent e = mapper(rule).map(change("d", row(5, 1, "x", 2), null, 800)).events().get(0);

    assertThat(e.op()).isEqualTo(CacheEvent.Op.DELETE);
    assertThat(e.payload()).isNull();
    assertThat(e.version()).isEqualTo(800);
  }

  @Test
  void aVersionColumnVersionsInsertsUpdatesAndDeletes() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}").versionColumn("row_version").build();
    RowChangeMapper m = mapper(rule);

    assertThat(m.map(change("c", null, row(5, 1, "x", 1), 900)).events().get(0).version()).isEqualTo(1);
    assertThat(m.map(change("u", row(5, 1, "x", 1), row(5, 2, "x", 2), 901)).events())
        .singleElement().satisfies(e -> assertThat(e.version()).isEqualTo(2));
    CacheEvent delete = m.map(change("d", row(5, 2, "x", 2), null, 902)).events().get(0);
    assertThat(delete.op()).isEqualTo(CacheEvent.Op.DELETE);
    assertThat(delete.version()).as("the before-image's version").isEqualTo(2);
    assertThat(delete.source().lsn()).isEqualTo(902);
  }

  @Test
  void aRowWithoutAVersionIsSkippedAndCounted() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}").versionColumn("row_version").build();
    RowChangeMapper m = mapper(rule);
    Struct noVersion = row(5, 1, "x", 1).put("row_version", null);

    assertThat(m.map(change("c", null, noVersion, 900))).isSameAs(RowChangeMapper.Mapped.NONE);
    assertThat(m.map(change("c", null, row(6, 1, "x", -4), 901))).isSameAs(RowChangeMapper.Mapped.NONE);
    assertThat(m.skippedRows()).isEqualTo(2);
  }

  @Test
  void aTruncateIsIgnoredAndCountedWhenTheRuleSays() {
    RowChangeMapper m = mapper(TableRule.builder("public.items", "shop:item:{id}")
        .onTruncate(TableRule.TruncateMode.IGNORE).build());

    assertThat(m.map(change("t", null, null, 1000))).isSameAs(RowChangeMapper.Mapped.NONE);
    assertThat(m.truncatesIgnored()).isEqualTo(1);
  }

  @Test
  void aTruncateBecomesANamespaceInvalidationByDefault() {
    RowChangeMapper mapper = mapper(TableRule.invalidate("public.items", "shop:item:{id}"));
    RowChangeMapper.Mapped m = mapper.map(change("t", null, null, 1000));

    assertThat(mapper.truncatesIgnored()).isZero();
    assertThat(m.table()).isEqualTo("public.items");
    assertThat(m.events()).singleElement().satisfies(e -> {
      assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE_NAMESPACE);
      assertThat(e.key().isNamespace()).isTrue();
      assertThat(e.key().namespaceName()).isEqualTo("shop:item");
      assertThat(e.version()).isEqualTo(1000);
      assertThat(e.payload()).isNull();
      assertThat(new String(CacheEventJson.write(e), StandardCharsets.UTF_8)).isEqualTo("{\"v\":1,"
          + "\"op\":\"invalidate_namespace\",\"key\":\"shop:item:*\",\"version\":1000,\"source\":{"
          + "\"connector\":\"pg-main\",\"db\":\"shop\",\"table\":\"public.items\",\"lsn\":1000,"
          + "\"txId\":9,\"commitTsMs\":" + ChangeRecords.COMMIT_MS + "},\"producedAtMs\":"
          + (ChangeRecords.COMMIT_MS + 3) + "}");
      assertThat(CacheEventJson.read(CacheEventJson.write(e))).isEqualTo(e);
    });
  }

  @Test
  void aRowVersionRulesNamespaceInvalidationHasVersionZero() {
    TableRule versioned = TableRule.builder("public.items", "shop:item:{id}").versionColumn("row_version")
        .build();

    assertThat(mapper(versioned).map(change("t", null, null, 1000)).events())
        .singleElement().satisfies(e -> {
          assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE_NAMESPACE);
          assertThat(e.version()).as("row-version fences must not be raised to an LSN").isZero();
          assertThat(e.source().lsn()).isEqualTo(1000);
        });
  }

  @Test
  void aPayloadColumnMissingFromTheChangeStopsTheMapping() {
    TableRule rule = TableRule.builder("public.items", "shop:item:{id}")
        .upsert("json", Duration.ofSeconds(1)).payloadColumns(List.of("id", "gone")).build();

    assertThatThrownBy(() -> mapper(rule).map(change("c", null, row(5, 1, "x", 1), 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("payload column 'gone' is not in the change");
  }

  @Test
  void camelCaseNames() {
    assertThat(RowImages.camelCase("price_cents")).isEqualTo("priceCents");
    assertThat(RowImages.camelCase("_id")).isEqualTo("id");
    assertThat(RowImages.camelCase("a__b")).isEqualTo("aB");
    assertThat(RowImages.camelCase("name")).isEqualTo("name");
  }
}
