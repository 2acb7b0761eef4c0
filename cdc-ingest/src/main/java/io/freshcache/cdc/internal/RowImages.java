package io.freshcache.cdc.internal;

import io.freshcache.cdc.TableRule;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

/**
 * Turns a Debezium row image into the plain map an upsert payload encodes: column (or camel-case)
 * name to a value every codec can write.
 *
 * <p>Why convert: Debezium carries temporal columns as numbers named by a semantic schema
 * ({@code io.debezium.time.Date} is days since the epoch, {@code MicroTimestamp} microseconds),
 * which a reader of the cached value would have to know. They become ISO-8601 text here
 * ({@code 2026-11-26}, {@code 2026-11-26T08:30:00.123456}, {@code 08:30}), as Jackson would write
 * {@code java.time} values. Numerics arrive as exact text ({@code decimal.handling.mode=string}),
 * bytes as {@code byte[]} (base64 in JSON, binary in the binary codecs), structs as nested maps.
 *
 * <p>Unchanged TOAST columns: an update that leaves a large column untouched does not carry its
 * value (PostgreSQL logs only what changed); Debezium puts {@value #UNAVAILABLE} there. Such an
 * image is {@link Image#complete() incomplete}, and the caller invalidates instead of writing a
 * value with a placeholder in it.
 */
final class RowImages {
  /** Debezium's placeholder for an unchanged TOAST value ({@code unavailable.value.placeholder}). */
  static final String UNAVAILABLE = "__debezium_unavailable_value";
  private static final byte[] UNAVAILABLE_BYTES =
      UNAVAILABLE.getBytes(java.nio.charset.StandardCharsets.UTF_8);

  /**
   * @param values field name to value, in column order
   * @param complete false if a column's value was not in the change
   */
  record Image(Map<String, Object> values, boolean complete) {}

  private RowImages() {}

  /**
   * @param image the after-image
   * @param rule names the payload columns (all when empty) and the field naming
   * @return the payload map
   * @throws IllegalStateException if a payload column is missing from the image
   */
  static Image payload(Struct image, TableRule rule) {
    Map<String, Object> values = new LinkedHashMap<>();
    boolean[] complete = {true};
    if (rule.payloadColumns().isEmpty()) {
      for (Field f : image.schema().fields()) {
        values.put(name(f.name(), rule), convert(f.schema(), image.get(f), complete));
      }
    } else {
      for (String column : rule.payloadColumns()) {
        Field f = image.schema().field(column);
        if (f == null) {
          throw new IllegalStateException(rule.table() + ": payload column '" + column
              + "' is not in the change (columns: " + image.schema().fields().stream()
              .map(Field::name).toList() + ")");
        }
        values.put(name(column, rule), convert(f.schema(), image.get(f), complete));
      }
    }
    return new Image(values, complete[0]);
  }

  static String name(String column, TableRule rule) {
    return rule.fieldNames() == TableRule.FieldNames.CAMEL_CASE ? camelCase(column) : column;
  }

  /** {@code price_cents} to {@code priceCents}; {@code _x} and {@code a__b} keep no empty parts. */
  static String camelCase(String column) {
    StringBuilder sb = new StringBuilder(column.length());
    boolean upper = false;
    for (int i = 0; i < column.length(); i++) {
      char c = column.charAt(i);
      if (c == '_') {
        upper = sb.length() > 0;
      } else {
        sb.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      }
    }
    return sb.length() == 0 ? column : sb.toString();
  }

  private static Object convert(Schema schema, Object value, boolean[] complete) {
    if (value == null) {
      return null;
    }
    if (UNAVAILABLE.equals(value)) {
      complete[0] = false;
      return null;
    }
    String name = schema.name();
    if (name != null) {
      switch (name) {
        case "io.debezium.time.Date":
          return LocalDate.ofEpochDay(((Number) value).longValue()).toString();
        case "io.debezium.time.Timestamp":
          return LocalDateTime.ofInstant(Instant.ofEpochMilli(((Number) value).longValue()),
              ZoneOffset.UTC).toString();
        case "io.debezium.time.MicroTimestamp":
          return LocalDateTime.ofInstant(micros(((Number) value).longValue()), ZoneOffset.UTC)
              .toString();
        case "io.debezium.time.NanoTimestamp": {
          long nanos = ((Number) value).longValue();
          return LocalDateTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L),
              Math.floorMod(nanos, 1_000_000_000L)), ZoneOffset.UTC).toString();
        }
        case "io.debezium.time.Time":
          return LocalTime.ofNanoOfDay(((Number) value).longValue() * 1_000_000L).toString();
        case "io.debezium.time.MicroTime":
          return LocalTime.ofNanoOfDay(((Number) value).longValue() * 1_000L).toString();
        case "io.debezium.time.NanoTime":
          return LocalTime.ofNanoOfDay(((Number) value).longValue()).toString();
        default:
          break;
      }
    }
    if (value instanceof Struct s) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (Field f : s.schema().fields()) {
        m.put(f.name(), convert(f.schema(), s.get(f), complete));
      }
      return m;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object o : list) {
        out.add(convert(schema.valueSchema(), o, complete));
      }
      return out;
    }
    if (value instanceof Map<?, ?> map) {
      Map<Object, Object> out = new LinkedHashMap<>();
      map.forEach((k, v) -> out.put(k, convert(schema.valueSchema(), v, complete)));
      return out;
    }
    if (value instanceof ByteBuffer buffer) {
      ByteBuffer copy = buffer.duplicate();
      byte[] bytes = new byte[copy.remaining()];
      copy.get(bytes);
      return unavailable(bytes, complete);
    }
    if (value instanceof byte[] bytes) {
      return unavailable(bytes, complete);
    }
    return value;
  }

  private static Object unavailable(byte[] bytes, boolean[] complete) {
    if (java.util.Arrays.equals(bytes, UNAVAILABLE_BYTES)) {
      complete[0] = false;
      return null;
    }
    return bytes;
  }

  private static Instant micros(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
        Math.floorMod(micros, 1_000_000L) * 1_000L);
  }
}
