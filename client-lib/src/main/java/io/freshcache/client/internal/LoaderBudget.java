package io.freshcache.client.internal;

import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;

/**
 * The rate limiter settings for the loader budget: {@code rate} loader calls per second, handed
 * out in periods of at most about 100 ms so that a burst cannot take a whole second's budget at
 * once.
 *
 * <p>resilience4j grants {@code limitForPeriod} permits per {@code limitRefreshPeriod}; with
 * {@code k = max(1, rate / 10)} permits every {@code k / rate} seconds the rate is exact
 * (to the nanosecond of the period): 15/s is 1 every 66.7 ms, 199/s is 19 every 95.5 ms. Rounding
 * the permits of a fixed 100 ms period instead would turn 15/s into 10/s.
 */
public final class LoaderBudget {
  private LoaderBudget() {}

  /**
   * @param rate loader calls per second, at least 1
   * @param wait how long a call may wait for a permit before it is shed
   * @return the limiter settings
   * @throws IllegalArgumentException if {@code rate} is below 1
   */
  public static RateLimiterConfig config(int rate, Duration wait) {
    if (rate < 1) {
      throw new IllegalArgumentException("loader rate limit must be at least 1 per second but was " + rate);
    }
    int permits = Math.max(1, rate / 10);
    long periodNanos = Math.max(1, Math.round(permits * 1e9 / rate));
    return RateLimiterConfig.custom()
        .limitRefreshPeriod(Duration.ofNanos(periodNanos))
        .limitForPeriod(permits)
        .timeoutDuration(wait)
        .build();
  }
}
