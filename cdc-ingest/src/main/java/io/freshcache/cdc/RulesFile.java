package io.freshcache.cdc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads table rules from a YAML file ({@code CDC_RULES_FILE}). Every setting of a
 * {@link TableRule} can be written there; unknown settings are errors, so a misspelt one does not
 * silently fall back to a default.
 *
 * <pre>{@code
 * ttlPolicies:                 # optional: names for TTLs in ms, beside profiles, catalog, sessions
 *   orders: 600000
 * tables:
 *   public.products:
 *     key: catalog:product:{id}     # placeholders = the primary-key columns
 *     operation: upsert             # invalidate (default) | upsert
 *     codec: json                   # upsert only: json (default) | cbor | smile | msgpack
 *     ttl: catalog                  # upsert only, required: a policy name or milliseconds
 *     schema: 1                     # upsert only: payload schema version, default 1
 *     fieldNames: camelCase         # upsert only: column (default) | camelCase
 *     columns: [id, name, price_cents, version]   # upsert only: payload columns, default all
 *     version: column:version       # lsn (default) | column:<name>
 *     truncate: ignore              # invalidate_namespace (default) | ignore
 *   public.order_lines:
 *     key: shop:line:{order_id}:{line_no}
 * }</pre>
 *
 * <p>The built-in TTL policies are {@link TableRule#TTL_POLICIES} (the seed's {@code profiles}
 * 300 s, {@code catalog} 3600 s, {@code sessions} 900 s); {@code ttlPolicies} adds to or replaces
 * them. {@code truncate} says what a {@code TRUNCATE} of the table does
 * ({@link TableRule.TruncateMode}): by default an {@code invalidate_namespace} event that drops
 * every cached key {@code service:entity:...} of the rule's template; {@code ignore} sends nothing
 * (logged and counted). Loading is pure: whether the tables and columns exist is checked when
 * {@link CdcIngest} starts. Only the YAML core schema is read (no tags, no objects).
 */
public final class RulesFile {
  private static final Set<String> TOP = Set.of("tables", "ttlPolicies");
  private static final Set<String> RULE = Set.of("key", "operation", "codec", "ttl", "schema",
      "fieldNames", "columns", "version", "truncate");
  private static final String DEFAULT_CODEC = "json";

  private RulesFile() {}

  /**
   * Reads and validates a rules file.
   *
   * @param file the YAML file
   * @return the rules in file order, at least one
   * @throws IllegalArgumentException if the file cannot be read or a rule is invalid; the message
   *     starts with {@code rules file <path>:} and names the table and setting
   */
  public static List<TableRule> load(Path file) {
    Objects.requireNonNull(file, "file");
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("rules file " + file + ": cannot be read ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
    }
    return parse(text, file.toString());
  }

