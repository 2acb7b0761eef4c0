package io.freshcache.bench.faults;

import io.freshcache.cdc.RulesFile;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.checker.CheckerConfig;
import io.freshcache.ops.checker.ConsistencyChecker;
import io.freshcache.protocol.CacheEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The continuous consistency checker (ops module) beside the suite: it follows the run's topic with
 * a group of its own, checks each event's key {@link #DELAY} after its commit, re-checks apparent
 * violations at {@link #WINDOWS} and confirms what outlasts them against the run's tables. Its
 * figures are a section of the report: the faults show up as apparent violations at M, and after
 * the drain nothing should be confirmed. Informational: the suite's own verdict does not use it.
 */
final class CheckerProbe implements AutoCloseable {
  static final Duration DELAY = Duration.ofSeconds(2);
  static final List<Duration> WINDOWS = List.of(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(45));

  private final OpsRedis redis;
  private final ConsistencyChecker checker;
  private final long startMs;

  private CheckerProbe(OpsRedis redis, ConsistencyChecker checker, long startMs) {
    this.redis = redis;
    this.checker = checker;
    this.startMs = startMs;
  }

  /**
   * @param topic the run's changes topic
   * @param group the checker's group
   * @param tables the run's tables (their rules and database)
   * @param kafka Kafka's bootstrap servers
   * @param startMs the suite's start, epoch ms (violations are reported in seconds since)
   */
  static CheckerProbe start(String topic, String group, SuiteTables tables, String kafka, long startMs) {
    OpsRedis redis = OpsRedis.connect(OpsRedis.settings(System.getenv()));
    CheckerConfig config = new CheckerConfig(List.of(topic), group, DELAY, WINDOWS, 1.0, 20, 1_000_000,
        List.of(1), 0);
    ConsistencyChecker checker = ConsistencyChecker.start(config, redis, new OpsKafka(io.freshcache.protocol.config.KafkaClientConfig.builder().bootstrapServers(kafka).build()),
        new OpsDb.Settings(tables.jdbc, tables.user, tables.password, java.util.Map.of()),
        KeyRules.of(RulesFile.parse(tables.rulesYaml(), "fault-suite rules")), new SimpleMeterRegistry());
    return new CheckerProbe(redis, checker, startMs);
  }

  boolean awaitAssigned(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (checker.assignedPartitions() == 0 && System.nanoTime() < end) {
      Thread.sleep(100);
    }
    return checker.assignedPartitions() > 0;
  }

  /**
   * Waits until every check, re-check and confirmation of the events committed before now is
   * done (at most {@code max}); later events (cdc-ingest's freshness heartbeat, every 2 s) keep
   * arriving and are not waited for.
   */
  void settle(Duration max) throws InterruptedException {
    long cutoff = System.currentTimeMillis();
    long end = System.nanoTime() + max.toNanos();
    int quiet = 0;
    while (quiet < 2 && System.nanoTime() < end) { // twice: a check being run is out of the queue
      quiet = checker.pendingCommittedBefore(cutoff) == 0 ? quiet + 1 : 0;
      Thread.sleep(200);
    }
    settledPending = checker.pendingCommittedBefore(cutoff);
  }

  private long settledPending = -1;

  /** @return violations confirmed against the database */
  long confirmed() {
    return checker.violations("confirmed");
  }

  /** @return the report section, markdown */
  String markdown() {
    List<String> w = checker.windowLabels();
    String m = w.get(0);
    long checked = checker.checks(m, "consistent") + checker.checks(m, "inconsistent");
    StringBuilder b = new StringBuilder("\n## Consistency checker (ops module)\n\n");
    b.append(String.format(Locale.ROOT, "Each event of the run's topic checked %s after its commit (nothing older"
        + " than its version in Redis), apparent violations again at %s, then confirmed against the database.%n%n",
        m, String.join(", ", w.subList(1, w.size()))));
    b.append("| window | events checked | still inconsistent | nines consistent within |\n|---|---|---|---|\n");
    for (String x : w) {
      b.append(String.format(Locale.ROOT, "| %s | %d | %d | %.2f |%n", x, checked, checker.checks(x, "inconsistent"),
          checker.nines(x)));
    }
    b.append(String.format(Locale.ROOT, "| confirmed (database) | %d | %d | %.2f |%n", checked,
        checker.violations("confirmed"), checker.nines("confirmed")));
    b.append(String.format(Locale.ROOT, "%nRefuted by the database: %d; unconfirmed: %d; Redis errors during checks: %d;"
        + " checks of the run's events still pending at the end: %d (checks of later events, e.g. the freshness"
        + " heartbeat's: %d).%n", checker.violations("refuted"), checker.violations("unconfirmed"),
        w.stream().mapToLong(x -> checker.checks(x, "error")).sum(), settledPending,
        Math.max(0, checker.health().pending() - Math.max(0, settledPending))));
    Map<Long, Integer> buckets = new TreeMap<>();
    for (ConsistencyChecker.Violation v : checker.apparentViolations()) {
      CacheEvent.Source s = v.event().source();
      long at = s == null ? v.event().producedAtMs() : s.commitTsMs();
      buckets.merge(Math.max(0, (at - startMs) / 5000), 1, Integer::sum);
    }
    if (!buckets.isEmpty()) {
      b.append("\nApparent violations at ").append(m).append(" by commit time (s since the suite's start; compare the"
          + " faults' start times): ");
      StringBuilder list = new StringBuilder();
      buckets.forEach((k, n) -> list.append(list.length() == 0 ? "" : ", ").append(k * 5).append('-').append(k * 5 + 5)
          .append(": ").append(n));
      b.append(list).append(".\n");
    }
    for (ConsistencyChecker.Violation v : checker.outcomes()) {
      if (!v.outcome().equals("refuted")) {
        b.append("\n- ").append(v.describe());
      }
    }
    return b.append('\n').toString();
  }

  @Override
  public void close() {
    try {
      checker.close();
    } finally {
      redis.close();
    }
  }
}
