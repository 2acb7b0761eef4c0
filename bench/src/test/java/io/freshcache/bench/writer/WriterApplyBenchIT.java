package io.freshcache.bench.writer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Keeps the writer apply benchmark alive: a seconds-long smoke run on the real stack, no timing asserted. */
class WriterApplyBenchIT {

  @Test
  void theSmokeRunAppliesEveryEventInEveryPhaseAndReports() throws Exception {
    WriterApplyBench.Options o = WriterApplyBench.Options.smoke();
    List<WriterApplyBench.Phase> phases = WriterApplyBench.run(o);
    assertThat(phases).extracting(WriterApplyBench.Phase::name).containsExactly("writer", "writer-noacks", "raw");
    assertThat(phases).allSatisfy(p -> {
      assertThat(p.events()).isEqualTo(o.events());
      assertThat(p.eventsPerSecond()).isPositive();
      assertThat(p.p99Ms()).isPositive();
    });
    String report = WriterApplyBench.report(o, phases);
    assertThat(report).contains("| writer |", "| writer-noacks |", "| raw |", "writer / writer-noacks events/s");
  }
}
