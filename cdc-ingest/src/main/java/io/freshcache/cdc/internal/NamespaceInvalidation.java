package io.freshcache.cdc.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.freshcache.protocol.CacheEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The event a {@code TRUNCATE} becomes under {@code truncate: invalidate_namespace}: "drop every
 * cached entry whose key starts with {@code service:entity:}". cache-protocol has no such op yet,
 * so this class writes the proposed wire form itself, field for field as {@code CacheEventJson}
 * writes a version-1 event:
 *
 * <pre>{@code
 * {"v":1,"op":"invalidate_namespace","key":"catalog:product:*","version":<LSN or 0>,
 *  "source":{...},"producedAtMs":...}
 * }</pre>
 *
 * <p>One copy goes to every partition of the topic. Each key's events live in one partition, so
 * when a writer reaches the copy in a key's partition it has applied every earlier event of that
 * key; dropping the whole namespace there cannot be overtaken by an older event of any key. The
 * version is the truncate's LSN for LSN-versioned rules and 0 for row-version rules, whose
 * fences must not be raised to an LSN (see the module README for the writer's side).
 *
 * @param namespace {@code service:entity}
 * @param version the LSN, or 0
 * @param source where the truncate was captured
 * @param producedAtMs when the event was made
 */
record NamespaceInvalidation(String namespace, long version, CacheEvent.Source source,
    long producedAtMs) {
  /** The wire name of the proposed op. */
  static final String OP = "invalidate_namespace";
  private static final JsonFactory JSON = new JsonFactory();

  /** @return the record key and the event's {@code key}: {@code service:entity:*} */
  String key() {
    return namespace + ":*";
  }

  byte[] json() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("v", CacheEvent.SCHEMA_VERSION);
      g.writeStringField("op", OP);
      g.writeStringField("key", key());
      g.writeNumberField("version", version);
      g.writeObjectFieldStart("source");
      g.writeStringField("connector", source.connector());
      g.writeStringField("db", source.db());
      g.writeStringField("table", source.table());
      g.writeNumberField("lsn", source.lsn());
      g.writeNumberField("txId", source.txId());
      g.writeNumberField("commitTsMs", source.commitTsMs());
      g.writeEndObject();
      g.writeNumberField("producedAtMs", producedAtMs);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
