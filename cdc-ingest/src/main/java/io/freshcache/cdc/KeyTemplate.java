package io.freshcache.cdc;

import io.freshcache.protocol.CacheKey;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * How a table row becomes a logical cache key: literal text with {@code {column}} placeholders,
 * e.g. {@code catalog:product:{id}} or, for a composite key, {@code shop:line:{order_id}:{line_no}}.
 *
 * <p>Rules, checked by {@link #parse(String)}: the {@code service:entity:} prefix is literal and
 * valid for a {@link CacheKey}; placeholders appear only in the identifier part; there is at least
 * one placeholder; a placeholder names a column ({@code [A-Za-z_][A-Za-z0-9_$]*}); braces only
 * open and close placeholders (a key may not contain braces anyway).
 *
 * <p>Column values are rendered as text: strings as they are, integers in decimal, decimals in
 * plain notation ({@code 42.50}, never {@code 4.25E+1}), booleans and UUIDs by
 * {@code toString()}. A null value, a binary or structured value, or a result that is not a valid
 * key (for example a value with a space) is a {@link KeyMappingException}, never a silent miss.
 * Immutable and thread-safe.
 */
public final class KeyTemplate {
  private static final Pattern COLUMN = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*");

  private final String template;
  /** Alternating literal text and column names: even indexes literal (maybe empty), odd columns. */
  private final List<String> parts;
  private final List<String> columns;

  private KeyTemplate(String template, List<String> parts, List<String> columns) {
    this.template = template;
    this.parts = parts;
    this.columns = columns;
  }

  /**
   * Parses and validates a template.
   *
   * @param template e.g. {@code catalog:product:{id}}
   * @return the template
   * @throws IllegalArgumentException if the template is null or blank, or breaks a rule in the
   *     class documentation; the message names the rule and the template
   */
  public static KeyTemplate parse(String template) {
    if (template == null || template.isBlank()) {
      throw new IllegalArgumentException("key template must not be blank but was '" + template + "'");
    }
    List<String> parts = new ArrayList<>();
    List<String> columns = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    int i = 0;
    while (i < template.length()) {
      char c = template.charAt(i);
      if (c == '}') {
        throw bad(template, "has a '}' without a matching '{' at position " + i);
      }
      if (c != '{') {
        literal.append(c);
        i++;
        continue;
      }
      int close = template.indexOf('}', i + 1);
      if (close < 0) {
        throw bad(template, "has a '{' without a matching '}' at position " + i);
      }
      String column = template.substring(i + 1, close);
      if (column.isEmpty()) {
        throw bad(template, "has an empty placeholder '{}' at position " + i);
      }
      if (!COLUMN.matcher(column).matches()) {
        throw bad(template, "placeholder '{" + column + "}' must name a column matching " + COLUMN);
      }
      parts.add(literal.toString());
      parts.add(column);
      columns.add(column);
      literal.setLength(0);
      i = close + 1;
    }
    parts.add(literal.toString());
    if (columns.isEmpty()) {
      throw bad(template, "has no {column} placeholder, so every row would map to one key");
    }
    String prefix = parts.get(0);
    int first = prefix.indexOf(':');
    int second = first < 0 ? -1 : prefix.indexOf(':', first + 1);
    if (second < 0) {
      throw bad(template, "must start with a literal 'service:entity:' prefix; placeholders belong"
          + " in the identifier part");
    }
    String sample = render(parts, column -> "0");
    try {
      CacheKey.parse(sample);
    } catch (IllegalArgumentException e) {
      throw bad(template, "does not produce a valid cache key (" + e.getMessage() + ")");
    }
    return new KeyTemplate(template, List.copyOf(parts), List.copyOf(columns));
  }

  /**
   * @return the literal {@code service:entity} prefix every key of this template starts with,
   *     e.g. {@code catalog:product}: the namespace a {@code TRUNCATE} invalidates
   */
  public String namespace() {
    String prefix = parts.get(0);
    int first = prefix.indexOf(':');
    return prefix.substring(0, prefix.indexOf(':', first + 1));
  }

  /** @return the column names of the placeholders, in template order, without duplicates */
  public Set<String> columns() {
    return Collections.unmodifiableSet(new LinkedHashSet<>(columns));
  }

  /**
   * Maps a row to its cache key.
   *
   * @param row column name to value; only the template's columns are read
   * @return the validated key
   * @throws KeyMappingException if a template column is missing from the row or null, has a value
   *     that cannot be part of a key, or the result is not a valid key
   * @throws NullPointerException if {@code row} is null
   */
  public CacheKey render(Map<String, ?> row) {
    return render(row, null);
  }

  /** As {@link #render(Map)}, naming {@code table} in errors when it is not null. */
  CacheKey render(Map<String, ?> row, String table) {
    Objects.requireNonNull(row, "row");
    String key = render(parts, column -> text(row, column, table));
    try {
      return CacheKey.parse(key);
    } catch (IllegalArgumentException e) {
      throw new KeyMappingException(KeyMappingException.Reason.INVALID_KEY, where(table)
          + "template '" + template + "' produced an invalid key: " + e.getMessage());
    }
  }

  private String text(Map<String, ?> row, String column, String table) {
    if (!row.containsKey(column)) {
      throw new KeyMappingException(KeyMappingException.Reason.MISSING_COLUMN, where(table)
          + "template '" + template + "' needs column '" + column + "' but the row has only " + new ArrayList<>(row.keySet()));
    }
    Object value = row.get(column);
    if (value == null) {
      throw new KeyMappingException(KeyMappingException.Reason.NULL_VALUE, where(table)
          + "template '" + template + "' needs column '" + column + "' but it is null in this row");
    }
    if (value instanceof BigDecimal d) {
      return d.toPlainString();
    }
    if (value instanceof CharSequence || value instanceof Character || value instanceof Long
        || value instanceof Integer || value instanceof Short || value instanceof Byte
        || value instanceof BigInteger || value instanceof Boolean || value instanceof UUID
        || value instanceof Double || value instanceof Float) {
      return value.toString();
    }
    throw new KeyMappingException(KeyMappingException.Reason.UNSUPPORTED_TYPE, where(table)
        + "template '" + template + "': column '" + column + "' has a value of type " + value.getClass().getName() + ", which cannot be part of a key");
  }

  private static String where(String table) {
    return table == null ? "" : table + ": ";
  }

  private static String render(List<String> parts, java.util.function.Function<String, String> value) {
    StringBuilder sb = new StringBuilder(64);
    for (int i = 0; i < parts.size(); i++) {
      sb.append(i % 2 == 0 ? parts.get(i) : value.apply(parts.get(i)));
    }
    return sb.toString();
  }

  private static IllegalArgumentException bad(String template, String rule) {
    return new IllegalArgumentException("key template " + rule + " but was '" + template + "'");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyTemplate other && template.equals(other.template);
  }

  @Override
  public int hashCode() {
    return template.hashCode();
  }

  /** @return the template text, e.g. {@code catalog:product:{id}} */
  @Override
  public String toString() {
    return template;
  }
}
