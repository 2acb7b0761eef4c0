package io.freshcache.cdc.internal;

import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/** Builds change records shaped like the ones Debezium's PostgreSQL connector emits. */
public final class ChangeRecords {
  public static final Schema KEY = SchemaBuilder.struct().name("pg-main.public.products.Key")
      .field("id", Schema.INT64_SCHEMA).build();
  public static final Schema ROW = SchemaBuilder.struct().name("pg-main.public.products.Value").optional()
      .field("id", Schema.INT64_SCHEMA)
      .field("sku", Schema.OPTIONAL_STRING_SCHEMA)
      .field("name", Schema.OPTIONAL_STRING_SCHEMA)
      .build();
  public static final Schema SOURCE = SchemaBuilder.struct().name("io.debezium.connector.postgresql.Source")
      .field("version", Schema.STRING_SCHEMA)
      .field("connector", Schema.STRING_SCHEMA)
      .field("name", Schema.STRING_SCHEMA)
      .field("ts_ms", Schema.INT64_SCHEMA)
      .field("db", Schema.STRING_SCHEMA)
      .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
      .field("schema", Schema.STRING_SCHEMA)
      .field("table", Schema.STRING_SCHEMA)
      .field("txId", Schema.OPTIONAL_INT64_SCHEMA)
      .field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
      .build();
  public static final Schema ENVELOPE = SchemaBuilder.struct().name("pg-main.public.products.Envelope")
      .field("before", ROW)
      .field("after", ROW)
      .field("source", SOURCE)
      .field("op", Schema.STRING_SCHEMA)
      .field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
      .build();

  public static final long COMMIT_MS = 1_764_140_000_000L;
  public static final long COMMIT_US = COMMIT_MS * 1000 + 123;

  private ChangeRecords() {}

  public static Struct row(long id, String sku, String name) {
    return new Struct(ROW).put("id", id).put("sku", sku).put("name", name);
  }

  public static SourceRecord change(String table, String op, Struct before, Struct after, long lsn) {
    String[] parts = table.split("\\.");
    Struct source = new Struct(SOURCE).put("version", "3.6.1.Final").put("connector", "postgresql")
        .put("name", "pg-main").put("ts_ms", COMMIT_MS).put("db", "shop").put("ts_us", COMMIT_US)
        .put("schema", parts[0]).put("table", parts[1]).put("txId", 77L).put("lsn", lsn);
    Struct value = new Struct(ENVELOPE).put("before", before).put("after", after)
        .put("source", source).put("op", op).put("ts_ms", COMMIT_MS + 5);
    Struct image = after != null ? after : before;
    Struct key = image == null ? null : new Struct(KEY).put("id", image.getInt64("id"));
    return new SourceRecord(Map.of("server", "pg-main"), Map.of("lsn", lsn), "pg-main." + table, null,
        KEY, key, ENVELOPE, value);
  }

  public static SourceRecord tombstone(long id) {
    return new SourceRecord(Map.of("server", "pg-main"), Map.of("lsn", 1L), "pg-main.public.products",
        null, KEY, new Struct(KEY).put("id", id), null, null);
  }
}
