package io.freshcache.protocol;

/**
 * Root of every exception freshcache throws. Unchecked: cache failures are operational, and the
 * client library never lets one fail a read (it falls back to the loader instead).
 *
 * <p>Each exception names the component that raised it ({@code client}, {@code writer},
 * {@code cdc}, {@code protocol}) and, where one applies, the logical cache key.
 */
public class CacheException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The part that raised the exception, e.g. {@code writer}. */
  private final String component;
  /** The logical cache key concerned, or {@code null}. */
  private final String key;

  /**
   * @param component the part that raised it, e.g. {@code "writer"}
   * @param key the logical cache key concerned, or {@code null}
   * @param message what went wrong, naming the bad value where there is one
   * @param cause the underlying failure, or {@code null}
   */
  public CacheException(String component, String key, String message, Throwable cause) {
    super(format(component, key, message), cause);
    this.component = component;
    this.key = key;
  }

  /**
   * Same as {@link #CacheException(String, String, String, Throwable)} without a cause.
   *
   * @param component the part that raised it, e.g. {@code "writer"}
   * @param key the logical cache key concerned, or {@code null}
   * @param message what went wrong, naming the bad value where there is one
   */
  public CacheException(String component, String key, String message) {
    this(component, key, message, null);
  }

  /** @return the part that raised this exception */
  public String component() {
    return component;
  }

  /** @return the logical cache key concerned, or {@code null} when none applies */
  public String key() {
    return key;
  }

  private static String format(String component, String key, String message) {
    return key == null ? "[" + component + "] " + message : "[" + component + "] " + key + ": " + message;
  }
}
