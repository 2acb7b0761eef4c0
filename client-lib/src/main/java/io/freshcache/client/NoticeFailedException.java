package io.freshcache.client;

/**
 * A change was applied in Redis, but the near-cache notice that tells other clients to drop the
 * key could not be published (the notice channel's node failed or timed out, twice). Redis is
 * already coherent; near caches of other clients may serve the old value until their entry's
 * near-cache TTL ends, or until a later notice of the key's channel arrives.
 *
 * <p>Retriable: the invalidation is idempotent, so calling it again (or publishing it with
 * {@link CacheClient#publishInvalidate}, which makes cache-writer send the notice) closes the gap.
 */
public class NoticeFailedException extends CacheUnavailableException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the logical key concerned
   * @param message what failed
   * @param cause the Redis client's exception
   */
  public NoticeFailedException(String key, String message, Throwable cause) {
    super(key, message, cause);
  }
}
