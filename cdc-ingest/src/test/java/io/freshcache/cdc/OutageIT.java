package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL and the Kafka broker restarted (by {@code dev/stack down}/{@code up}) in the middle
 * of a stream of updates: the capture recovers by itself and every change reaches the topic.
 * Each test brings the stack back up in {@code finally}, whatever happened. Bounded: 1,200
 * changes at 300/s per test.
 */
class OutageIT {
  private static final long TOTAL = 1_200;
  private static final Path STACK = Path.of("..", "dev", "stack").toAbsolutePath().normalize();

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
    stack("up");
    fixture.drop();
  }

  @Test
  void aPostgresRestartDuringAStreamLosesNothing() throws Exception {
    streamThrough("postgres");
  }

  @Test
  void aKafkaRestartDuringAStreamLosesNothing() throws Exception {
    streamThrough("kafka");
  }

  private void streamThrough(String component) throws Exception {
    CdcIngestConfig config = StackSettings.config(suffix, dir)
        .offsetStorage(CdcIngestConfig.OffsetStorage.KAFKA).topic(topic)
        .rules(RulesFile.parse("tables:\n  " + table + ":\n    key: cdcit:seq:{id}\n"
            + "    operation: upsert\n    ttl: 60000\n", "test")).build();
    try (EventTail tail = new EventTail(topic); CdcIngest ingest = CdcIngest.start(config)) {
      assertThat(ingest.awaitStreaming(Duration.ofSeconds(60))).isTrue();
      try (ChangeStream stream = new ChangeStream(table, TOTAL, 300)) {
        tail.await(200, r -> true, Duration.ofSeconds(60));
        long t0 = System.nanoTime();
        try {
          stack("down", component);
          stack("up", component);
        } finally {
          stack("up", component);
        }
        long downMs = (System.nanoTime() - t0) / 1_000_000;
        stream.join(Duration.ofSeconds(120));
        List<EventTail.Received> all = tail.awaitUntil(Duration.ofSeconds(120), r -> seqs(r).size() >= TOTAL);
        Set<Long> seen = seqs(all);
        System.out.printf("%s restart (%d ms down and up) during %d changes: %d events, %d distinct,"
                + " %d duplicates, %d writer retries; engine running: %s%n", component, downMs, TOTAL,
            all.size(), seen.size(), all.size() - seen.size(), stream.retries(), ingest.isRunning());
        assertThat(seen).as("every change on the topic at least once").hasSize((int) TOTAL);
        assertThat(ingest.isRunning()).as("the capture recovered by itself").isTrue();
      }
    }
  }

  private static Set<Long> seqs(List<EventTail.Received> records) {
    return records.stream().map(EventTail.Received::event).filter(e -> e.payload() != null)
        .map(e -> ((Number) io.freshcache.protocol.Codecs.json().decode(e.payload(), Map.class).get("seq")).longValue())
        .filter(s -> s > 0).collect(Collectors.toCollection(TreeSet::new));
  }

  private static void stack(String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of(STACK.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("dev/stack " + String.join(" ", args) + " did not finish in 180 s");
    }
    if (p.exitValue() != 0) {
      throw new AssertionError("dev/stack " + String.join(" ", args) + " exited " + p.exitValue());
    }
  }
}
