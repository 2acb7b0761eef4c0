package io.freshcache.client;

import io.freshcache.protocol.RetriableCacheException;

/**
 * Redis could not be reached or did not answer in time for an operation that must reach it
 * (an invalidation). Reads never throw it: they fall back to the loader.
 */
public class CacheUnavailableException extends RetriableCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the logical key concerned
   * @param message what failed
   * @param cause the Redis client's exception
   */
  public CacheUnavailableException(String key, String message, Throwable cause) {
    super("client", key, message, cause);
  }
}
