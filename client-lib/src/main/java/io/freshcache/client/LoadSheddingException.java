package io.freshcache.client;

import io.freshcache.protocol.CacheException;

/**
 * A read that had to bypass Redis (circuit breaker open, or Redis failing) found the loader's
 * budget ({@link CacheClientConfig#loaderRateLimit()}) used up and waited
 * {@link CacheClientConfig#loaderRateLimitWait()} in vain. The database is being protected: the
 * caller should fail this request fast (e.g. HTTP 503) rather than retry at once.
 */
public class LoadSheddingException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the logical key whose read was shed
   * @param message why
   */
  public LoadSheddingException(String key, String message) {
    super("client", key, message);
  }
}