  /**
   * Parses rules from YAML text.
   *
   * @param yaml the text
   * @param source names the text in messages, e.g. its path
   * @return the rules in order, at least one
   * @throws IllegalArgumentException naming {@code source}, the table and the setting
   */
  public static List<TableRule> parse(String yaml, String source) {
    Objects.requireNonNull(yaml, "yaml");
    String where = "rules file " + source + ": ";
    Object root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(10);
      root = new Yaml(new SafeConstructor(options)).load(yaml);
    } catch (YAMLException e) {
      throw new IllegalArgumentException(where + "is not valid YAML: "
          + e.getMessage().replaceAll("\\s+", " ").trim(), e);
    }
    if (!(root instanceof Map<?, ?> top)) {
      throw new IllegalArgumentException(where + "must be a mapping with 'tables' but was "
          + describe(root));
    }
    checkKeys(top, TOP, where, "");
    Map<String, Duration> policies = new HashMap<>(TableRule.TTL_POLICIES);
    Object ttlPolicies = top.get("ttlPolicies");
    if (ttlPolicies != null) {
      for (Map.Entry<?, ?> e : mapping(ttlPolicies, where + "ttlPolicies").entrySet()) {
        String name = String.valueOf(e.getKey());
        policies.put(name, millis(e.getValue(), where + "ttlPolicies." + name));
      }
    }
    Object tables = top.get("tables");
    if (tables == null) {
      throw new IllegalArgumentException(where + "has no 'tables' mapping");
    }
    List<TableRule> rules = new ArrayList<>();
    for (Map.Entry<?, ?> e : mapping(tables, where + "tables").entrySet()) {
      String table = String.valueOf(e.getKey());
      String at = where + "tables." + table;
      try {
        rules.add(rule(table, mapping(e.getValue(), at), policies, at));
      } catch (IllegalArgumentException ex) {
        throw ex.getMessage().startsWith(where) ? ex
            : new IllegalArgumentException(at + ": " + ex.getMessage(), ex);
      }
    }
    try {
      TableRule.checkRules(rules);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException(where + ex.getMessage(), ex);
    }
    return List.copyOf(rules);
  }

  private static TableRule rule(String table, Map<?, ?> m, Map<String, Duration> policies,
      String at) {
    checkKeys(m, RULE, at, ".");
    String key = string(m, "key", at, null);
    if (key == null) {
      throw new IllegalArgumentException(at + ": 'key' (the key template) must be set");
    }
    TableRule.Builder b;
    try {
      b = TableRule.builder(table, key);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ".key: " + e.getMessage(), e);
    }
    String operation = string(m, "operation", at, "invalidate").toLowerCase(Locale.ROOT);
    switch (operation) {
      case "invalidate" -> {
        for (String upsertOnly : List.of("codec", "ttl", "schema", "fieldNames", "columns")) {
          if (m.containsKey(upsertOnly)) {
            throw new IllegalArgumentException(at + "." + upsertOnly
                + ": applies to 'operation: upsert' only, but the operation is invalidate");
          }
        }
      }
      case "upsert" -> {
        Object ttl = m.get("ttl");
        if (ttl == null) {
          throw new IllegalArgumentException(at + ".ttl: must be set for an upsert (a policy"
              + " name of " + policies.keySet() + " or milliseconds)");
        }
        b.upsert(string(m, "codec", at, DEFAULT_CODEC), ttl(ttl, policies, at + ".ttl"));
        if (m.containsKey("schema")) {
          b.schema((int) number(m.get("schema"), at + ".schema", 1, Integer.MAX_VALUE));
        }
        String fields = string(m, "fieldNames", at, "column");
        b.fieldNames(switch (fields) {
          case "column" -> TableRule.FieldNames.COLUMN;
          case "camelCase" -> TableRule.FieldNames.CAMEL_CASE;
          default -> throw new IllegalArgumentException(at + ".fieldNames: must be column or"
              + " camelCase but was '" + fields + "'");
        });
        if (m.containsKey("columns")) {
          b.payloadColumns(columns(m.get("columns"), at + ".columns"));
        }
      }
      default -> throw new IllegalArgumentException(at + ".operation: must be invalidate or"
          + " upsert but was '" + operation + "'");
    }
    String version = string(m, "version", at, "lsn");
    if (version.startsWith("column:")) {
      b.versionColumn(version.substring("column:".length()).trim());
    } else if (!version.equals("lsn")) {
      throw new IllegalArgumentException(at + ".version: must be lsn or column:<name> but was '"
          + version + "'");
    }
    String truncate = string(m, "truncate", at, "invalidate_namespace");
    b.onTruncate(switch (truncate) {
      case "ignore" -> TableRule.TruncateMode.IGNORE;
      case "invalidate_namespace" -> TableRule.TruncateMode.INVALIDATE_NAMESPACE;
      default -> throw new IllegalArgumentException(at + ".truncate: must be invalidate_namespace"
          + " or ignore but was '" + truncate + "'");
    });
    return b.build();
  }

  private static Duration ttl(Object v, Map<String, Duration> policies, String at) {
    if (v instanceof String name && !name.isBlank() && !Character.isDigit(name.charAt(0))) {
      Duration d = policies.get(name);
      if (d == null) {
        throw new IllegalArgumentException(at + ": unknown TTL policy '" + name + "'; known: "
            + new java.util.TreeSet<>(policies.keySet()) + " (or give milliseconds)");
      }
      return d;
    }
    return millis(v, at);
  }

  private static Duration millis(Object v, String at) {
    return Duration.ofMillis(number(v, at, 1, Long.MAX_VALUE));
  }

  private static long number(Object v, String at, long min, long max) {
    long n;
    if (v instanceof Integer || v instanceof Long) {
      n = ((Number) v).longValue();
    } else if (v instanceof String s) {
      try {
        n = Long.parseLong(s.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(at + ": must be an integer but was '" + s + "'", e);
      }
    } else {
      throw new IllegalArgumentException(at + ": must be an integer but was " + describe(v));
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(at + ": must be in " + min + ".." + max + " but was " + n);
    }
    return n;
  }

  private static List<String> columns(Object v, String at) {
    if (!(v instanceof List<?> list)) {
      throw new IllegalArgumentException(at + ": must be a list of column names but was "
          + describe(v));
    }
    List<String> columns = new ArrayList<>();
    for (Object c : list) {
      if (!(c instanceof String s)) {
        throw new IllegalArgumentException(at + ": must be a list of column names but had "
            + describe(c));
      }
      columns.add(s);
    }
    return columns;
  }

  private static String string(Map<?, ?> m, String key, String at, String defaultValue) {
    Object v = m.get(key);
    if (v == null) {
      return defaultValue;
    }
    if (v instanceof String s) {
      return s.trim();
    }
    throw new IllegalArgumentException(at + "." + key + ": must be text but was " + describe(v));
  }

  private static Map<?, ?> mapping(Object v, String at) {
    if (v instanceof Map<?, ?> m) {
      return m;
    }
    throw new IllegalArgumentException(at + ": must be a mapping but was " + describe(v));
  }

  private static void checkKeys(Map<?, ?> m, Set<String> allowed, String at, String sep) {
    for (Object k : m.keySet()) {
      if (!allowed.contains(String.valueOf(k))) {
        throw new IllegalArgumentException(at + sep + k + ": unknown setting; known: "
            + new java.util.TreeSet<>(allowed));
      }
    }
  }

  private static String describe(Object v) {
    if (v == null) {
      return "empty";
    }
    String type = v instanceof Map ? "a mapping" : v instanceof List ? "a list"
        : v instanceof String ? "text" : "a " + v.getClass().getSimpleName().toLowerCase(Locale.ROOT);
    String text = String.valueOf(v);
    return type + " '" + (text.length() > 60 ? text.substring(0, 57) + "..." : text) + "'";
  }
}
