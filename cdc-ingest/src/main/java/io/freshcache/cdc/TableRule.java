package io.freshcache.cdc;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How the changes of one table become cache events: which table, the key template, the operation,
 * where the event's version comes from, and for upserts the payload's codec, TTL and schema
 * version.
 *
 * <p>Two ways to write rules: a YAML file ({@link RulesFile}, {@code CDC_RULES_FILE}) for every
 * setting, or the text form of {@code CDC_RULES}, {@code schema.table=keyTemplate} joined with
 * {@code ;}, e.g. {@code public.products=catalog:product:{id}}, whose rules invalidate
 * ({@link Operation#INVALIDATE}) with the commit LSN as version ({@link VersionSource#COMMIT_LSN})
 * and turn a truncate into a namespace invalidation ({@link TruncateMode#INVALIDATE_NAMESPACE}).
 * Build others with {@link #builder(String, String)}.
 *
 * <p>A delete always becomes {@code delete}, whatever the operation. Which settings go together is
 * checked here: an upsert needs a codec and a TTL; codec, TTL, schema, field names and payload
 * columns mean nothing to an invalidation and are refused there, so a typo cannot go unnoticed.
 * Whether the table and columns exist, and whether the key template names exactly the primary
 * key, is checked against the database when {@link CdcIngest} starts.
 *
 * @param table the captured table, {@code schema.table} as PostgreSQL spells it, e.g.
 *     {@code public.products}
 * @param keyTemplate how a row becomes its cache key; its columns must be the table's primary key
 * @param operation what an insert or update does to the key
 * @param versionSource where the event's version comes from
 * @param versionColumn the row-version column for {@link VersionSource#COLUMN}, else null
 * @param codec for upserts the payload codec's name from {@link Codecs} ({@code json},
 *     {@code cbor}, {@code smile}, {@code msgpack}); null for invalidations
 * @param ttl for upserts the Redis TTL of the written value (the writer adds no jitter; the
 *     client's policy does on its own fills); {@link Duration#ZERO} for invalidations
 * @param schema for upserts the schema version of the payload, which selects the value key
 *     {@code {key}:v<schema>}; 1 for invalidations
 * @param fieldNames how column names become the payload's field names
 * @param payloadColumns the columns of the upsert payload in order, or empty for every column
 * @param onTruncate what a {@code TRUNCATE} of the table does; by default
 *     {@link TruncateMode#INVALIDATE_NAMESPACE}
 */
public record TableRule(String table, KeyTemplate keyTemplate, Operation operation,
    VersionSource versionSource, String versionColumn, String codec, Duration ttl, int schema,
    FieldNames fieldNames, List<String> payloadColumns, TruncateMode onTruncate) {

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*");

  /** What an insert or update of a row does to its cache key. */
  public enum Operation {
    /** Drop the cached value; the next read loads the row again. */
    INVALIDATE,
    /** Write the row's after-image, encoded with the rule's codec, as the new cached value. */
    UPSERT
  }

  /** Where an event's version comes from. */
  public enum VersionSource {
    /**
     * The LSN of the change in the write-ahead log ({@code source.lsn}). Two changes of one row
     * are ordered by row locks, so for one row the LSN grows in commit order; the right choice for
     * entities that only CDC writes to the cache.
     */
    COMMIT_LSN,
    /**
     * A row-version column of the table (an integer that every update raises), for entities that
     * applications also write to the cache: their write events know the row version but not the
     * LSN. Deletes need the version too, so the table must have {@code REPLICA IDENTITY FULL}.
     */
    COLUMN
  }

  /** How column names become the field names of an upsert's payload. */
  public enum FieldNames {
    /** As the column is named, e.g. {@code price_cents}. */
    COLUMN,
    /** Snake case to lower camel case, e.g. {@code price_cents} to {@code priceCents}. */
    CAMEL_CASE
  }

  /**
   * What a {@code TRUNCATE} of a mapped table does. A truncate removes every row without naming
   * one, so no per-key event can express it.
   */
  public enum TruncateMode {
    /**
     * Nothing is sent; the truncate is logged and counted
     * ({@link CdcMetricNames#TRUNCATES_IGNORED}), and cached entries of the table stay until
     * their TTL.
     */
    IGNORE,
    /**
     * The default: an {@code invalidate_namespace} event keyed {@code service:entity:*} (the key
     * template's {@link KeyTemplate#namespace()}), one copy to every partition of the topic, on
     * which cache-writer forgets every cached key of that namespace (values, leases and fences)
     * and tells near caches to drop it too. Its version is the truncate's LSN for
     * {@link VersionSource#COMMIT_LSN} rules and 0 for {@link VersionSource#COLUMN} rules, and
     * informational: no fence is compared or raised. Through the Kafka Connect transform only one
     * copy is sent (see {@link io.freshcache.cdc.connect.CacheEventTransform}).
     */
    INVALIDATE_NAMESPACE
  }

  /** Known TTL policy names, the seed's examples, as client-lib's {@code CachePolicy} has them. */
  public static final Map<String, Duration> TTL_POLICIES = Map.of(
      "profiles", Duration.ofSeconds(300),
      "catalog", Duration.ofSeconds(3600),
      "sessions", Duration.ofSeconds(900));

  /**
   * Validates the rule and how its settings combine; {@code payloadColumns} is copied.
   *
   * @param table {@code schema.table}, two identifiers {@code [A-Za-z_][A-Za-z0-9_$]*} joined by
   *     one dot; not null
   * @param keyTemplate the key template; not null
   * @param operation the operation; not null
   * @param versionSource the version source; not null
   * @param versionColumn for {@link VersionSource#COLUMN} a column name (an identifier as above);
   *     null for {@link VersionSource#COMMIT_LSN}
   * @param codec for {@link Operation#UPSERT} a name {@link Codecs#byName} knows; null for
   *     {@link Operation#INVALIDATE}
   * @param ttl not null; at least 1 ms for an upsert, {@link Duration#ZERO} for an invalidation
   * @param schema at least 1 for an upsert; exactly 1 for an invalidation
   * @param fieldNames not null; {@link FieldNames#COLUMN} for an invalidation
   * @param payloadColumns not null and without null elements; for an upsert distinct column
   *     names (empty for every column), empty for an invalidation
   * @param onTruncate not null
   * @throws IllegalArgumentException naming the setting that is wrong and its value
   * @throws NullPointerException if a component other than {@code versionColumn} or
   *     {@code codec} is null, or {@code payloadColumns} contains null
   */
  public TableRule {
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(keyTemplate, "keyTemplate");
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(versionSource, "versionSource");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(fieldNames, "fieldNames");
    Objects.requireNonNull(onTruncate, "onTruncate");
    Objects.requireNonNull(payloadColumns, "payloadColumns");
    for (String column : payloadColumns) { // before List.copyOf, which throws a bare NPE
      if (column == null) {
        throw new IllegalArgumentException("payloadColumns must be distinct column names but had null");
      }
    }
    payloadColumns = List.copyOf(payloadColumns);
    int dot = table.indexOf('.');
    if (dot < 0 || !IDENTIFIER.matcher(table.substring(0, dot)).matches()
        || !IDENTIFIER.matcher(table.substring(dot + 1)).matches()) {
      throw new IllegalArgumentException("table must be schema.table (e.g. public.products) but was '"
          + table + "'");
    }
    if (versionSource == VersionSource.COLUMN) {
      if (versionColumn == null || !IDENTIFIER.matcher(versionColumn).matches()) {
        throw new IllegalArgumentException("versionColumn must name a column for version source"
            + " COLUMN but was " + quote(versionColumn));
      }
    } else if (versionColumn != null) {
      throw new IllegalArgumentException("versionColumn must be null for version source "
          + versionSource + " but was '" + versionColumn + "'");
    }
    if (operation == Operation.UPSERT) {
      if (codec == null) {
        throw new IllegalArgumentException("codec must be set for an upsert but was null");
      }
      Codecs.byName(codec); // throws naming the known codecs
      if (ttl.isNegative() || ttl.toMillis() < 1) {
        throw new IllegalArgumentException("ttl must be >= 1 ms for an upsert but was "
            + ttl.toMillis() + " ms");
      }
      if (schema < 1) {
        throw new IllegalArgumentException("schema must be >= 1 but was " + schema);
      }
      Set<String> seen = new HashSet<>();
      for (String column : payloadColumns) {
        if (column == null || !IDENTIFIER.matcher(column).matches() || !seen.add(column)) {
          throw new IllegalArgumentException("payloadColumns must be distinct column names but"
              + " had " + quote(column));
        }
      }
    } else {
      if (codec != null) {
        throw new IllegalArgumentException("codec applies to upserts only but was '" + codec
            + "' for an invalidation");
      }
      if (!ttl.isZero()) {
        throw new IllegalArgumentException("ttl applies to upserts only but was " + ttl.toMillis()
            + " ms for an invalidation");
      }
      if (schema != 1) {
        throw new IllegalArgumentException("schema applies to upserts only but was " + schema
            + " for an invalidation");
      }
      if (fieldNames != FieldNames.COLUMN || !payloadColumns.isEmpty()) {
        throw new IllegalArgumentException("fieldNames and payloadColumns apply to upserts only");
      }
    }
  }

  /**
   * An invalidation rule versioned by commit LSN whose truncates invalidate the namespace.
   *
   * @param table {@code schema.table}
   * @param keyTemplate the key template
   * @param operation must be {@link Operation#INVALIDATE}; kept for source compatibility
   * @param versionSource must be {@link VersionSource#COMMIT_LSN}
   * @throws IllegalArgumentException if {@code table} is not {@code schema.table}, or
   *     {@code operation} is {@link Operation#UPSERT} or {@code versionSource} is
   *     {@link VersionSource#COLUMN} (this constructor sets no codec, TTL or version column)
   * @throws NullPointerException if an argument is null
   */
  public TableRule(String table, KeyTemplate keyTemplate, Operation operation,
      VersionSource versionSource) {
    this(table, keyTemplate, operation, versionSource, null, null, Duration.ZERO, 1,
        FieldNames.COLUMN, List.of(), TruncateMode.INVALIDATE_NAMESPACE);
  }

  /**
   * An invalidation rule versioned by commit LSN whose truncates invalidate the namespace.
   *
   * @param table {@code schema.table}
   * @param keyTemplate e.g. {@code catalog:product:{id}}; see {@link KeyTemplate#parse(String)}
   * @return the rule
   * @throws IllegalArgumentException if the table or template is invalid
   * @throws NullPointerException if {@code table} is null
   */
  public static TableRule invalidate(String table, String keyTemplate) {
    return builder(table, keyTemplate).build();
  }

  /**
   * Starts a rule. Only the template is checked here; the table and the rest are checked by
   * {@link Builder#build()}.
   *
   * @param table {@code schema.table}
   * @param keyTemplate e.g. {@code catalog:product:{id}}; see {@link KeyTemplate#parse(String)}
   * @return a builder for an invalidation rule versioned by commit LSN whose truncates invalidate
   *     the namespace, to change from there
   * @throws IllegalArgumentException if the template is null or invalid
   */
  public static Builder builder(String table, String keyTemplate) {
    return new Builder(table, KeyTemplate.parse(keyTemplate));
  }

  /**
   * Parses one rule in the text form {@code schema.table=keyTemplate}; blanks around either side
   * are ignored.
   *
   * @param text the rule, e.g. {@code public.products=catalog:product:{id}}; split at the first
   *     {@code =}
   * @return an invalidation rule versioned by commit LSN whose truncates invalidate the namespace
   * @throws IllegalArgumentException if the text is not of that form or either side is invalid;
   *     the message quotes the text
   * @throws NullPointerException if {@code text} is null
   */
  public static TableRule parse(String text) {
    Objects.requireNonNull(text, "rule");
    int eq = text.indexOf('=');
    if (eq < 0) {
      throw new IllegalArgumentException(
          "rule must look like schema.table=keyTemplate but was '" + text + "'");
    }
    try {
      return invalidate(text.substring(0, eq).trim(), text.substring(eq + 1).trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage() + " in rule '" + text + "'", e);
    }
  }

  /**
   * Parses rules joined with {@code ;}, e.g.
   * {@code public.products=catalog:product:{id};shop.lines=shop:line:{order_id}:{line_no}}. Empty
   * entries (a trailing {@code ;}) are ignored.
   *
   * @param text the rules in the {@code CDC_RULES} text form, each as {@link #parse(String)}
   *     reads it
   * @return the rules in order, at least one; unmodifiable
   * @throws IllegalArgumentException if a rule is invalid, a table appears twice, or there is no
   *     rule
   * @throws NullPointerException if {@code text} is null
   */
  public static List<TableRule> parseAll(String text) {
    Objects.requireNonNull(text, "rules");
    List<TableRule> rules = new ArrayList<>();
    for (String entry : text.split(";")) {
      if (!entry.isBlank()) {
        rules.add(parse(entry.trim()));
      }
    }
    checkRules(rules);
    return List.copyOf(rules);
  }

  /**
   * Maps a row of this rule's table to its cache key.
   *
   * @param row column name to value
   * @return the key
   * @throws KeyMappingException if the row lacks a template column, has a null or unusable value
   *     in one, or the result is not a valid key; the message names the table
   */
  public CacheKey cacheKey(Map<String, ?> row) {
    return keyTemplate.render(row, table);
  }

  /** @return the schema name, e.g. {@code public} */
  public String schemaName() {
    return table.substring(0, table.indexOf('.'));
  }

  /** @return the table name without its schema, e.g. {@code products} */
  public String tableName() {
    return table.substring(table.indexOf('.') + 1);
  }

  /**
   * @return every column the rule reads, each once and in this order: key columns, the version
   *     column, the payload columns; a new modifiable set on each call
   */
  public Set<String> columns() {
    Set<String> columns = new LinkedHashSet<>(keyTemplate.columns());
    if (versionColumn != null) {
      columns.add(versionColumn);
    }
    columns.addAll(payloadColumns);
    return columns;
  }

  /**
   * @return the text form {@code schema.table=keyTemplate} for a plain invalidation rule (as
   *     {@link #parse(String)} makes it), and the settings that differ from it in brackets
   *     otherwise, e.g. {@code [truncate ignore]}
   */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(table).append('=').append(keyTemplate);
    List<String> extra = new ArrayList<>();
    if (operation == Operation.UPSERT) {
      extra.add("upsert " + codec + " ttl " + ttl.toMillis() + " ms schema " + schema);
      if (fieldNames != FieldNames.COLUMN) {
        extra.add("fields " + fieldNames.name().toLowerCase(java.util.Locale.ROOT));
      }
      if (!payloadColumns.isEmpty()) {
        extra.add("columns " + payloadColumns);
      }
    }
    if (versionSource == VersionSource.COLUMN) {
      extra.add("version column " + versionColumn);
    }
    if (onTruncate != TruncateMode.INVALIDATE_NAMESPACE) {
      extra.add("truncate " + onTruncate.name().toLowerCase(java.util.Locale.ROOT));
    }
    if (!extra.isEmpty()) {
      sb.append(" [").append(String.join(", ", extra)).append(']');
    }
    return sb.toString();
  }

  static void checkRules(List<TableRule> rules) {
    if (rules.isEmpty()) {
      throw new IllegalArgumentException("at least one table rule is needed but there were none");
    }
    Set<String> tables = new HashSet<>();
    for (TableRule rule : rules) {
      Objects.requireNonNull(rule, "rule");
      if (!tables.add(rule.table())) {
        throw new IllegalArgumentException("each table may have one rule but " + rule.table()
            + " has more than one");
      }
    }
  }

  private static String quote(String v) {
    return v == null ? "null" : "'" + v + "'";
  }

  /**
   * Builds a {@link TableRule}, starting from an invalidation versioned by commit LSN whose
   * truncates invalidate the namespace; the combination is validated by {@link #build()}. Not
   * thread-safe.
   */
  public static final class Builder {
    private final String table;
    private final KeyTemplate keyTemplate;
    private Operation operation = Operation.INVALIDATE;
    private VersionSource versionSource = VersionSource.COMMIT_LSN;
    private String versionColumn;
    private String codec;
    private Duration ttl = Duration.ZERO;
    private int schema = 1;
    private FieldNames fieldNames = FieldNames.COLUMN;
    private List<String> payloadColumns = List.of();
    private TruncateMode onTruncate = TruncateMode.INVALIDATE_NAMESPACE;

    private Builder(String table, KeyTemplate keyTemplate) {
      this.table = table;
      this.keyTemplate = keyTemplate;
    }

    /**
     * Makes the rule an upsert. The values are checked by {@link #build()}.
     *
     * @param codec a codec name from {@link Codecs}
     * @param ttl the Redis TTL of the written value, at least 1 ms
     * @return this builder
     */
    public Builder upsert(String codec, Duration ttl) {
      this.operation = Operation.UPSERT;
      this.codec = codec;
      this.ttl = ttl;
      return this;
    }

    /**
     * Versions events by the named row-version column instead of the commit LSN.
     *
     * @param column the column, an integer that every update raises; checked by {@link #build()}
     *     and, against the table, when {@link CdcIngest} starts
     * @return this builder
     */
    public Builder versionColumn(String column) {
      this.versionSource = VersionSource.COLUMN;
      this.versionColumn = column;
      return this;
    }

    /**
     * Sets the payload's schema version; upserts only.
     *
     * @param schema at least 1; default 1
     * @return this builder
     * @see TableRule#schema()
     */
    public Builder schema(int schema) {
      this.schema = schema;
      return this;
    }

    /**
     * Sets how column names become payload field names; upserts only.
     *
     * @param fieldNames not null; default {@link FieldNames#COLUMN}
     * @return this builder
     * @see TableRule#fieldNames()
     */
    public Builder fieldNames(FieldNames fieldNames) {
      this.fieldNames = fieldNames;
      return this;
    }

    /**
     * Sets the payload's columns; upserts only.
     *
     * @param columns distinct column names in payload order, or empty (the default) for every
     *     column; not null
     * @return this builder
     * @see TableRule#payloadColumns()
     */
    public Builder payloadColumns(List<String> columns) {
      this.payloadColumns = columns;
      return this;
    }

    /**
     * @param mode what a truncate does; default {@link TruncateMode#INVALIDATE_NAMESPACE}
     * @return this builder
     * @see TableRule#onTruncate()
     */
    public Builder onTruncate(TruncateMode mode) {
      this.onTruncate = mode;
      return this;
    }

    /**
     * Builds the rule; the builder can be used again afterwards.
     *
     * @return the validated rule
     * @throws IllegalArgumentException if the table or a setting is invalid, or the settings do
     *     not fit together
     * @throws NullPointerException if a setting that must not be null was set to null
     */
    public TableRule build() {
      return new TableRule(table, keyTemplate, operation, versionSource, versionColumn, codec, ttl,
          schema, fieldNames, payloadColumns, onTruncate);
    }
  }
}
