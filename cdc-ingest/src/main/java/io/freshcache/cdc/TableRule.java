package io.freshcache.cdc;

import io.freshcache.protocol.CacheKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How the changes of one table become cache events: which table, the key template, the operation
 * and where the event's version comes from.
 *
 * <p>The text form, used by {@code CDC_RULES}, is {@code schema.table=keyTemplate}, e.g.
 * {@code public.products=catalog:product:{id}}; several rules are joined with {@code ;}. Every
 * rule of this form invalidates ({@link Operation#INVALIDATE}) with the commit LSN as version
 * ({@link VersionSource#COMMIT_LSN}).
 *
 * @param table the captured table, {@code schema.table} as PostgreSQL spells it, e.g.
 *     {@code public.products}
 * @param keyTemplate how a row becomes its cache key
 * @param operation what an insert or update does to the key; a delete is always
 *     {@link io.freshcache.protocol.CacheEvent.Op#DELETE}
 * @param versionSource where the event's version comes from
 */
public record TableRule(String table, KeyTemplate keyTemplate, Operation operation,
    VersionSource versionSource) {

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*");

  /** What an insert or update of a row does to its cache key. */
  public enum Operation {
    /** Drop the cached value; the next read loads the row again. */
    INVALIDATE
  }

  /** Where an event's version comes from. */
  public enum VersionSource {
    /**
     * The LSN of the change in the write-ahead log ({@code source.lsn}). Two changes of one row
     * are ordered by row locks, so for one row the LSN grows in commit order; the right choice for
     * entities that only CDC writes to the cache.
     */
    COMMIT_LSN
  }

  /**
   * Validates the rule.
   *
   * @throws IllegalArgumentException if {@code table} is not {@code schema.table} of plain
   *     identifiers
   * @throws NullPointerException if any component is null
   */
  public TableRule {
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(keyTemplate, "keyTemplate");
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(versionSource, "versionSource");
    int dot = table.indexOf('.');
    if (dot < 0 || !IDENTIFIER.matcher(table.substring(0, dot)).matches()
        || !IDENTIFIER.matcher(table.substring(dot + 1)).matches()) {
      throw new IllegalArgumentException("table must be schema.table (e.g. public.products) but was '"
          + table + "'");
    }
  }

  /**
   * An invalidation rule versioned by commit LSN.
   *
   * @param table {@code schema.table}
   * @param keyTemplate e.g. {@code catalog:product:{id}}
   * @return the rule
   * @throws IllegalArgumentException if the table or template is invalid
   */
  public static TableRule invalidate(String table, String keyTemplate) {
    return new TableRule(table, KeyTemplate.parse(keyTemplate), Operation.INVALIDATE,
        VersionSource.COMMIT_LSN);
  }

  /**
   * Parses one rule in the text form {@code schema.table=keyTemplate}; blanks around either side
   * are ignored.
   *
   * @return an invalidation rule versioned by commit LSN
   * @throws IllegalArgumentException if the text is not of that form or either side is invalid;
   *     the message quotes the text
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
   * @return the rules in order, at least one
   * @throws IllegalArgumentException if a rule is invalid, a table appears twice, or there is no
   *     rule
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

  /** @return the text form, {@code schema.table=keyTemplate} */
  @Override
  public String toString() {
    return table + '=' + keyTemplate;
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
}
