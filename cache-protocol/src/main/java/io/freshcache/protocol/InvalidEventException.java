package io.freshcache.protocol;

/**
 * A Kafka record that is not a valid {@link CacheEvent}: undecodable JSON, an unknown
 * {@code op}, an invalid key, a missing version. Never retriable: cache-writer sends such records
 * to the dead-letter topic and goes on.
 */
public class InvalidEventException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the record's key if known, or {@code null}
   * @param message what is wrong
   * @param cause the parser's exception, or {@code null}
   */
  public InvalidEventException(String key, String message, Throwable cause) {
    super("protocol", key, message, cause);
  }
}
