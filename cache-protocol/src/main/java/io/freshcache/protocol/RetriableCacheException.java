package io.freshcache.protocol;

/**
 * Marks a failure that may succeed when tried again unchanged: a Redis timeout, a failover in
 * progress, a broker that is not reachable yet. Callers retry these with backoff and never skip
 * the work; any other {@link CacheException} is permanent for the input that caused it.
 */
public class RetriableCacheException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * See {@link CacheException#CacheException(String, String, String, Throwable)}.
   *
   * @param component the part that raised it, e.g. {@code "client"}
   * @param key the logical cache key concerned, or {@code null}
   * @param message what went wrong
   * @param cause the underlying failure (a timeout, a connection error), or {@code null}
   */
  public RetriableCacheException(String component, String key, String message, Throwable cause) {
    super(component, key, message, cause);
  }
}
