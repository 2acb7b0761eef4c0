package io.freshcache.client;

/**
 * A loaded value and the data version it was read at (a row version column or a commit LSN).
 * Returning the version lets a fill be rejected when a newer change is already known — needed
 * whenever the loader may read a lagging replica.
 *
 * @param value the value, or {@code null} if the row does not exist
 * @param version the data version, or {@link #NO_VERSION} if unknown
 * @param <T> the value type
 */
public record Versioned<T>(T value, long version) {
  /** The version of a value whose loader does not know it. */
  public static final long NO_VERSION = -1L;

  /**
   * Checks the version.
   *
   * @param value the value, or {@code null} if the row does not exist
   * @param version the data version, at least 0, or {@link #NO_VERSION} if unknown; the cache
   *     compares versions up to {@link io.freshcache.protocol.CacheScripts#MAX_VERSION} exactly
   * @throws IllegalArgumentException if {@code version} is below {@link #NO_VERSION}
   */
  public Versioned {
    if (version < NO_VERSION) {
      throw new IllegalArgumentException("version must be >= 0, or -1 for none, but was " + version);
    }
  }

  /**
   * @param <T> the value type
   * @param value the value, or {@code null} if the row does not exist
   * @return {@code value} with no known version ({@link #NO_VERSION})
   */
  public static <T> Versioned<T> unversioned(T value) {
    return new Versioned<>(value, NO_VERSION);
  }

  /**
   * @param <T> the value type
   * @param value the value, or {@code null} if the row does not exist
   * @param version the data version it was read at, at least 0, or {@link #NO_VERSION}
   * @return {@code value} read at {@code version}
   * @throws IllegalArgumentException if {@code version} is below {@link #NO_VERSION}
   */
  public static <T> Versioned<T> of(T value, long version) {
    return new Versioned<>(value, version);
  }
}
