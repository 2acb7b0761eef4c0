package io.freshcache.cdc;

import io.freshcache.protocol.RetriableCacheException;

/**
 * Kafka did not acknowledge a cache event within the producer's delivery timeout. The change's
 * source offset was not committed, so the engine stops and the change is captured again after a
 * restart (at-least-once; applying an event twice is harmless). Retriable: restarting cdc-ingest is
 * the retry.
 */
public class EventDeliveryException extends RetriableCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the cache key of the event that failed
   * @param message what failed
   * @param cause the producer's exception
   */
  public EventDeliveryException(String key, String message, Throwable cause) {
    super("cdc", key, message, cause);
  }
}
