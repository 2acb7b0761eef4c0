package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The window labels and the nines formula that the checker and the near-cache sampler share. */
class ConsistencyWindowsTest {
  @Test
  void ninesFollowTheCheckersFormula() {
    assertThat(ConsistencyWindows.nines(0, 0)).isNaN();
    assertThat(ConsistencyWindows.nines(1000, 0)).isEqualTo(3.0);
    assertThat(ConsistencyWindows.nines(1000, 1)).isEqualTo(3.0);
    assertThat(ConsistencyWindows.nines(1000, 10)).isEqualTo(2.0);
    assertThat(ConsistencyWindows.nines(1_000_000, 10)).isCloseTo(5.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void labels() {
    assertThat(ConsistencyWindows.label(Duration.ofSeconds(10))).isEqualTo("10s");
    assertThat(ConsistencyWindows.label(Duration.ofMinutes(5))).isEqualTo("5m");
    assertThat(ConsistencyWindows.label(Duration.ofHours(1))).isEqualTo("1h");
    assertThat(ConsistencyWindows.label(Duration.ofMillis(250))).isEqualTo("250ms");
  }
}
