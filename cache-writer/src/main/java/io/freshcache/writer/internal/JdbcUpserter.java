package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.Codecs;
import io.freshcache.writer.SinkRule;
import io.freshcache.writer.WriteBehindConfig;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Writes upserts to PostgreSQL as version-guarded {@code INSERT ... ON CONFLICT DO UPDATE}
 * statements, one JDBC batch per statement shape, all rows of a flush in one transaction.
 *
 * <p>Why the version guard makes retries and replays safe: the update only happens
 * {@code WHERE t.version < EXCLUDED.version}, so a row written twice, or an older upsert arriving
 * after a newer one, leaves the newer row. A flush that failed half-way is rolled back and simply
 * run again.
 *
 * <p>Values are bound as untyped parameters ({@link Types#OTHER}, text form), so PostgreSQL
 * converts each to its column's type exactly as it would a literal: numbers, booleans, text,
 * timestamps in ISO form, JSON objects into {@code json}/{@code jsonb}. Column names in the SQL
 * are checked against the table's columns read at {@link #validate()} and against the
 * identifier pattern, never taken from the payload unchecked.
 *
 * <p>Failures are sorted in two: {@link #isTransient transient} ones (connection lost, server
 * shutting down, serialization failure) are retried by the caller; any other failure of a batch
 * is retried row by row so that only the rows the database refuses are rejected.
 *
 * <p>Not thread-safe: one upserter per sink thread.
 */
public final class JdbcUpserter implements AutoCloseable {
  private final WriteBehindConfig config;
  private final Map<String, Set<String>> columns = new HashMap<>();
  private final Map<String, String> sql = new HashMap<>();
  private Connection connection;

  /**
   * One row to write.
   *
   * @param rule the entity's rule
   * @param key the key column's value (the logical key's identifier)
   * @param version the event's version
   * @param values payload fields by column name, text form or {@code null}
   * @param origin what the row came from, handed back on rejection
   */
  public record Row(SinkRule rule, String key, long version, Map<String, String> values, Object origin) {}

  /** @param config the sink settings */
  public JdbcUpserter(WriteBehindConfig config) {
    this.config = config;
  }

  /**
   * Checks every rule against the database: the table exists, the key column has a single-column
   * unique index (needed by {@code ON CONFLICT}), the version column exists.
   *
   * @throws IllegalArgumentException naming {@code WRITER_SINK_RULES}, the rule and the problem
   * @throws SQLException if the database cannot be reached
   */
  public void validate() throws SQLException {
    Connection c = connection();
    for (SinkRule r : config.rules()) {
      Set<String> cols = new HashSet<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0"
              + " AND NOT a.attisdropped")) {
        ps.setString(1, r.table());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            cols.add(rs.getString(1));
          }
        }
      }
      if (cols.isEmpty()) {
        throw bad(r, "table " + r.table() + " does not exist");
      }
      if (!cols.contains(r.versionColumn())) {
        throw bad(r, "table " + r.table() + " has no version column '" + r.versionColumn() + "'");
      }
      if (!cols.contains(r.keyColumn())) {
        throw bad(r, "table " + r.table() + " has no key column '" + r.keyColumn() + "'");
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
              + " AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(?) AND i.indisunique"
              + " AND i.indnkeyatts = 1 AND i.indpred IS NULL AND a.attname = ?")) {
        ps.setString(1, r.table());
        ps.setString(2, r.keyColumn());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw bad(r, "key column '" + r.keyColumn() + "' of " + r.table()
                + " needs a primary key or unique index of its own for ON CONFLICT");
          }
        }
      }
      columns.put(r.entity(), cols);
    }
    c.commit();
  }

  /**
   * Turns an upsert into a row of its rule's table. Payload fields named like the key or
   * version column are left out: the logical key and the event's version win.
   *
   * @param e an upsert event
   * @param rule the rule of the event's entity, already {@link #validate() validated}
   * @param origin what the row came from, kept in {@link Row#origin()}
   * @return the row
   * @throws IllegalArgumentException if the payload is not an object whose fields are columns,
   *     or the codec is unknown
   * @throws io.freshcache.protocol.CodecException if the payload cannot be decoded
   */
  @SuppressWarnings("unchecked")
  public Row toRow(CacheEvent e, SinkRule rule, Object origin) {
    Object decoded = Codecs.byName(e.codec()).decode(e.payload(), Object.class);
    if (!(decoded instanceof Map)) {
      throw new IllegalArgumentException("payload of " + e.key() + " must be an object for table "
          + rule.table() + " but was " + (decoded == null ? "null" : decoded.getClass().getSimpleName()));
    }
    Set<String> cols = columns.get(rule.entity());
    Map<String, String> values = new LinkedHashMap<>();
    for (Map.Entry<String, Object> f : ((Map<String, Object>) decoded).entrySet()) {
      String col = f.getKey().toLowerCase(Locale.ROOT);
      if (col.equals(rule.keyColumn()) || col.equals(rule.versionColumn())) {
        continue; // the logical key and the event's version are authoritative
      }
      if (!SinkRule.isColumnName(col) || cols == null || !cols.contains(col)) {
        throw new IllegalArgumentException("payload field '" + f.getKey() + "' of " + e.key()
            + " has no column in " + rule.table());
      }
      values.put(col, text(f.getValue()));
    }
    return new Row(rule, e.key().identifier(), e.version(), values, origin);
  }

  /**
   * Writes {@code rows} in one transaction.
   *
   * @param rows the rows; each is written only if its version is newer than the stored row's
   * @throws SQLException if the batch failed; the transaction is rolled back
   */
  public void write(List<Row> rows) throws SQLException {
    Connection c = connection();
    try {
      Map<String, List<Row>> byStatement = new LinkedHashMap<>();
      for (Row r : rows) {
        byStatement.computeIfAbsent(statementOf(r), s -> new ArrayList<>()).add(r);
      }
      for (Map.Entry<String, List<Row>> e : byStatement.entrySet()) {
        try (PreparedStatement ps = c.prepareStatement(e.getKey())) {
          for (Row r : e.getValue()) {
            bind(ps, r);
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
      c.commit();
    } catch (SQLException ex) {
      rollbackQuietly(ex);
      throw ex;
    }
  }

  /**
   * Writes each row in its own transaction and hands the ones the database refuses to
   * {@code rejected}.
   *
   * @param rows the rows to write
   * @param rejected called with each row the database refuses and the reason
   * @return rows written
   * @throws SQLException on the first transient failure
   */
  public int writeEach(List<Row> rows, BiConsumer<Row, SQLException> rejected)
      throws SQLException {
    int written = 0;
    for (Row r : rows) {
      try {
        write(List.of(r));
        written++;
      } catch (SQLException e) {
        if (isTransient(e)) {
          throw e;
        }
        rejected.accept(r, e);
      }
    }
    return written;
  }

  /**
   * @param e a failure of this upserter
   * @return whether {@code e} may succeed when tried again unchanged: a transient or recoverable
   *     exception, or SQL state classes 08, 40, 53, 57, {@code 55P03}, {@code 58030} or none, in
   *     {@code e} or its chain of next exceptions
   */
  public static boolean isTransient(SQLException e) {
    for (SQLException s = e; s != null; s = s.getNextException()) {
      if (s instanceof SQLTransientException || s instanceof SQLRecoverableException) {
        return true;
      }
      String state = s.getSQLState();
      if (state == null || state.startsWith("08") || state.startsWith("57") || state.startsWith("53")
          || state.startsWith("40") || state.equals("55P03") || state.equals("58030")) {
        return true;
      }
    }
    return false;
  }

  /**
   * A short description of {@code e} for logs and dead-letter headers: the SQL state and the
   * server's own message, without the statement text and its bound values that a batch failure
   * repeats (they may hold personal data).
   *
   * @param e the failure
   * @return {@code SQLState <state>: <message>}, where the message is the first line of the
   *     next exception's message (else {@code e}'s), cut at 200 characters
   */
  public static String describe(SQLException e) {
    SQLException cause = e.getNextException() != null ? e.getNextException() : e;
    String m = String.valueOf(cause.getMessage());
    int nl = m.indexOf('\n');
    if (nl >= 0) {
      m = m.substring(0, nl);
    }
    if (m.startsWith("Batch entry ")) {
      m = "batch entry failed";
    }
    if (m.length() > 200) {
      m = m.substring(0, 200) + "...";
    }
    return "SQLState " + cause.getSQLState() + ": " + m;
  }

  /** Drops the connection, e.g. after a transient failure; the next call reconnects. */
  public void disconnect() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // the connection is being thrown away
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    disconnect();
  }

  /** @return the SQL for rows shaped like {@code r} */
  String statementOf(Row r) {
    String shape = r.rule().entity() + "|" + String.join(",", r.values().keySet());
    return sql.computeIfAbsent(shape, s -> {
      SinkRule rule = r.rule();
      List<String> cols = new ArrayList<>(r.values().keySet());
      cols.add(rule.keyColumn());
      cols.add(rule.versionColumn());
      StringBuilder b = new StringBuilder("INSERT INTO ").append(rule.table()).append(" AS t (")
          .append(String.join(", ", cols)).append(") VALUES (");
      b.append("?, ".repeat(cols.size() - 1)).append("?) ON CONFLICT (").append(rule.keyColumn())
          .append(") DO UPDATE SET ");
      List<String> sets = new ArrayList<>();
      for (String col : cols) {
        if (!col.equals(rule.keyColumn())) {
          sets.add(col + " = EXCLUDED." + col);
        }
      }
      b.append(String.join(", ", sets)).append(" WHERE t.").append(rule.versionColumn())
          .append(" < EXCLUDED.").append(rule.versionColumn());
      return b.toString();
    });
  }

  private static void bind(PreparedStatement ps, Row r) throws SQLException {
    int i = 1;
    for (String v : r.values().values()) {
      if (v == null) {
        ps.setNull(i++, Types.OTHER);
      } else {
        ps.setObject(i++, v, Types.OTHER);
      }
    }
    ps.setObject(i++, r.key(), Types.OTHER);
    ps.setLong(i, r.version());
  }

  private static String text(Object v) {
    if (v == null) {
      return null;
    }
    if (v instanceof Map || v instanceof List) {
      return new String(Codecs.byName("json").encode(v), StandardCharsets.UTF_8);
    }
    if (v instanceof byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
    return v.toString();
  }

  private Connection connection() throws SQLException {
    if (connection == null || connection.isClosed()) {
      Properties p = new Properties();
      if (config.user() != null) {
        p.setProperty("user", config.user());
      }
      if (config.password() != null) {
        p.setProperty("password", config.password());
      }
      p.setProperty("connectTimeout", "3");
      p.setProperty("socketTimeout", "30");
      p.setProperty("tcpKeepAlive", "true");
      p.setProperty("ApplicationName", "freshcache-writer-sink");
      p.putAll(config.jdbcProperties()); // TLS and other driver settings (WRITER_SINK_JDBC_*)
      p.setProperty("reWriteBatchedInserts", "false");
      Connection c = DriverManager.getConnection(config.jdbcUrl(), p);
      c.setAutoCommit(false);
      connection = c;
    }
    return connection;
  }

  private void rollbackQuietly(SQLException cause) {
    try {
      if (connection != null && !connection.isClosed()) {
        connection.rollback();
      }
    } catch (SQLException e) {
      cause.addSuppressed(e);
      disconnect();
    }
  }

  private static IllegalArgumentException bad(SinkRule r, String problem) {
    return new IllegalArgumentException("WRITER_SINK_RULES: " + r + ": " + problem);
  }
}
