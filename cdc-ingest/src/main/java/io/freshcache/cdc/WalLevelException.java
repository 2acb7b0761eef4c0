package io.freshcache.cdc;

/**
 * The database's {@code wal_level} is not {@code logical}, so PostgreSQL cannot decode its
 * write-ahead log into row changes and Debezium cannot create a replication slot. The fix is a
 * server setting and a restart: {@code ALTER SYSTEM SET wal_level = logical}, then restart
 * PostgreSQL.
 */
public class WalLevelException extends CdcStartupException {
  private static final long serialVersionUID = 1L;

  /** The server's {@code wal_level} when it was checked, e.g. {@code replica}. */
  private final String walLevel;

  /**
   * @param walLevel the server's current {@code wal_level}, e.g. {@code replica}
   * @param database where it was read, {@code host:port/db}
   */
  public WalLevelException(String walLevel, String database) {
    super("PostgreSQL at " + database + " has wal_level=" + walLevel + " but it must be logical"
        + " for change data capture; run ALTER SYSTEM SET wal_level = logical (or set it in"
        + " postgresql.conf) and restart PostgreSQL", null);
    this.walLevel = walLevel;
  }

  /** @return the server's current {@code wal_level}, e.g. {@code replica} */
  public String walLevel() {
    return walLevel;
  }
}
