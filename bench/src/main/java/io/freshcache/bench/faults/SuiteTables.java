package io.freshcache.bench.faults;

import io.freshcache.protocol.CacheKey;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/**
 * The suite's two tables, named after the run so nothing else on the stack sees them: {@code
 * fsuite_inv_<run>} under a CDC invalidate rule and {@code fsuite_ups_<run>} under an upsert rule,
 * both versioned by their {@code version} column and {@code REPLICA IDENTITY FULL}. Keys are
 * numbered 0..2×rows-1: table {@code t}, id {@code i} (from 1) is key {@code t×rows + i-1}.
 */
final class SuiteTables {
  static final int INV = 0;
  static final int UPS = 1;

  final String run;
  final int rows;
  final String jdbc;
  final String user;
  final String password;

  SuiteTables(String run, int rows, String jdbc, String user, String password) {
    this.run = run;
    this.rows = rows;
    this.jdbc = jdbc;
    this.user = user;
    this.password = password;
  }

  String table(int t) {
    return "public.fsuite_" + (t == INV ? "inv" : "ups") + "_" + run;
  }

  String entity(int t) {
    return (t == INV ? "inv" : "ups") + run;
  }

  int keys() {
    return 2 * rows;
  }

  int tableOf(int key) {
    return key / rows;
  }

  long idOf(int key) {
    return key % rows + 1;
  }

  int key(int t, long id) {
    return t * rows + (int) (id - 1);
  }

  String cacheKey(int key) {
    return "fsuite:" + entity(tableOf(key)) + ":" + idOf(key);
  }

  String namespaceKey(int t) {
    return CacheKey.namespace("fsuite", entity(t)).toString();
  }

  /** The key whose row the oversize fault grows: the last id of the upsert table; no SQL writer owns it. */
  int oversizeKey() {
    return key(UPS, rows);
  }

  /** The cdc-ingest rules file for both tables. */
  String rulesYaml() {
    return "tables:\n"
        + "  " + table(INV) + ":\n"
        + "    key: fsuite:" + entity(INV) + ":{id}\n"
        + "    version: column:version\n"
        + "    truncate: invalidate_namespace\n"
        + "  " + table(UPS) + ":\n"
        + "    key: fsuite:" + entity(UPS) + ":{id}\n"
        + "    operation: upsert\n"
        + "    ttl: catalog\n"
        + "    schema: 1\n"
        + "    fieldNames: camelCase\n"
        + "    version: column:version\n"
        + "    truncate: invalidate_namespace\n";
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbc, user, password);
  }

  void create() throws SQLException {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (int t : new int[] {INV, UPS}) {
        s.execute("CREATE TABLE " + table(t) + " (id bigint PRIMARY KEY, name text NOT NULL,"
            + " stamp bigint NOT NULL, version bigint NOT NULL, blob text NOT NULL DEFAULT '')");
        s.execute("ALTER TABLE " + table(t) + " REPLICA IDENTITY FULL");
      }
    }
  }

  void drop() throws SQLException {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (int t : new int[] {INV, UPS}) {
        s.execute("DROP TABLE IF EXISTS " + table(t));
      }
    }
  }

  /** @return the row of {@code key}, or null */
  FaultRow load(Connection c, int key) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT id, name, stamp, version, blob FROM " + table(tableOf(key)) + " WHERE id = ?")) {
      ps.setLong(1, idOf(key));
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new FaultRow(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getLong(4),
            rs.getString(5)) : null;
      }
    }
  }

  /** @return every row of both tables, by key */
  Map<Integer, FaultRow> snapshot() throws SQLException {
    Map<Integer, FaultRow> rowsByKey = new HashMap<>();
    try (Connection c = connect(); Statement s = c.createStatement()) {
      for (int t : new int[] {INV, UPS}) {
        try (ResultSet rs = s.executeQuery("SELECT id, name, stamp, version, blob FROM " + table(t))) {
          while (rs.next()) {
            rowsByKey.put(key(t, rs.getLong(1)), new FaultRow(rs.getLong(1), rs.getString(2),
                rs.getLong(3), rs.getLong(4), rs.getString(5)));
          }
        }
      }
    }
    return rowsByKey;
  }
}
