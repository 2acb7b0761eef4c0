package io.freshcache.protocol;

/** Bytes read from Redis that are not a valid envelope. Readers treat the entry as a miss. */
public class CorruptEnvelopeException extends CacheException {
  private static final long serialVersionUID = 1L;

  /** @param message what is wrong with the bytes */
  public CorruptEnvelopeException(String message) {
    super("protocol", null, message);
  }
}
