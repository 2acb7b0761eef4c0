package io.freshcache.client;

import java.time.Duration;

/** Client settings the integration tests share. */
final class ItClients {
  /** A command timeout and slow-call threshold no stall of a loaded test machine reaches. */
  static final Duration PATIENT = Duration.ofSeconds(5);

  private ItClients() {}

  /**
   * {@code config} with a long command timeout and slow-call threshold, for tests that count
   * loader calls, fills or refreshes exactly: with the production defaults (500 ms, and a
   * slow-call threshold from the measured baseline) a machine that stalls for a moment sends a
   * read to the loader or opens the breaker, which is right for an application and would look
   * like a bug to such a test. The degradation path itself is tested by DegradationIT with short
   * timeouts.
   */
  static CacheClientConfig patient(CacheClientConfig config) {
    return config.toBuilder().commandTimeout(PATIENT).slowCallThreshold(PATIENT).build();
  }
}
