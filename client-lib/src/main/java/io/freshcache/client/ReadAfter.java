package io.freshcache.client;

/**
 * A read-your-writes token: the version of the application's own database write, which a read
 * must not go behind. After a write, pass it to
 * {@link CacheClient#getOrLoad(String, Class, CachePolicy, ReadAfter, VersionedLoader)}: the
 * read is served from Redis only if the cached value's data version is at least {@link #version()}
 * (or, for a value stored without a version, if the key's fence is), otherwise it loads, and
 * stores what it loaded at the loaded version through the fenced apply, so a newer value already
 * in Redis is never replaced.
 *
 * <p>Which version: the entity's version source (see the CDC rules). For entities versioned by a
 * row-version column, the version the write set ({@code UPDATE ... SET version = version + 1
 * RETURNING version}); for entities versioned by the commit LSN, the LSN after the commit
 * ({@code SELECT pg_current_wal_lsn()} on the same connection, after {@code COMMIT}), through
 * {@link #lsn(String)}.
 *
 * @param version the smallest data version the read may return
 */
public record ReadAfter(long version) {
  /**
   * @param version the smallest data version the read may return, not negative
   * @throws IllegalArgumentException if it is negative
   */
  public ReadAfter {
    if (version < 0) {
      throw new IllegalArgumentException("ReadAfter version must be >= 0 but was " + version);
    }
  }

  /**
   * @param version the row version the application's write set
   * @return the token
   * @throws IllegalArgumentException if it is negative
   */
  public static ReadAfter version(long version) {
    return new ReadAfter(version);
  }

  /**
   * @param lsn a PostgreSQL LSN as {@code pg_current_wal_lsn()} prints it, e.g. {@code 0/16B3748}
   * @return the token for entities versioned by the commit LSN
   * @throws IllegalArgumentException if {@code lsn} is not {@code hex/hex}
   */
  public static ReadAfter lsn(String lsn) {
    int slash = lsn == null ? -1 : lsn.indexOf('/');
    try {
      if (slash <= 0) {
        throw new NumberFormatException();
      }
      long hi = Long.parseLong(lsn.substring(0, slash), 16);
      long lo = Long.parseLong(lsn.substring(slash + 1), 16);
      if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
        throw new NumberFormatException();
      }
      return new ReadAfter((hi << 32) | lo);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("ReadAfter.lsn needs an LSN such as 0/16B3748 but was '" + lsn + "'");
    }
  }
}
