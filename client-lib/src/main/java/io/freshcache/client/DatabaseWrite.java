package io.freshcache.client;

/** The database side of {@link CacheClient#writeThrough}: writes the row, committed on return. */
@FunctionalInterface
public interface DatabaseWrite {
  /**
   * @throws Exception if the write failed; the cache is then left as it is
   */
  void write() throws Exception;
}
