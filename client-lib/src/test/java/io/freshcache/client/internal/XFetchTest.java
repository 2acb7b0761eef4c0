package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class XFetchTest {
  @Test
  void betaZeroNeverRefreshesEarly() {
    XFetch x = new XFetch(() -> 1e-12);
    assertThat(x.shouldRefresh(9_999, 10_000, 500, 0)).isFalse();
  }

  @Test
  void atOrAfterExpiryAlwaysRefreshes() {
    XFetch x = new XFetch(() -> 0.999);
    assertThat(x.shouldRefresh(10_000, 10_000, 1, 1)).isTrue();
  }

  @Test
  void theGapIsDeltaTimesBetaTimesMinusLnR() {
    // r = e^-1 gives a gap of exactly delta * beta
    XFetch x = new XFetch(() -> Math.exp(-1));
    assertThat(x.shouldRefresh(10_000 - 200, 10_000, 100, 2.0)).isTrue();
    assertThat(x.shouldRefresh(10_000 - 201, 10_000, 100, 2.0)).isFalse();
  }

  @Test
  void probabilityRisesAsExpiryNearsAndWithLoadTime() {
    SplittableRandom r = new SplittableRandom(1);
    XFetch x = new XFetch(r::nextDouble);
    int far = 0;
    int near = 0;
    int nearSlowLoad = 0;
    for (int i = 0; i < 20_000; i++) {
      far += x.shouldRefresh(0, 10_000, 100, 1) ? 1 : 0;
      near += x.shouldRefresh(9_900, 10_000, 100, 1) ? 1 : 0;
      nearSlowLoad += x.shouldRefresh(9_900, 10_000, 1_000, 1) ? 1 : 0;
    }
    // P(refresh) = exp(-(expiry - now) / (delta * beta))
    assertThat(far).isLessThan(5);
    assertThat(near / 20_000.0).isBetween(0.33, 0.40);
    assertThat(nearSlowLoad / 20_000.0).isBetween(0.88, 0.93);
  }
}
