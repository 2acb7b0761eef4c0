package io.freshcache.bench.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The short schedule of the fault-injection coherence suite (each fault once, a TRUNCATE, the
 * drain and the check) on the real stack, with cdc-ingest and cache-writer as separate
 * processes from their packaged jars ({@code mvn verify} packages them before this module's
 * integration tests). The report goes to {@code target/fault-suite/}. It restarts stack
 * components and brings the whole stack back up at the end, healthy, for the tests after it.
 */
class FaultSuiteIT {
  @Test
  void afterFaultsAndDrainEveryCachedEntryEqualsItsRowAndNoReadWasStaleBeyondTheLag() throws Exception {
    Path repo = Path.of("..").toAbsolutePath().normalize();
    FaultSuite.Options o = FaultSuite.Options.shortSchedule(repo, Path.of("target", "fault-suite").toAbsolutePath());
    FaultSuite suite = new FaultSuite(o);
    FaultSuite.Result r = suite.run();
    String md = FaultReport.markdown(r, "FaultSuiteIT (mvn verify)") + suite.checkerReport();
    Path report = o.workDir().resolve("short-" + r.run() + ".md");
    Files.writeString(report, md);
    System.out.println(md);

    assertThat(r.stackHealthyAtEnd()).as("the stack is up and healthy for the next tests; %s", r.problems()).isTrue();
    assertThat(r.faults()).extracting(FaultSuite.Injected::kind).as("every fault injected once")
        .containsExactlyInAnyOrder(FaultKind.values());
    assertThat(r.staleAfterDrain()).as("stale entries after the drain (Redis, near caches); report %s", report)
        .isZero();
    assertThat(r.staleBeyondWindow()).as("stale reads beyond the lag window; report %s", report).isZero();
    assertThat(suite.checkerConfirmed()).as("violations the consistency checker confirmed; report %s", report).isZero();
    assertThat(suite.nearConfirmed()).as("violations the near-cache samplers confirmed; report %s", report).isZero();
    assertThat(r.drained()).as("the pipeline drained: every change applied, consumer lag 0; report %s", report).isTrue();
  }
}
