package io.freshcache.writer;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the write-behind sink writes one entity's upserts to a table: the logical key's identifier
 * goes into {@code keyColumn}, the event's version into {@code versionColumn}, and every field of
 * the upsert's payload (a JSON object, or the same shape in another codec) into the column of the
 * same name. The row is written with
 *
 * <pre>{@code
 * INSERT INTO table (fields..., key, version) VALUES (...)
 * ON CONFLICT (key) DO UPDATE SET fields... = EXCLUDED..., version = EXCLUDED.version
 * WHERE table.version < EXCLUDED.version
 * }</pre>
 *
 * so a redelivered or older upsert never overwrites a newer row.
 *
 * <p>Text form, as in {@code WRITER_SINK_RULES} (rules separated by {@code ;}):
 * {@code service:entity=[schema.]table(keyColumn,versionColumn)}, e.g.
 * {@code catalog:product=public.products(id,version)}. Table and column names are unquoted SQL
 * identifiers ({@code [A-Za-z_][A-Za-z0-9_]*}) and are folded to lower case, as PostgreSQL does.
 *
 * @param entity the entity, {@code service:entity} of the logical key
 * @param table the table, optionally schema-qualified, lower case
 * @param keyColumn the column with a unique constraint that holds the key's identifier
 * @param versionColumn the column that holds the row version
 */
public record SinkRule(String entity, String table, String keyColumn, String versionColumn) {
  private static final String IDENT = "[A-Za-z_][A-Za-z0-9_]*";
  private static final Pattern ENTITY = Pattern.compile("[^\\s:=;()]+:[^\\s:=;()]+");
  private static final Pattern TABLE = Pattern.compile(IDENT + "(\\." + IDENT + ")?");
  private static final Pattern COLUMN = Pattern.compile(IDENT);
  private static final Pattern RULE = Pattern.compile(
      "\\s*(\\S+?)\\s*=\\s*([^\\s(]+)\\s*\\(\\s*([^\\s,)]+)\\s*,\\s*([^\\s,)]+)\\s*\\)\\s*");

  /**
   * Validates the rule and folds the table and column names to lower case.
   *
   * @param entity {@code service:entity}: two parts without blanks or any of
   *     {@code : = ; ( )}, joined by one colon; not null
   * @param table {@code [schema.]table}, unquoted identifiers; not null
   * @param keyColumn an unquoted identifier; not null
   * @param versionColumn an unquoted identifier other than {@code keyColumn} (compared after
   *     folding to lower case); not null
   * @throws IllegalArgumentException naming the bad part and its value
   * @throws NullPointerException if a component is null
   */
  public SinkRule {
    Objects.requireNonNull(entity, "entity");
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(keyColumn, "keyColumn");
    Objects.requireNonNull(versionColumn, "versionColumn");
    if (!ENTITY.matcher(entity).matches()) {
      throw new IllegalArgumentException("sink rule entity must be service:entity but was '" + entity + "'");
    }
    if (!TABLE.matcher(table).matches()) {
      throw new IllegalArgumentException("sink rule table must be [schema.]table, letters, digits and _,"
          + " but was '" + table + "'");
    }
    if (!COLUMN.matcher(keyColumn).matches()) {
      throw new IllegalArgumentException("sink rule key column must be letters, digits and _ but was '"
          + keyColumn + "'");
    }
    if (!COLUMN.matcher(versionColumn).matches()) {
      throw new IllegalArgumentException("sink rule version column must be letters, digits and _ but was '"
          + versionColumn + "'");
    }
    table = table.toLowerCase(Locale.ROOT);
    keyColumn = keyColumn.toLowerCase(Locale.ROOT);
    versionColumn = versionColumn.toLowerCase(Locale.ROOT);
    if (keyColumn.equals(versionColumn)) {
      throw new IllegalArgumentException("sink rule for " + entity
          + " needs different key and version columns but both were '" + keyColumn + "'");
    }
  }

  /**
   * @param name a column name; not null
   * @return whether {@code name} may be used as a column name in generated SQL: an unquoted
   *     identifier {@code [A-Za-z_][A-Za-z0-9_]*}
   */
  public static boolean isColumnName(String name) {
    return COLUMN.matcher(name).matches();
  }

  /**
   * Parses one rule, e.g. {@code catalog:product=public.products(id,version)}; blanks around
   * the parts are ignored.
   *
   * @param text the rule in the text form of the class documentation; not null
   * @return the validated rule
   * @throws IllegalArgumentException naming the bad text
   * @throws NullPointerException if {@code text} is null
   */
  public static SinkRule parse(String text) {
    Matcher m = RULE.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("sink rule must look like service:entity=[schema.]table(keyColumn,versionColumn)"
          + " but was '" + text.trim() + "'");
    }
    return new SinkRule(m.group(1), m.group(2), m.group(3), m.group(4));
  }

  /**
   * Parses rules separated by {@code ;} (blank entries are ignored).
   *
   * @param text the rules, e.g. the value of {@code WRITER_SINK_RULES}; not null
   * @return the rules in order; empty if {@code text} has only blank entries
   * @throws IllegalArgumentException naming the bad rule, or an entity named twice
   * @throws NullPointerException if {@code text} is null
   */
  public static List<SinkRule> parseAll(String text) {
    List<SinkRule> out = new ArrayList<>();
    Set<String> entities = new HashSet<>();
    for (String part : text.split(";")) {
      if (part.isBlank()) {
        continue;
      }
      SinkRule r = parse(part);
      if (!entities.add(r.entity())) {
        throw new IllegalArgumentException("sink rules name entity " + r.entity() + " twice");
      }
      out.add(r);
    }
    return out;
  }

  /** @return the rule in its text form, which {@link #parse(String)} reads back */
  @Override
  public String toString() {
    return entity + "=" + table + "(" + keyColumn + "," + versionColumn + ")";
  }
}
