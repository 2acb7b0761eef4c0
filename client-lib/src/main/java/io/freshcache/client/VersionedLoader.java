package io.freshcache.client;

/**
 * Loads a value and the data version it was read at; see {@link Versioned}.
 *
 * @param <T> the value type
 */
@FunctionalInterface
public interface VersionedLoader<T> {
  /**
   * @return the value and its version; a {@code null} value means it does not exist
   * @throws Exception as {@link Loader#load()}
   */
  Versioned<T> load() throws Exception;
}
