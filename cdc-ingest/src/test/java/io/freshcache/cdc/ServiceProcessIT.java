package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged service as a separate JVM started by {@code bin/cdc-ingest}: it refuses bad rules,
 * serves /health and /metrics, loses nothing when killed with SIGKILL mid-stream (offsets in
 * Kafka), and stops gracefully on SIGTERM. Events go to a topic of the test's own.
 */
class ServiceProcessIT {
  @TempDir Path dir;

  private StreamFixture fixture;
  private String suffix;
  private String topic;
  private String table;

  @BeforeEach
  void setUp() throws Exception {
    fixture = StreamFixture.create();
    suffix = fixture.suffix();
    topic = fixture.topic();
    table = fixture.table();
  }

  @AfterEach
  void tearDown() throws Exception {
    fixture.drop();
  }

  private Path rules(String yaml) throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  private Path seqRules() throws Exception {
    return rules("tables:\n  " + table + ":\n    key: cdcit:seq:{id}\n    operation: upsert\n"
        + "    ttl: 60000\n");
  }

  @Test
  void aBadRulesFileRefusesToStartWithAClearMessage() throws Exception {
    Path bad = rules("tables:\n  " + table + ":\n    key: cdcit:seq:{id}\n    operation: write\n");
    try (ServiceProcess p = ServiceProcess.start(ServiceProcess.env(suffix, topic, bad), dir.resolve("bad.log"))) {
      assertThat(p.awaitExit(Duration.ofSeconds(60))).as("exit code of an invalid configuration").isEqualTo(2);
      assertThat(p.log()).contains("Invalid configuration: CDC_RULES_FILE: rules file " + bad + ": tables."
          + table + ".operation: must be invalidate or upsert but was 'write'");
    }
  }

  @Test
  void rulesThatDoNotFitTheDatabaseRefuseToStart() throws Exception {
    Path wrong = rules("tables:\n  " + table + ":\n    key: cdcit:seq:{seq}\n");
    try (ServiceProcess p = ServiceProcess.start(ServiceProcess.env(suffix, topic, wrong), dir.resolve("wrong.log"))) {
      assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
      assertThat(p.log()).contains("Cannot start: [cdc] rule for " + table)
          .contains("uses columns [seq] but the primary key of " + table + " is [id]");
    }
  }

  @Test
  void aKilledServiceLosesNoChangeAndStopsGracefullyOnSigterm() throws Exception {
    Map<String, String> env = ServiceProcess.env(suffix, topic, seqRules());
    int rate = 400;
    try (EventTail tail = new EventTail(topic)) {
      Path logs = Files.createDirectories(Path.of("target", "it-logs"));
      long t0 = System.nanoTime();
      ServiceProcess first = ServiceProcess.start(env, logs.resolve("kill-" + suffix + "-first.log"));
      ServiceProcess second = null;
      try (first) {
        awaitUp(first);
        HttpResponse<String> health = first.get("/health");
        assertThat(health.body()).contains("\"status\":\"UP\"", "\"engine\":\"running\"", "\"slotActive\":true");

        long up = System.nanoTime();
        // the stream runs until the second service has captured a second of it, however long the
        // kill and the restart take, so the kill always falls inside it
        try (ChangeStream stream = new ChangeStream(table, rate)) {
          tail.await(300, r -> true, Duration.ofSeconds(60));
          long killAt = System.nanoTime();
          first.process.destroyForcibly(); // SIGKILL
          assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
          long atKill = stream.committed();
          assertThat(stream.isRunning()).as("the change stream runs on after the kill").isTrue();

          second = ServiceProcess.start(env, logs.resolve("kill-" + suffix + "-second.log"));
          awaitUp(second);
          long atSecondUp = stream.committed();
          System.out.printf("first service up after %d ms, killed %d ms later, second up %d ms after"
              + " the kill%n", (up - t0) / 1_000_000, (killAt - up) / 1_000_000,
              (System.nanoTime() - killAt) / 1_000_000);
          await("changes committed while the second service runs").atMost(Duration.ofSeconds(60))
              .until(() -> stream.committed() >= atSecondUp + rate);
          long last = stream.stop(Duration.ofSeconds(30));
          assertThat(atKill).as("the kill came mid-stream: changes committed before it, and while no"
              + " service ran (%d when the second was up, %d in all)", atSecondUp, last)
              .isPositive().isLessThan(atSecondUp);

          ChangeStream.Seqs seen = new ChangeStream.Seqs();
          try {
            tail.awaitUntil(Duration.ofSeconds(60), r -> seen.update(r).hasAll(last));
          } catch (ConditionTimeoutException e) {
            // the assertion below names the missing changes
          }
          System.out.printf("kill -9 at seq %d of %d: %d events, %d distinct changes, %d duplicates"
              + " (repeats after the restart), %d writer retries%n", atKill, last, seen.records(),
              seen.distinct(), seen.records() - seen.distinct(), stream.retries());
          assertThat(seen.missing(last, 20)).as("changes of 1..%d missing from the topic (first 20)", last)
              .isEmpty();
        }

        ServiceProcess s = second;
        String connector = "{connector=\"pg-it-" + suffix + "\"";
        // the events meters are updated once Kafka has acknowledged a batch, just after the tail may see it
        await("the second service's /metrics").atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          HttpResponse<String> metrics = s.get("/metrics");
          assertThat(metrics).as("GET /metrics answered").isNotNull();
          assertThat(metrics.body())
              .contains("freshcache_cdc_events_produced_total" + connector + ",op=\"upsert\",table=\"" + table + "\"}")
              .contains("freshcache_cdc_events_per_second" + connector + ",table=\"" + table + "\"}")
              .contains("freshcache_cdc_commit_to_produce_lag_seconds_bucket{")
              .contains("freshcache_cdc_slot_lag_bytes{")
              .contains("freshcache_cdc_engine_up" + connector + "} 1.0");
        });

        second.process.destroy(); // SIGTERM
        assertThat(second.awaitExit(Duration.ofSeconds(60))).as("exit code after SIGTERM").isEqualTo(143);
        assertThat(second.log()).contains("Shutdown requested: stopping").contains("Stopped");
      } finally {
        if (second != null) {
          second.close();
        }
      }
    }
  }

  private static void awaitUp(ServiceProcess p) {
    await("service /health UP").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
        .until(() -> {
          if (!p.process.isAlive()) {
            throw new AssertionError("cdc-ingest exited with " + p.process.exitValue() + ":\n" + p.log());
          }
          return p.healthStatus() == 200;
        });
  }
}
