package io.freshcache.cdc.connect;

import static io.freshcache.cdc.internal.ChangeRecords.change;
import static io.freshcache.cdc.internal.ChangeRecords.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.cdc.internal.ChangeRecords;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debezium-format records through the transform, as a Connect worker would pass them. */
class CacheEventTransformTest {

  private static CacheEventTransform<SourceRecord> transform(Map<String, String> config) {
    CacheEventTransform<SourceRecord> t = new CacheEventTransform<>();
    t.configure(config);
    return t;
  }

  @Test
  void aChangeBecomesTheCacheEventCdcIngestWouldSend() {
    CacheEventTransform<SourceRecord> t = transform(Map.of("rules", "public.products=catalog:product:{id}",
        "connector.name", "pg-connect"));

    SourceRecord out = t.apply(change("public.products", "u", row(42, "S1", "a"), row(42, "S1", "b"), 5000));

    assertThat(out.topic()).isEqualTo("freshcache.changes");
    assertThat(out.kafkaPartition()).isNull();
    assertThat(out.keySchema()).isEqualTo(Schema.STRING_SCHEMA);
    assertThat(out.key()).isEqualTo("catalog:product:42");
    assertThat(out.valueSchema()).isEqualTo(Schema.BYTES_SCHEMA);
    CacheEvent e = CacheEventJson.read((byte[]) out.value());
    assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE);
    assertThat(e.version()).isEqualTo(5000);
    assertThat(e.source().connector()).isEqualTo("pg-connect");
    assertThat(e.source().commitTsMs()).isEqualTo(ChangeRecords.COMMIT_MS);
    assertThat(out.sourceOffset()).as("the source offset travels on").isEqualTo(Map.of("lsn", 5000L));
  }

  @Test
  void deletesAreDeletesAndTombstonesHeartbeatsAndUnmappedTablesAreDropped() {
    CacheEventTransform<SourceRecord> t = transform(Map.of("rules", "public.products=catalog:product:{id}",
        "topic", "cache.events"));

    SourceRecord delete = t.apply(change("public.products", "d", row(7, "S", "x"), null, 10));
    assertThat(delete.topic()).isEqualTo("cache.events");
    assertThat(CacheEventJson.read((byte[]) delete.value()).op()).isEqualTo(CacheEvent.Op.DELETE);
    assertThat(t.apply(ChangeRecords.tombstone(7))).isNull();
    assertThat(t.apply(change("public.other", "c", null, row(1, "S", "x"), 11))).isNull();
    assertThat(t.apply(change("public.products", "r", null, row(1, "S", "x"), 12))).isNull();
  }

  @Test
  void aRulesFileServesBothPaths(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, "tables:\n  public.products:\n    key: catalog:product:{id}\n"
        + "    operation: upsert\n    ttl: catalog\n    columns: [id, name]\n");
    CacheEventTransform<SourceRecord> t = transform(Map.of("rules.file", file.toString()));

    CacheEvent e = CacheEventJson.read((byte[]) t.apply(
        change("public.products", "c", null, row(3, "S", "lamp"), 20)).value());

    assertThat(e.op()).isEqualTo(CacheEvent.Op.UPSERT);
    assertThat(new String(e.payload(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("{\"id\":3,\"name\":\"lamp\"}");
    assertThat(e.ttlMs()).isEqualTo(3_600_000);
  }

  /** A transform maps one record to one: the truncate goes once, to its key's partition. */
  @Test
  void aTruncateIsOneNamespaceInvalidationLeftToTheKeysPartition() {
    SourceRecord out = transform(Map.of("rules", "public.products=catalog:product:{id}",
        "connector.name", "pg-connect")).apply(change("public.products", "t", null, null, 30));

    assertThat(out.topic()).isEqualTo("freshcache.changes");
    assertThat(out.kafkaPartition()).as("the producer's choice by key, as for every event").isNull();
    assertThat(out.keySchema()).isEqualTo(Schema.STRING_SCHEMA);
    assertThat(out.key()).isEqualTo("catalog:product:*");
    CacheEvent e = CacheEventJson.read((byte[]) out.value());
    assertThat(e.op()).isEqualTo(CacheEvent.Op.INVALIDATE_NAMESPACE);
    assertThat(e.key().toString()).isEqualTo("catalog:product:*");
    assertThat(e.version()).isEqualTo(30);
    assertThat(e.payload()).isNull();
    assertThat(e.source().connector()).isEqualTo("pg-connect");
    assertThat(e.source().table()).isEqualTo("public.products");
  }

  @Test
  void aTruncateIsDroppedWhenTheRuleIgnoresIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, "tables:\n  public.products:\n    key: catalog:product:{id}\n"
        + "    truncate: ignore\n");

    assertThat(transform(Map.of("rules.file", file.toString()))
        .apply(change("public.products", "t", null, null, 30))).isNull();
  }

  @Test
  void badConfigurationIsAConfigException() {
    assertThatThrownBy(() -> transform(Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("set exactly one of 'rules.file' and 'rules'");
    assertThatThrownBy(() -> transform(Map.of("rules", "public.products=catalog:product")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("no {column} placeholder");
    assertThatThrownBy(() -> transform(Map.of("rules.file", "/nonexistent.yaml")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("rules file /nonexistent.yaml: cannot be read");
  }

  @Test
  void aRuleThatDoesNotFitIsADataException() {
    CacheEventTransform<SourceRecord> t = transform(Map.of("rules", "public.products=catalog:product:{pid}"));

    assertThatThrownBy(() -> t.apply(change("public.products", "c", null, row(1, "S", "x"), 1)))
        .isInstanceOf(DataException.class).hasMessageContaining("needs column 'pid'");
  }
}
