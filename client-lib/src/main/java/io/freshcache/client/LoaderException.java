package io.freshcache.client;

import io.freshcache.protocol.CacheException;

/**
 * Carries a checked exception thrown by a {@link Loader}; {@link #getCause()} is the original.
 * Unchecked loader exceptions reach the caller unwrapped.
 */
public class LoaderException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param key the logical key being loaded
   * @param cause the loader's checked exception
   */
  public LoaderException(String key, Exception cause) {
    super("client", key, "loader failed: " + cause, cause);
  }
}
