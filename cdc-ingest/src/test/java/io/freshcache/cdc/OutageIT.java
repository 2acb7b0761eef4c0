package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL and the Kafka broker restarted (by {@code dev/stack down}/{@code up}) in the middle
 * of a stream of updates: the capture recovers by itself and every change reaches the topic.
 * The stream (300 changes/s) runs until the component is back and has captured a second more, so
 * the outage always falls inside it; the test checks from the stream's side that it did (for
 * PostgreSQL the updates failed while it was down, for Kafka changes were committed while it was
 * down). Each test brings the stack back up in {@code finally}, whatever happened.
 */
class OutageIT {
  private static final int RATE = 300;
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
      try (ChangeStream stream = new ChangeStream(table, RATE)) {
        tail.await(200, r -> true, Duration.ofSeconds(60));
        long retriesBefore = stream.retries();
        long t0 = System.nanoTime();
        long atDown;
        try {
          stack("down", component);
          atDown = stream.committed();
          assertThat(stream.isRunning()).as("the change stream runs when %s is down", component).isTrue();
          // the outage must hit the running stream: proven from the stream's side
          if (component.equals("postgres")) {
            await("the change stream's updates failing against the stopped PostgreSQL")
                .atMost(Duration.ofSeconds(30)).until(() -> stream.retries() > retriesBefore);
          } else {
            await("changes committed while Kafka is down").atMost(Duration.ofSeconds(30))
                .until(() -> stream.committed() >= atDown + RATE / 3);
          }
        } finally {
          stack("up", component);
        }
        long downMs = (System.nanoTime() - t0) / 1_000_000;
        long atUp = stream.committed();
        await("changes committed after " + component + " is back").atMost(Duration.ofSeconds(60))
            .until(() -> stream.committed() >= atUp + RATE);
        long last = stream.stop(Duration.ofSeconds(30));

        ChangeStream.Seqs seen = new ChangeStream.Seqs();
        try {
          tail.awaitUntil(Duration.ofSeconds(120), r -> seen.update(r).hasAll(last));
        } catch (ConditionTimeoutException e) {
          // the assertion below names the missing changes
        }
        System.out.printf("%s restart (%d ms down and up) during a stream of %d changes (%d committed"
                + " before it was down, %d before it was up): %d events, %d distinct, %d duplicates,"
                + " %d writer retries; engine running: %s%n", component, downMs, last, atDown, atUp,
            seen.records(), seen.distinct(), seen.records() - seen.distinct(),
            stream.retries() - retriesBefore, ingest.isRunning());
        assertThat(seen.missing(last, 20)).as("changes of 1..%d missing from the topic (first 20)", last)
            .isEmpty();
        assertThat(ingest.isRunning()).as("the capture recovered by itself").isTrue();
      }
    }
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
