package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.CdcStartupException;
import io.freshcache.cdc.TableRule;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks one {@link TableRule} against the database's catalog before the engine starts, so a rule
 * that cannot work fails at once with a message naming the table and column, rather than at the
 * first change (or never, for a table that is seldom written).
 *
 * <p>Why the key template must name exactly the primary key: fewer columns would give two rows
 * one key (an update of one would serve the other's value), more columns (or others) would let an
 * update change a row's key, which no per-key event can follow safely, and deletes under
 * {@code REPLICA IDENTITY DEFAULT} carry only the primary key. A table without a primary key may
 * use its replica identity index instead.
 *
 * <p>Why a row-version rule needs {@code REPLICA IDENTITY FULL}: a delete carries the before-image,
 * which otherwise holds only the key; without the row version the delete could not be fenced.
 */
final class RuleCheck {
  private static final Logger LOG = LoggerFactory.getLogger(RuleCheck.class);
  private static final Set<String> INTEGER_TYPES = Set.of("smallint", "integer", "bigint");

  private RuleCheck() {}

  static void check(Connection conn, CdcIngestConfig c, TableRule rule) throws SQLException {
    String table = rule.table();
    long oid;
    String replicaIdentity;
    try (PreparedStatement ps = conn.prepareStatement("SELECT c.oid, c.relreplident FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
      ps.setString(1, rule.schemaName());
      ps.setString(2, rule.tableName());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw fail(c, rule, "table " + table + " does not exist in " + c.databaseAddress()
              + "; create it or fix the rules");
        }
        oid = rs.getLong(1);
        replicaIdentity = rs.getString(2);
      }
    }
    Map<String, String> columns = columns(conn, oid);
    for (String column : rule.columns()) {
      if (!columns.containsKey(column)) {
        throw fail(c, rule, "table " + table + " has no column '" + column + "' (columns: "
            + columns.keySet() + ")");
      }
    }
    List<String> key = keyColumns(conn, oid, "indisprimary");
    String keyName = "primary key";
    if (key.isEmpty()) {
      key = keyColumns(conn, oid, "indisreplident");
      keyName = "replica identity index";
    }
    if (key.isEmpty()) {
      throw fail(c, rule, "table " + table + " has no primary key (nor replica identity index);"
          + " the key template must name the primary-key columns");
    }
    if (!new HashSet<>(key).equals(rule.keyTemplate().columns())) {
      throw fail(c, rule, "key template '" + rule.keyTemplate() + "' uses columns "
          + rule.keyTemplate().columns() + " but the " + keyName + " of " + table + " is " + key
          + "; a template must name exactly the key columns");
    }
    if (rule.versionSource() == TableRule.VersionSource.COLUMN) {
      String type = columns.get(rule.versionColumn());
      if (!INTEGER_TYPES.contains(type)) {
        throw fail(c, rule, "version column '" + rule.versionColumn() + "' of " + table + " is "
            + type + " but must be smallint, integer or bigint");
      }
      if (!"f".equals(replicaIdentity)) {
        throw fail(c, rule, "version column '" + rule.versionColumn() + "' needs " + table
            + " to log whole rows on delete; run ALTER TABLE " + table + " REPLICA IDENTITY FULL");
      }
    }
    if ("n".equals(replicaIdentity)) {
      LOG.warn("Table {} has REPLICA IDENTITY NOTHING: its updates and deletes cannot be"
          + " captured; use REPLICA IDENTITY DEFAULT or FULL", table);
    }
  }

  private static Map<String, String> columns(Connection conn, long oid) throws SQLException {
    Map<String, String> columns = new LinkedHashMap<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT attname, format_type(atttypid,"
        + " NULL) FROM pg_attribute WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped"
        + " ORDER BY attnum")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          columns.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return columns;
  }

  private static List<String> keyColumns(Connection conn, long oid, String kind)
      throws SQLException {
    List<String> key = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT a.attname FROM pg_index i"
        + " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        + " WHERE i.indrelid = ? AND i." + kind + " ORDER BY a.attnum")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          key.add(rs.getString(1));
        }
      }
    }
    return key;
  }

  private static CdcStartupException fail(CdcIngestConfig c, TableRule rule, String problem) {
    return new CdcStartupException("rule for " + rule.table() + " ('" + rule + "') does not fit "
        + c.databaseAddress() + ": " + problem, null);
  }
}
