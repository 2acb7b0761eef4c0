package io.freshcache.bench.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keeps the rate sweep alive: two rates, a few seconds each, after a short JVM warm-up, on the
 * real stack. Asserts that every rate produced joined figures, never how fast.
 */
class CdcRateSweepIT {
  @Test
  void sweepsEveryRateWithFigures() throws Exception {
    List<CdcRateSweep.Row> rows = CdcRateSweep.sweep("--rates", "20,200", "--min-seconds", "2", "--max-seconds", "2",
        "--jvm-warmup-seconds", "2", "--profile", "current:");

    assertThat(rows).extracting(CdcRateSweep.Row::rate).containsExactly(20, 200);
    assertThat(rows).allSatisfy(r -> {
      assertThat(r.r()[0]).as("changes committed while recording").isPositive();
      assertThat(r.r()[1]).as("changes joined with their notice").isPositive();
      assertThat(r.r()[3]).as("e2e p99").isPositive();
    });
  }
}
