package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
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
    long total = 2_000;
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
        try (ChangeStream stream = new ChangeStream(table, total, 400)) {
          tail.await(300, r -> true, Duration.ofSeconds(60));
          long killAt = System.nanoTime();
          first.process.destroyForcibly(); // SIGKILL
          assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
          long atKill = stream.committed();

          second = ServiceProcess.start(env, logs.resolve("kill-" + suffix + "-second.log"));
          awaitUp(second);
          System.out.printf("first service up after %d ms, killed %d ms later, second up %d ms after"
              + " the kill%n", (up - t0) / 1_000_000, (killAt - up) / 1_000_000,
              (System.nanoTime() - killAt) / 1_000_000);
          stream.join(Duration.ofSeconds(120));
          List<EventTail.Received> all = tail.awaitUntil(Duration.ofSeconds(60),
              r -> seqs(r).size() >= total);
          Set<Long> seen = seqs(all);
          long duplicates = all.size() - seen.size();
          System.out.printf("kill -9 at seq %d of %d: %d events, %d distinct changes, %d duplicates"
              + " (repeats after the restart), %d writer retries%n", atKill, total, all.size(),
              seen.size(), duplicates, stream.retries());
          assertThat(seen).as("every change on the topic at least once").hasSize((int) total)
              .contains(1L, total);
        }

        String metrics = second.get("/metrics").body();
        assertThat(metrics)
            .contains("freshcache_cdc_events_produced_total{connector=\"pg-it-" + suffix + "\",op=\"upsert\",table=\"" + table + "\"}")
            .contains("freshcache_cdc_events_per_second{connector=\"pg-it-" + suffix + "\",table=\"" + table + "\"}")
            .contains("freshcache_cdc_commit_to_produce_lag_seconds_bucket{")
            .contains("freshcache_cdc_slot_lag_bytes{")
            .contains("freshcache_cdc_engine_up{connector=\"pg-it-" + suffix + "\"} 1.0");

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

  /** The distinct {@code seq} values in the upserts' JSON payloads. */
  private static Set<Long> seqs(List<EventTail.Received> records) {
    return records.stream().map(EventTail.Received::event)
        .filter(e -> e.payload() != null)
        .map(e -> ((Number) io.freshcache.protocol.Codecs.json().decode(e.payload(), Map.class).get("seq")).longValue())
        .filter(s -> s > 0)
        .collect(Collectors.toCollection(TreeSet::new));
  }
}
