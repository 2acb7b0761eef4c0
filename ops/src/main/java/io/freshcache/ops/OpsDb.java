package io.freshcache.ops;

import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.config.EnvSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The one place where the ops tools open the database: PostgreSQL over JDBC from the variables the
 * services read ({@code JDBC_URL}, else {@code PG_HOST}, {@code PG_PORT}, {@code PG_DB}; and
 * {@code PG_USER}, {@code PG_PASSWORD} or {@code PG_PASSWORD_FILE}), with the services' TLS
 * settings: the driver properties of cache-writer's sink ({@code WRITER_SINK_JDBC_SSLMODE},
 * {@code ..._SSLROOTCERT}, {@code ..._SSLCERT}, {@code ..._SSLKEY}, {@code ..._SSLPASSWORD} and any
 * other {@code WRITER_SINK_JDBC_*}), else cdc-ingest's ({@code CDC_DEBEZIUM_DATABASE_SSLMODE},
 * {@code ..._SSLROOTCERT}...), so a deployment that secured either service's connection reaches
 * the database the same way. Not thread-safe: one connection.
 */
public final class OpsDb implements AutoCloseable {
  /** cdc-ingest's TLS properties, {@code database.<name>} in its Debezium settings. */
  private static final List<String> CDC_TLS = List.of("sslmode", "sslrootcert", "sslcert", "sslkey",
      "sslpassword", "sslfactory");

  /**
   * Where the database is. The password never appears in {@link #toString()}.
   *
   * @param jdbcUrl a {@code jdbc:postgresql:} URL
   * @param user the user
   * @param password the password, or {@code null}
   * @param properties further JDBC driver properties (TLS), name to value
   */
  public record Settings(String jdbcUrl, String user, String password, Map<String, String> properties) {
    /**
     * @param env the environment
     * @return the settings; defaults are the local stack's
     * @throws IllegalArgumentException if {@code JDBC_URL} is not a PostgreSQL URL or a
     *     {@code _FILE} secret cannot be read
     */
    public static Settings fromEnv(Map<String, String> env) {
      EnvSettings e = EnvSettings.of(env);
      String url = e.string("JDBC_URL").orElse(null);
      if (url == null) {
        url = "jdbc:postgresql://" + e.string("PG_HOST").orElse("127.0.0.1") + ':'
            + e.string("PG_PORT").orElse("5433") + '/' + e.string("PG_DB").orElse("shop");
      }
      if (!url.startsWith("jdbc:postgresql:")) {
        throw new IllegalArgumentException("JDBC_URL must be a jdbc:postgresql: URL but was '"
            + EnvSettings.maskedUrl(url) + "'");
      }
      Map<String, String> props = new TreeMap<>();
      for (String p : CDC_TLS) {
        e.secret(EnvSettings.variableOf("CDC_DEBEZIUM_DATABASE_", p)).ifPresent(v -> props.put(p, v));
      }
      props.putAll(e.properties("WRITER_SINK_JDBC_", Set.of("WRITER_SINK_JDBC_URL")));
      String password = e.secret("PG_PASSWORD").orElse(e.isSet("PG_PASSWORD") ? null : "freshcache");
      return new Settings(url, e.string("PG_USER").orElse("freshcache"), password, Map.copyOf(props));
    }

    @Override
    public String toString() {
      return "database " + EnvSettings.maskedUrl(jdbcUrl) + " as " + user
          + (properties.isEmpty() ? "" : " " + EnvSettings.masked(properties));
    }
  }

  /** The database could not be reached; the message names the URL. */
  public static final class UnreachableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Settings settings;
  private final Connection connection;

  private OpsDb(Settings settings, Connection connection) {
    this.settings = settings;
    this.connection = connection;
  }

  /**
   * @param settings where
   * @return an open connection (auto-commit); close it
   * @throws UnreachableException if the database cannot be reached or refuses the login
   */
  public static OpsDb connect(Settings settings) {
    try {
      java.util.Properties p = new java.util.Properties();
      p.setProperty("user", settings.user());
      if (settings.password() != null) {
        p.setProperty("password", settings.password());
      }
      settings.properties().forEach(p::setProperty);
      p.setProperty("connectTimeout", "5");
      p.setProperty("socketTimeout", "60");
      p.setProperty("ApplicationName", "freshcache-ops");
      return new OpsDb(settings, DriverManager.getConnection(settings.jdbcUrl(), p));
    } catch (SQLException e) {
      throw new UnreachableException("cannot reach the database at " + EnvSettings.maskedUrl(settings.jdbcUrl())
          + " (JDBC_URL/PG_*): " + e.getMessage(), e);
    }
  }

  /** @return the JDBC connection */
  public Connection connection() {
    return connection;
  }

  /** @return the settings */
  public Settings settings() {
    return settings;
  }

  /**
   * Reads one row of a rule's table by its key columns.
   *
   * @param rule the rule
   * @param keyColumns column to value as text (from {@link KeyRules#keyColumns})
   * @return the row (column to value), or empty if there is none
   * @throws SQLException if the query fails
   */
  public Optional<Map<String, Object>> row(TableRule rule, Map<String, String> keyColumns) throws SQLException {
    List<String> cols = List.copyOf(keyColumns.keySet());
    String where = cols.stream().map(c -> quote(c) + " = ?").collect(Collectors.joining(" AND "));
    try (PreparedStatement ps = connection.prepareStatement("SELECT * FROM " + table(rule) + " WHERE " + where)) {
      for (int i = 0; i < cols.size(); i++) {
        ps.setObject(i + 1, keyColumns.get(cols.get(i)), Types.OTHER); // typed by the server
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(toMap(rs)) : Optional.empty();
      }
    }
  }

  /**
   * @param rs a result set on a row
   * @return the row as column label to value, in column order
   * @throws SQLException if a value cannot be read
   */
  public static Map<String, Object> toMap(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    Map<String, Object> row = new LinkedHashMap<>();
    for (int i = 1; i <= md.getColumnCount(); i++) {
      row.put(md.getColumnLabel(i), rs.getObject(i));
    }
    return row;
  }

  /** @return {@code "schema"."table"} of the rule, quoted as PostgreSQL spells it */
  public static String table(TableRule rule) {
    return quote(rule.schemaName()) + '.' + quote(rule.tableName());
  }

  /** @return the identifier in double quotes (rules allow only {@code [A-Za-z_][A-Za-z0-9_$]*}) */
  public static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      // closing: nothing to do
    }
  }
}
