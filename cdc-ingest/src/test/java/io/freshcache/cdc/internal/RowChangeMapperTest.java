package io.freshcache.cdc.internal;

import static io.freshcache.cdc.internal.ChangeRecords.COMMIT_MS;
import static io.freshcache.cdc.internal.ChangeRecords.COMMIT_US;
import static io.freshcache.cdc.internal.ChangeRecords.change;
import static io.freshcache.cdc.internal.ChangeRecords.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.cdc.KeyMappingException;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

class RowChangeMapperTest {
  private static final long NOW = COMMIT_MS + 7;
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

  private final RowChangeMapper byId = mapper("public.products=catalog:product:{id}");
  private final RowChangeMapper bySku = mapper("public.products=catalog:sku:{sku}");

  private static RowChangeMapper mapper(String rules) {
    return new RowChangeMapper("pg-main", TableRule.parseAll(rules), CLOCK);
  }

  @Test
  void anInsertInvalidatesTheRowsKeyAtItsLsnMarkedCreated() {
    RowChangeMapper.Mapped m = byId.map(change("public.products", "c", null, row(42, "S1", "chair"), 1000));

    assertThat(m.events()).containsExactly(new CacheEvent(CacheEvent.Op.INVALIDATE,
        io.freshcache.protocol.CacheKey.parse("catalog:product:42"), 1000, 0, 1, null, null,
        new CacheEvent.Source("pg-main", "shop", "public.products", 1000, 77, COMMIT_MS), NOW,
        true));
    assertThat(m.commitTsMicros()).isEqualTo(COMMIT_US);
  }

  @Test
  void anUpdateInvalidates() {
    List<CacheEvent> events = byId.map(
        change("public.products", "u", row(42, "S1", "chair"), row(42, "S1", "sofa"), 2000)).events();

    assertThat(events).singleElement().satisfies(e -> {
      assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE);
      assertThat(e.key().toString()).isEqualTo("catalog:product:42");
      assertThat(e.version()).isEqualTo(2000);
      assertThat(e.created()).isFalse();
    });
  }

  @Test
  void anUpdateThatRenamesTheKeyInvalidatesTheOldKeyToo() {
    List<CacheEvent> events = bySku.map(
        change("public.products", "u", row(42, "S1", "chair"), row(42, "S2", "chair"), 2000)).events();

    assertThat(events).extracting(e -> e.key().toString()).containsExactly("catalog:sku:S2", "catalog:sku:S1");
    assertThat(events).extracting(CacheEvent::op).containsOnly(CacheEvent.Op.INVALIDATE);
  }

  @Test
  void anUpdateWithoutBeforeImageInvalidatesTheNewKeyOnly() {
    List<CacheEvent> events = bySku.map(
        change("public.products", "u", null, row(42, "S2", "chair"), 2000)).events();

    assertThat(events).extracting(e -> e.key().toString()).containsExactly("catalog:sku:S2");
  }

  @Test
  void aDeleteIsADeleteOfTheBeforeImagesKey() {
    List<CacheEvent> events = bySku.map(
        change("public.products", "d", row(42, "S1", "chair"), null, 3000)).events();

    assertThat(events).singleElement().satisfies(e -> {
      assertThat(e.op()).isEqualTo(CacheEvent.Op.DELETE);
      assertThat(e.key().toString()).isEqualTo("catalog:sku:S1");
      assertThat(e.version()).isEqualTo(3000);
    });
  }

  @Test
  void aDeleteUnderReplicaIdentityDefaultTakesTheKeyColumnsFromTheRecordKey() {
    Struct before = new Struct(ChangeRecords.ROW).put("id", 42L); // only the key is logged
    List<CacheEvent> events = byId.map(change("public.products", "d", before, null, 3000)).events();

    assertThat(events).extracting(e -> e.key().toString()).containsExactly("catalog:product:42");
  }

  @Test
  void tombstonesAndNonChangeRecordsMapToNothing() {
    Schema heartbeat = SchemaBuilder.struct().field("ts_ms", Schema.INT64_SCHEMA).build();
    SourceRecord beat = new SourceRecord(Map.of(), Map.of(), "__debezium-heartbeat.pg-main", null,
        null, null, heartbeat, new Struct(heartbeat).put("ts_ms", 1L));

    assertThat(byId.map(ChangeRecords.tombstone(42))).isSameAs(RowChangeMapper.Mapped.NONE);
    assertThat(byId.map(beat)).isSameAs(RowChangeMapper.Mapped.NONE);
  }

  @Test
  void readsAndUnmappedTablesMapToNothing() {
    assertThat(byId.map(change("public.products", "r", null, row(1, "S", "n"), 10)).events()).isEmpty();
    assertThat(byId.map(change("public.other", "c", null, row(1, "S", "n"), 10)).events()).isEmpty();
    assertThat(byId.map(change("public.other", "t", null, null, 10)).events()).isEmpty();
  }

  @Test
  void aTruncateOfATextFormRuleInvalidatesItsNamespace() {
    RowChangeMapper.Mapped m = byId.map(change("public.products", "t", null, null, 10));

    assertThat(m.events()).containsExactly(CacheEvent.invalidateNamespace("catalog", "product", 10,
        new CacheEvent.Source("pg-main", "shop", "public.products", 10, 77, COMMIT_MS), NOW));
    assertThat(m.table()).isEqualTo("public.products");
    assertThat(m.commitTsMicros()).isEqualTo(COMMIT_US);
  }

  @Test
  void aRuleThatDoesNotFitTheTableStopsTheMapping() {
    RowChangeMapper wrong = mapper("public.products=catalog:product:{product_id}");

    assertThatThrownBy(() -> wrong.map(change("public.products", "c", null, row(1, "S", "n"), 10)))
        .isInstanceOfSatisfying(KeyMappingException.class,
            e -> assertThat(e.reason()).isEqualTo(KeyMappingException.Reason.MISSING_COLUMN))
        .hasMessageContaining("public.products")
        .hasMessageContaining("product_id");
  }

  @Test
  void aRowThatNoKeyCanNameIsSkippedAndCounted() {
    assertThat(bySku.map(change("public.products", "c", null, row(1, null, "n"), 10)).events()).isEmpty();
    assertThat(bySku.map(change("public.products", "c", null, row(2, "with space", "n"), 11)).events()).isEmpty();
    assertThat(bySku.skippedRows()).isEqualTo(2);
  }
}
