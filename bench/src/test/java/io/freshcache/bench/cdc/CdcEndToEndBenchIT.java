package io.freshcache.bench.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keeps the CDC end-to-end benchmark alive: its smoke mode (seconds, small numbers, no idle
 * measurement) on the real stack. Asserts that every phase produced figures, never how fast.
 */
class CdcEndToEndBenchIT {
  @Test
  void smokeModeMeasuresEveryPhase() throws Exception {
    List<CdcEndToEndBench.RunResult> results =
        new CdcEndToEndBench(CdcEndToEndBench.Options.parse("--smoke")).run();

    assertThat(results).singleElement().satisfies(r -> {
      assertThat(r.sent()).isPositive();
      assertThat(r.matched()).as("changes seen end to end").isPositive();
      assertThat(r.noopRate()).isPositive();
      assertThat(r.cdcRate()).isPositive();
      assertThat(r.e2eRate()).isPositive();
      assertThat(r.aloneRate()).isPositive();
    });
  }
}
