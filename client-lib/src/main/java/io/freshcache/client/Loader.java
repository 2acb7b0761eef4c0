package io.freshcache.client;

/**
 * Loads a value from the source of truth on a cache miss.
 *
 * @param <T> the value type
 */
@FunctionalInterface
public interface Loader<T> {
  /**
   * @return the value, or {@code null} if it does not exist (not cached)
   * @throws Exception any failure; it reaches the caller of {@code getOrLoad} unchanged if
   *     unchecked, wrapped in {@link LoaderException} if checked, and is never cached
   */
  T load() throws Exception;
}
