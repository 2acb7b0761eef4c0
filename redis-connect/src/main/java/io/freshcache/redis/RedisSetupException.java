package io.freshcache.redis;

/**
 * Redis answered, but not as the configuration expects, so waiting or retrying cannot help: the
 * wrong kind of Redis (a cluster config pointed at a standalone server or the reverse), refused
 * credentials, a TLS handshake that failed (untrusted certificate, wrong host name, TLS against a
 * plain port), or a missing ACL permission. The message names the server and what was found.
 */
public class RedisSetupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message names the server, what was found and which setting to check
   * @param cause the underlying failure, or {@code null}
   */
  public RedisSetupException(String message, Throwable cause) {
    super(message, cause);
  }
}
