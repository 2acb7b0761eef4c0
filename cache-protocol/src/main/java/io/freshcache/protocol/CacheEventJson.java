package io.freshcache.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.Locale;

/**
 * The JSON wire form of {@link CacheEvent}, schema version {@value CacheEvent#SCHEMA_VERSION}.
 * Writing is field by field with a streaming generator; reading validates every field and
 * throws {@link InvalidEventException} naming the problem. Thread-safe.
 */
public final class CacheEventJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private CacheEventJson() {}

  /**
   * Writes an event in the JSON form shown on {@link CacheEvent}. Fields at their defaults
   * ({@code ttlMs} 0, {@code schema} 1) and absent values ({@code codec}, {@code payload},
   * {@code source}, {@code created} when false) are left out.
   *
   * @param e the event, not null
   * @return the event as UTF-8 JSON bytes, readable by {@link #read(byte[])}
   */
  public static byte[] write(CacheEvent e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(160 + (e.payload() == null ? 0 : e.payload().length * 4 / 3));
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("v", CacheEvent.SCHEMA_VERSION);
      g.writeStringField("op", e.op().wireName());
      g.writeStringField("key", e.key().toString());
      g.writeNumberField("version", e.version());
      if (e.ttlMs() > 0) {
        g.writeNumberField("ttlMs", e.ttlMs());
      }
      if (e.schema() != 1) {
        g.writeNumberField("schema", e.schema());
      }
      if (e.codec() != null) {
        g.writeStringField("codec", e.codec());
      }
      if (e.payload() != null) {
        g.writeStringField("payload", Base64.getEncoder().encodeToString(e.payload()));
      }
      CacheEvent.Source s = e.source();
      if (s != null) {
        g.writeObjectFieldStart("source");
        g.writeStringField("connector", s.connector());
        g.writeStringField("db", s.db());
        g.writeStringField("table", s.table());
        g.writeNumberField("lsn", s.lsn());
        g.writeNumberField("txId", s.txId());
        g.writeNumberField("commitTsMs", s.commitTsMs());
        g.writeEndObject();
      }
      g.writeNumberField("producedAtMs", e.producedAtMs());
      if (e.created()) {
        g.writeBooleanField("created", true);
      }
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return out.toByteArray();
  }

  /**
   * Parses and validates an event.
   *
   * @param json the record value
   * @return the event
   * @throws InvalidEventException if the bytes are not a valid version-1 event
   *     (fields this version does not know are ignored; {@code created} missing means false)
   */
  public static CacheEvent read(byte[] json) {
    if (json == null) {
      throw new InvalidEventException(null, "event has no value (null record)", null);
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(json);
    } catch (JsonProcessingException ex) {
      throw new InvalidEventException(null, "event is not JSON: " + ex.getOriginalMessage(), ex);
    } catch (IOException ex) {
      throw new InvalidEventException(null, "event is not readable: " + ex.getMessage(), ex);
    }
    if (n == null || !n.isObject()) {
      throw new InvalidEventException(null, "event must be a JSON object", null);
    }
    String rawKey = text(n, "key", null);
    int v = (int) number(n, "v", rawKey, true);
    if (v != CacheEvent.SCHEMA_VERSION) {
      throw new InvalidEventException(rawKey, "unsupported event schema version " + v, null);
    }
    CacheKey key;
    try {
      key = CacheKey.parse(rawKey);
    } catch (IllegalArgumentException ex) {
      throw new InvalidEventException(rawKey, ex.getMessage(), ex);
    }
    String opName = text(n, "op", rawKey);
    CacheEvent.Op op;
    try {
      op = CacheEvent.Op.valueOf(opName.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException ex) {
      throw new InvalidEventException(rawKey, "unknown op '" + opName + "'", ex);
    }
    long version = number(n, "version", rawKey, true);
    long ttl = n.has("ttlMs") ? number(n, "ttlMs", rawKey, true) : 0;
    long schema = n.has("schema") ? number(n, "schema", rawKey, true) : 1;
    if (schema < 1 || schema > Integer.MAX_VALUE) {
      throw new InvalidEventException(rawKey, "field 'schema' must be a positive int but was " + schema, null);
    }
    String codec = n.hasNonNull("codec") ? text(n, "codec", rawKey) : null;
    byte[] payload = null;
    if (n.hasNonNull("payload")) {
      try {
        payload = Base64.getDecoder().decode(text(n, "payload", rawKey));
      } catch (IllegalArgumentException ex) {
        throw new InvalidEventException(rawKey, "payload is not base64", ex);
      }
    }
    CacheEvent.Source source = null;
    JsonNode s = n.get("source");
    if (s != null && !s.isNull()) {
      if (!s.isObject()) {
        throw new InvalidEventException(rawKey, "source must be an object", null);
      }
      source = new CacheEvent.Source(s.path("connector").asText(""), s.path("db").asText(""),
          s.path("table").asText(""), s.path("lsn").asLong(-1), s.path("txId").asLong(-1),
          s.path("commitTsMs").asLong(0));
    }
    long producedAt = n.has("producedAtMs") ? number(n, "producedAtMs", rawKey, true) : 0;
    boolean created = false;
    JsonNode c = n.get("created");
    if (c != null && !c.isNull()) {
      if (!c.isBoolean()) {
        throw new InvalidEventException(rawKey, "field 'created' must be a boolean", null);
      }
      created = c.booleanValue();
    }
    try {
      return new CacheEvent(op, key, version, ttl, (int) schema, codec, payload, source, producedAt,
          created);
    } catch (IllegalArgumentException | NullPointerException ex) {
      throw new InvalidEventException(rawKey, ex.getMessage(), ex);
    }
  }

  private static String text(JsonNode n, String field, String key) {
    JsonNode f = n.get(field);
    if (f == null || !f.isTextual()) {
      throw new InvalidEventException(key, "field '" + field + "' must be a string", null);
    }
    return f.asText();
  }

  private static long number(JsonNode n, String field, String key, boolean required) {
    JsonNode f = n.get(field);
    if (f == null || !f.canConvertToLong() || !f.isIntegralNumber()) {
      if (!required && f == null) {
        return 0;
      }
      throw new InvalidEventException(key, "field '" + field + "' must be an integer", null);
    }
    return f.asLong();
  }
}
