package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LoaderBudgetTest {

  /** Regression: permits per 100 ms were rate / 10 rounded down, so 15/s allowed only 10/s. */
  @ParameterizedTest
  @ValueSource(ints = {1, 3, 9, 10, 15, 50, 199, 1000, 12_345, 1_000_000})
  void grantsExactlyTheConfiguredRateInPeriodsOfAtMostAboutATenthOfASecond(int rate) {
    RateLimiterConfig c = LoaderBudget.config(rate, Duration.ofMillis(50));
    double perSecond = c.getLimitForPeriod() * 1e9 / c.getLimitRefreshPeriod().toNanos();
    assertThat(perSecond).isCloseTo(rate, org.assertj.core.data.Percentage.withPercentage(0.01));
    if (rate >= 10) {
      assertThat(c.getLimitRefreshPeriod()).isLessThanOrEqualTo(Duration.ofMillis(100));
    }
    assertThat(c.getTimeoutDuration()).isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void aRateBelowOneIsRefused() {
    assertThatThrownBy(() -> LoaderBudget.config(0, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }
}
