package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JitteredTtlTest {
  @Test
  void extremesOfTheUniformSourceGiveTheBounds() {
    Duration ttl = Duration.ofSeconds(300);
    assertThat(new JitteredTtl(() -> 0.0).millis(ttl, 0.2)).isEqualTo(240_000);
    assertThat(new JitteredTtl(() -> 0.5).millis(ttl, 0.2)).isEqualTo(300_000);
    assertThat(new JitteredTtl(() -> Math.nextDown(1.0)).millis(ttl, 0.2)).isEqualTo(360_000);
  }

  @Test
  void jitteredTtlsStayInBoundsAndSpreadOverTheRange() {
    SplittableRandom r = new SplittableRandom(42);
    JitteredTtl j = new JitteredTtl(r::nextDouble);
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < 10_000; i++) {
      long ms = j.millis(Duration.ofSeconds(3600), 0.2);
      assertThat(ms).isBetween(2_880_000L, 4_320_000L);
      min = Math.min(min, ms);
      max = Math.max(max, ms);
    }
    assertThat(min).isLessThan(2_900_000L);
    assertThat(max).isGreaterThan(4_300_000L);
  }

  @Test
  void zeroJitterIsExact() {
    assertThat(new JitteredTtl(() -> 0.0).millis(Duration.ofMillis(1234), 0)).isEqualTo(1234);
  }

  @Test
  void neverBelowOneMillisecond() {
    assertThat(new JitteredTtl(() -> 0.0).millis(Duration.ofMillis(1), 0.9)).isEqualTo(1);
  }
}
