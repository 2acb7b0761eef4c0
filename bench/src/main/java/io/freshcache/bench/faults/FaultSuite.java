package io.freshcache.bench.faults;

import io.freshcache.bench.faults.ChangeLog.Verdict;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.writer.CacheWriterConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The standing fault-injection coherence suite: the real pipeline (cdc-ingest and cache-writer
 * as separate, supervised processes from their {@code bin/} scripts, Kafka, Redis Cluster,
 * PostgreSQL from {@code dev/stack}), SQL writers and racing readers, and a schedule of faults
 * injected while it runs. Once the writers stop and the pipeline has drained, every cached entry
 * (Redis, every near cache) must equal its row or be absent, and no read may have returned an
 * image older than a change the pipeline had applied more than the grace period before the read
 * began. See {@link Result} for what it measures and {@link FaultReport} for the report.
 *
 * <p>Everything it creates is named after the run (tables, topic, consumer group, connector,
 * slot, publication, Redis keys) and removed at the end; the stack is brought back up with
 * {@code dev/stack up} whatever happened, so later tests find it healthy.
 */
public final class FaultSuite {
  /**
   * Settings of one run.
   *
   * @param randomSchedule false: each fault once in a fixed order (the short schedule);
   *     true: faults at random for {@code duration}, each kind twice before any third
   * @param duration how long faults are injected in the random schedule
   * @param seed seeds the workload and the random schedule
   * @param rows rows per table (two tables)
   * @param sqlWriters writer threads; {@code writesPerSecond} SQL changes per second in all
   * @param writesPerSecond SQL changes per second, all writer threads together
   * @param readerThreads reader threads; {@code readsPerSecond} reads per second in all
   * @param readsPerSecond reads per second, all reader threads together
   * @param clients client instances (modes in the order of {@link Readers#MODES})
   * @param grace added to the moment a change was seen applied before a read must see it
   * @param drainTimeout how long the drain may take before the check runs anyway
   * @param repo the repository root (for {@code dev/stack} and the services' {@code bin/})
   * @param workDir where the run's logs go
   * @param without kinds left out of the schedule (e.g. to see the other faults' effect while
   *     one of them is known to stop the pipeline); empty in CI
   */
  public record Options(boolean randomSchedule, Duration duration, long seed, int rows, int sqlWriters,
      int writesPerSecond, int readerThreads, int readsPerSecond, int clients, Duration grace,
      Duration drainTimeout, Path repo, Path workDir, Set<FaultKind> without) {
    public Options {
      without = Set.copyOf(without);
    }

    /** The short schedule with the defaults used in CI. */
    public static Options shortSchedule(Path repo, Path workDir) {
      return new Options(false, Duration.ZERO, System.nanoTime(), 300, 2, 30, 8, 400, 4,
          Duration.ofSeconds(2), Duration.ofSeconds(60), repo, workDir, Set.of());
    }
  }

  /** One injected fault. */
  public record Injected(FaultKind kind, double atSeconds, double tookSeconds, String detail) {}

  /**
   * What a run found.
   *
   * @param staleRedis entries in Redis (any node) that differ from their row after the drain
   * @param staleNear near-cache entries that differ from their row after the drain
   * @param staleClientReads reads through a client after the drain, not from its near cache,
   *     that differ from the row
   * @param staleBeyondWindow reads that returned an image older than a change seen applied more
   *     than the grace period before the read began
   * @param staleInWindow reads older than a committed change the pipeline had not applied yet
   *     (allowed; informational)
   */
  public record Result(String run, double wallSeconds, List<Injected> faults, boolean drained,
      double drainSeconds, long changes, long unapplied, long unsettled, Histogram commitToApplied,
      long reads, long judged, long staleInWindow, long staleBeyondWindow,
      List<String> staleBeyondExamples, Map<FaultKind, Long> staleBeyondByFault, int redisEntries,
      List<Verifier.Stale> staleRedis, List<Verifier.Stale> staleNear, List<Verifier.Stale> staleClientReads,
      int nearReads, Map<String, Long> errors, long loaderErrors, long shedReads, long wrongKey,
      List<CacheClient.Stats> clientStats, List<String> clientModes, long[] breakerOpens,
      long[] breakerOpenMillis, long sqlUpdates, long sqlDeletes, long sqlInserts, long sqlErrors,
      long uncertainCommits, Map<String, Integer> serviceStarts, Map<String, List<String>> unexpectedExits,
      long dlqRecords, long topicEvents, List<String> problems, boolean stackHealthyAtEnd, double load1Start,
      double load1End, Options options) {
    /** @return stale entries after the drain, in Redis and in near caches (must be 0) */
    public long staleAfterDrain() {
      return staleRedis.size() + staleNear.size() + staleClientReads.size();
    }
  }

  private final Options o;
  private final String run = Long.toString(System.currentTimeMillis() % 2_000_000_000L, 36);
  private final long t0 = System.nanoTime();
  private final List<Injected> faults = new ArrayList<>();
  private final List<Long> faultStarts = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private final Random random;
  private SuiteTables tables;
  private Stack stack;
  private Supervised cdc;
  private Supervised writer;
  private Map<String, String> cdcEnv;
  private Map<String, String> writerEnv;
  private String topic;
  private String dlq;
  private String group;
  private String kafka;
  private int redisDownPort = -1;
  private long redisUpAt;
  private long redisDownSince;
  private int kafkaRestarts;
  private CheckerProbe checker;
  private String checkerReport = "";
  private long checkerConfirmed = -1;
  private long nearConfirmed = -1;

  public FaultSuite(Options o) {
    this.o = o;
    this.random = new Random(o.seed());
  }

  static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "fault-suite: " + format + "%n", args);
  }

  private double since(long nanos) {
    return (nanos - t0) / 1e9;
  }

  /** @return the consistency checker's section of the report (markdown), empty before the drain check */
  public String checkerReport() {
    return checkerReport;
  }

  /** @return violations the consistency checker confirmed against the database, -1 before the drain check */
  public long checkerConfirmed() {
    return checkerConfirmed;
  }

  /** @return violations the near clients' samplers confirmed against Redis, -1 before the drain check */
  public long nearConfirmed() {
    return nearConfirmed;
  }

  /** Runs the suite; never throws for what it finds (see the result), only for a broken set-up. */
  public Result run() throws Exception {
    double load1Start = load1();
    Path work = Files.createDirectories(o.workDir().resolve(run));
    CacheClientConfig clientConfig = CacheClientConfig.fromEnv();
    List<Integer> ports = new ArrayList<>();
    for (String node : clientConfig.redis().nodes()) {
      ports.add(Integer.parseInt(node.substring(node.lastIndexOf(':') + 1)));
    }
    stack = new Stack(o.repo(), work.resolve("stack.log"), ports);
    CdcIngestConfig cdcBase = CdcIngestConfig.fromEnv();
    kafka = CacheWriterConfig.fromEnv().kafka().bootstrapServers();
    tables = new SuiteTables(run, o.rows(), cdcBase.jdbcUrl(), cdcBase.user(), cdcBase.password());
    topic = "fsuite.changes." + run;
    dlq = "fsuite.dlq." + run;
    group = "fsuite-" + run;
    String slot = "fsuite_" + run;
    log("run %s: %s schedule, %d rows per table, %d SQL changes/s, %d reads/s through %d clients; logs %s",
        run, o.randomSchedule() ? "random " + o.duration().toSeconds() + " s" : "short", o.rows(),
        o.writesPerSecond(), o.readsPerSecond(), o.clients(), work);

    ChangeLog changeLog = new ChangeLog(2 * o.rows());
    SqlWriters sql = null;
    Readers readers = null;
    AppliedTracker tracker = null;
    boolean tablesCreated = false;
    try {
      tables.create();
      tablesCreated = true;
      Topics.create(kafka, List.of(topic, dlq), 6);
      Path rules = work.resolve("rules.yaml");
      Files.writeString(rules, tables.rulesYaml());
      tracker = new AppliedTracker(kafka, topic, 6, group, changeLog);

      Map<String, String> base = new HashMap<>(System.getenv());
      base.keySet().removeIf(k -> k.startsWith("CDC_") || k.startsWith("WRITER_") || k.equals("JAVA_OPTS"));
      base.put("JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
      cdcEnv = new HashMap<>(base);
      cdcEnv.putAll(Map.of("CDC_RULES_FILE", rules.toString(), "CDC_TOPIC", topic,
          "CDC_CONNECTOR_NAME", "fsuite-" + run, "CDC_SLOT_NAME", slot, "CDC_PUBLICATION_NAME", slot,
          "CDC_OFFSET_STORAGE", "file", "CDC_OFFSET_FILE", work.resolve("cdc-offsets.dat").toString()));
      writerEnv = new HashMap<>(base);
      writerEnv.putAll(Map.of("WRITER_TOPICS", topic, "WRITER_DLQ_TOPIC", dlq, "WRITER_GROUP_ID", group));
      cdc = new Supervised("cdc-ingest", o.repo().resolve("cdc-ingest/bin/cdc-ingest"), cdcEnv,
          "CDC_HTTP_PORT", work, Duration.ofSeconds(1), true);
      writer = new Supervised("cache-writer", o.repo().resolve("cache-writer/bin/cache-writer"), writerEnv,
          "WRITER_HTTP_PORT", work, Duration.ofSeconds(1), true);
      readers = new Readers(tables, o.clients(), o.readerThreads(), o.readsPerSecond(), o.seed());
      sql = new SqlWriters(tables, changeLog, o.sqlWriters(), o.writesPerSecond(), o.seed());
      require(cdc.awaitHealthy(Duration.ofSeconds(120)), "cdc-ingest healthy; log in " + work);
      require(writer.awaitHealthy(Duration.ofSeconds(120)), "cache-writer healthy; log in " + work);
      log("services up at %.1f s", since(System.nanoTime()));
      checker = CheckerProbe.start(topic, group + "-checker", tables, kafka, System.currentTimeMillis() - (long) (since(System.nanoTime()) * 1000));
      if (!checker.awaitAssigned(Duration.ofSeconds(30))) {
        problems.add("the consistency checker got no partition of " + topic + " in 30 s");
      }

      sql.seed();
      require(await(Duration.ofSeconds(90), () -> changeLog.unapplied() == 0),
          "the seed rows applied (" + changeLog.unapplied() + " not)");
      log("seed applied at %.1f s", since(System.nanoTime()));
      Readers rd = readers;
      if (!await(Duration.ofSeconds(60), () -> rd.nearSubscribed())) {
        problems.add("a near-cache client was not subscribed to the notices 60 s after start");
      }
      readers.start();
      sql.start();

      long faultStart = System.nanoTime();
      List<FaultKind> plan = plan();
      int i = 0;
      while (true) {
        FaultKind kind;
        if (!o.randomSchedule()) {
          if (i >= plan.size()) {
            break;
          }
          kind = plan.get(i++);
        } else {
          if (System.nanoTime() - faultStart > o.duration().toNanos()) {
            break;
          }
          kind = i < plan.size() ? plan.get(i++) : randomKind();
        }
        gap(o.randomSchedule() ? 3 + random.nextInt(10) : 4, sql);
        inject(kind, sql);
      }
      gap(o.randomSchedule() ? 5 : 3, sql);
      restartRedisNode(true);
      require(cdc.awaitHealthy(Duration.ofSeconds(60)), "cdc-ingest healthy after the schedule");
      require(writer.awaitHealthy(Duration.ofSeconds(60)), "cache-writer healthy after the schedule");

      sql.stopWriters();
      log("writers stopped at %.1f s: %d updates, %d deletes, %d inserts; draining", since(System.nanoTime()),
          sql.updates.get(), sql.deletes.get(), sql.inserts.get());
      long drainStart = System.nanoTime();
      AppliedTracker t = tracker;
      boolean drained = await(o.drainTimeout(), () -> changeLog.unapplied() == 0 && changeLog.unsettled() == 0
          && Topics.caughtUp(kafka, topic, 6, t.committed()));
      double drainSeconds = (System.nanoTime() - drainStart) / 1e9;
      log("%s after %.1f s (%d changes not applied)", drained ? "drained" : "NOT drained", drainSeconds,
          changeLog.unapplied());
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1)); // notices reach the near caches
      readers.stopReaders();
      Readers r = readers;
      await(Duration.ofSeconds(30), () -> r.clients.stream().allMatch(c -> c.circuitState() == CircuitBreaker.State.CLOSED));
      Verifier.Result check = new Verifier(tables, ports).check(readers);
      problems.addAll(check.problems());
      log("check: %d Redis entries, %d stale; %d near-cache hits, %d stale; %d other stale client reads",
          check.redisEntries(), check.redisStale().size(), check.nearReads(), check.nearStale().size(),
          check.clientStale().size());
      checker.settle(CheckerProbe.WINDOWS.get(CheckerProbe.WINDOWS.size() - 1).plusSeconds(15));
      readers.settleNearSamplers(CheckerProbe.WINDOWS.get(CheckerProbe.WINDOWS.size() - 1).plusSeconds(15));
      checkerReport = checker.markdown() + readers.nearSamplerMarkdown();
      checkerConfirmed = checker.confirmed();
      nearConfirmed = readers.nearConfirmed();
      log("consistency checker: %s", checkerReport.replace('\n', ' '));

      // judge every read
      List<Readers.Read> all = readers.reads();
      long judged = 0;
      long inWindow = 0;
      long beyond = 0;
      List<String> examples = new ArrayList<>();
      Map<FaultKind, Long> byFault = new EnumMap<>(FaultKind.class);
      long graceNanos = o.grace().toNanos();
      for (Readers.Read read : all) {
        Verdict v = changeLog.judge(read.key(), read.startNanos(), read.stamp(), graceNanos);
        if (v != Verdict.NOT_JUDGED) {
          judged++;
        }
        if (v == Verdict.STALE_IN_WINDOW) {
          inWindow++;
        } else if (v == Verdict.STALE_BEYOND_WINDOW) {
          beyond++;
          FaultKind f = faultBefore(read.startNanos());
          if (f != null) {
            byFault.merge(f, 1L, Long::sum);
          }
          if (examples.size() < 15) {
            examples.add(String.format(Locale.ROOT, "%s at %.1f s via client %d (%s): got %s; %s",
                tables.cacheKey(read.key()), since(read.startNanos()), read.client(),
                readers.modes.get(read.client()).name(),
                read.stamp() == ChangeLog.ABSENT ? "no row" : "stamp " + read.stamp(),
                requiredDescription(changeLog, read, graceNanos)));
          }
        }
      }
      List<CacheClient.Stats> stats = new ArrayList<>();
      List<String> modes = new ArrayList<>();
      long[] opens = new long[readers.clients.size()];
      long[] openMs = new long[readers.clients.size()];
      for (int c = 0; c < readers.clients.size(); c++) {
        stats.add(readers.clients.get(c).stats());
        modes.add(readers.modes.get(c).name());
        opens[c] = readers.breakerOpens[c].get();
        openMs[c] = readers.breakerOpenMillis[c].get();
      }
      long dlqRecords = Topics.records(kafka, dlq);
      long topicEvents = tracker.events.get();
      Map<String, Integer> starts = Map.of("cdc-ingest", cdc.starts(), "cache-writer", writer.starts());
      Map<String, List<String>> exits = Map.of("cdc-ingest", cdc.exits(), "cache-writer", writer.exits());
      Result partial = new Result(run, 0, List.copyOf(faults), drained, drainSeconds, changeLog.committed(),
          changeLog.unapplied(), changeLog.unsettled(), changeLog.commitToApplied(), all.size(), judged,
          inWindow, beyond, examples, byFault, check.redisEntries(), check.redisStale(), check.nearStale(),
          check.clientStale(), check.nearReads(), readers.errorCounts(), readers.loaderErrors.sum(),
          readers.shed.sum(), readers.wrongKey.sum(), stats, modes, opens, openMs, sql.updates.get(),
          sql.deletes.get(), sql.inserts.get(), sql.sqlErrors.get(), sql.uncertain.get(), starts, exits,
          dlqRecords, topicEvents, problems, false, load1Start, 0, o);
      return finish(partial, sql, readers, tracker, tablesCreated, slot);
    } catch (Exception | Error e) {
      problems.add("the suite stopped early: " + e);
      finish(null, sql, readers, tracker, tablesCreated, slot);
      throw e;
    }
  }

  private String requiredDescription(ChangeLog changeLog, Readers.Read read, long graceNanos) {
    ChangeLog.Change required = null;
    for (ChangeLog.Change c : changeLog.changes(read.key())) {
      if (c.state == ChangeLog.State.COMMITTED && c.appliedNanos != 0 && c.appliedNanos + graceNanos < read.startNanos()) {
        required = c;
      }
    }
    if (required == null) {
      return "?";
    }
    return String.format(Locale.ROOT, "the %s %s committed at %.1f s was applied at %.1f s, %.0f ms before the read",
        required.kind, required.stamp == ChangeLog.ABSENT ? "(no row)" : "stamp " + required.stamp,
        since(required.commitNanos), since(required.appliedNanos), (read.startNanos() - required.appliedNanos) / 1e6);
  }

  private FaultKind faultBefore(long nanos) {
    FaultKind f = null;
    for (int i = 0; i < faultStarts.size(); i++) {
      if (faultStarts.get(i) <= nanos) {
        f = faults.get(i).kind();
      }
    }
    return f;
  }

  /** Stops everything, brings the stack back up, removes what the run created. */
  private Result finish(Result r, SqlWriters sql, Readers readers, AppliedTracker tracker, boolean tablesCreated,
      String slot) {
    Cleanup c = new Cleanup(problems);
    c.step("stop the SQL writers", () -> { if (sql != null) { sql.close(); } });
    c.step("close the clients", () -> { if (readers != null) { readers.close(); } });
    c.step("stop cache-writer", () -> { if (writer != null) { writer.stop(Duration.ofSeconds(20)); } });
    c.step("stop cdc-ingest", () -> { if (cdc != null) { cdc.stop(Duration.ofSeconds(20)); } });
    c.step("stop the consistency checker", () -> { if (checker != null) { checker.close(); } });
    c.step("stop the topic reader", () -> { if (tracker != null) { tracker.close(); } });
    boolean[] up = new boolean[1];
    c.step("dev/stack up", () -> {
      stack.up();
      up[0] = true;
    });
    c.step("drop slot and publication", () -> Topics.dropSlot(tables, slot));
    c.step("drop the tables", () -> { if (tablesCreated) { tables.drop(); } });
    c.step("delete topics and group", () -> Topics.delete(kafka, List.of(topic, dlq), group));
    c.step("delete the checker's group", () -> Topics.delete(kafka, List.of(), group + "-checker"));
    c.step("delete the run's Redis keys", () -> Topics.deleteRedisKeys(stack.redisPorts(), "{fsuite:*" + run + ":*"));
    // `dev/stack up` returns 0 only once every component is up and ready (it waits up to its
    // ready timeout; `status` gives Kafka 5 s, which a loaded 2-core machine can exceed)
    boolean healthy = up[0] && stack.redisPorts().stream().allMatch(p -> {
      try {
        return stack.alive(p);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
    if (!healthy) {
      problems.add("the stack is not healthy at the end (dev/stack up failed or a Redis node is down)");
    }
    if (r == null) {
      return null;
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    log("done in %.0f s; stack %s", wall, healthy ? "healthy" : "NOT healthy");
    return new Result(r.run(), wall, r.faults(), r.drained(), r.drainSeconds(), r.changes(), r.unapplied(),
        r.unsettled(), r.commitToApplied(), r.reads(), r.judged(), r.staleInWindow(), r.staleBeyondWindow(),
        r.staleBeyondExamples(), r.staleBeyondByFault(), r.redisEntries(), r.staleRedis(), r.staleNear(),
        r.staleClientReads(), r.nearReads(), r.errors(), r.loaderErrors(), r.shedReads(), r.wrongKey(),
        r.clientStats(), r.clientModes(), r.breakerOpens(), r.breakerOpenMillis(), r.sqlUpdates(),
        r.sqlDeletes(), r.sqlInserts(), r.sqlErrors(), r.uncertainCommits(), r.serviceStarts(),
        r.unexpectedExits(), r.dlqRecords(), r.topicEvents(), List.copyOf(problems), healthy, r.load1Start(),
        load1(), o);
  }

  // ---- the schedule ---------------------------------------------------------------------------

  private List<FaultKind> plan() {
    if (!o.randomSchedule()) {
      return List.of(FaultKind.REBALANCE, FaultKind.WRITER_KILL, FaultKind.INGEST_KILL, FaultKind.KAFKA_RESTART,
          FaultKind.POSTGRES_RESTART, FaultKind.REDIS_MASTER_KILL, FaultKind.TRUNCATE, FaultKind.OVERSIZE_ROW)
          .stream().filter(k -> !o.without().contains(k)).toList();
    }
    List<FaultKind> plan = new ArrayList<>();
    for (FaultKind k : FaultKind.values()) {
      if (o.without().contains(k)) {
        continue;
      }
      plan.add(k);
      if (k.isFault()) {
        plan.add(k);
      }
    }
    Collections.shuffle(plan, random);
    return plan;
  }

  private FaultKind randomKind() {
    List<FaultKind> all = new ArrayList<>(List.of(FaultKind.values()));
    all.removeAll(o.without());
    return all.get(random.nextInt(all.size()));
  }

  /** Waits {@code seconds} while the workload runs, restarting a Redis node that is due. */
  private void gap(int seconds, SqlWriters sql) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      restartRedisNode(false);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }

  private void restartRedisNode(boolean now) throws Exception {
    if (redisDownPort > 0 && (now || System.nanoTime() >= redisUpAt)) {
      stack.up("redis");
      log("redis node %d restarted after %.1f s down", redisDownPort, (System.nanoTime() - redisDownSince) / 1e9);
      redisDownPort = -1;
    }
  }

  private void inject(FaultKind kind, SqlWriters sql) throws Exception {
    long start = System.nanoTime();
    faultStarts.add(start);
    String detail;
    log("%.1f s: %s", since(start), kind);
    switch (kind) {
      case REDIS_MASTER_KILL -> {
        restartRedisNode(true);
        int slot = o.randomSchedule() ? random.nextInt(16384) : 0;
        int port = stack.ownerOf(slot);
        require(port > 0, "a master for slot " + slot);
        stack.run("kill", "redis:" + port);
        redisDownPort = port;
        redisDownSince = System.nanoTime();
        boolean promoted = stack.awaitFailover(slot, port, 30_000);
        double failover = (System.nanoTime() - start) / 1e9;
        boolean graceful = writer.terminate(Duration.ofSeconds(15));
        boolean healthy = writer.awaitHealthy(Duration.ofSeconds(60));
        long down = o.randomSchedule() ? 10 + random.nextInt(30) : 8;
        redisUpAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(down);
        detail = String.format(Locale.ROOT, "master :%d (slot %d) killed; %s after %.1f s; writer restarted"
            + " while it is down (%s, /health %s); node restarted ~%d s later", port, slot,
            promoted ? "replica promoted" : "NO promotion", failover, graceful ? "SIGTERM" : "SIGTERM timed out, kill -9",
            healthy ? "UP" : "not UP", down);
      }
      case WRITER_KILL -> {
        writer.kill9();
        boolean healthy = writer.awaitHealthy(Duration.ofSeconds(60));
        detail = "kill -9, restarted; /health " + (healthy ? "UP" : "not UP") + " after "
            + secs(start);
      }
      case INGEST_KILL -> {
        cdc.kill9();
        boolean healthy = cdc.awaitHealthy(Duration.ofSeconds(90));
        detail = "kill -9, restarted; /health " + (healthy ? "UP" : "not UP") + " after " + secs(start);
      }
      case KAFKA_RESTART -> {
        boolean hard = o.randomSchedule() && kafkaRestarts++ % 2 == 1;
        stack.run(hard ? "kill" : "down", "kafka");
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(2));
        stack.up("kafka");
        detail = (hard ? "kill -9" : "SIGTERM") + ", up again after " + secs(start);
      }
      case POSTGRES_RESTART -> {
        stack.run("down", "postgres");
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
        stack.up("postgres");
        detail = "pg_ctl stop -m fast, up again after " + secs(start);
      }
      case REBALANCE -> {
        Supervised joiner = new Supervised("cache-writer-joiner", o.repo().resolve("cache-writer/bin/cache-writer"),
            writerEnv, "WRITER_HTTP_PORT", o.workDir().resolve(run), Duration.ofSeconds(1), false);
        try {
          boolean joined = await(Duration.ofSeconds(120), () -> Topics.members(kafka, group) >= 2);
          double joinedAt = (System.nanoTime() - start) / 1e9;
          long hold = o.randomSchedule() ? 5 + random.nextInt(15) : 5;
          LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(hold));
          joiner.stop(Duration.ofSeconds(20));
          detail = String.format(Locale.ROOT, "second writer %s after %.1f s, left %d s later (SIGTERM)",
              joined ? "joined" : "did NOT join", joinedAt, hold);
        } finally {
          joiner.close();
        }
      }
      case OVERSIZE_ROW -> {
        sql.oversize(1_400_000, 5_000);
        detail = "row " + tables.cacheKey(tables.oversizeKey()) + " grown to 1.4 MB for 5 s, then shrunk";
      }
      case TRUNCATE -> {
        int t = o.randomSchedule() ? random.nextInt(2) : SuiteTables.UPS;
        sql.truncateAndRefill(t);
        detail = "TRUNCATE " + tables.table(t) + " and re-fill of " + o.rows() + " rows at version 1";
      }
      default -> throw new IllegalStateException(kind.toString());
    }
    double took = (System.nanoTime() - start) / 1e9;
    faults.add(new Injected(kind, since(start), took, detail));
    log("  %s", detail);
  }

  private static String secs(long start) {
    return String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - start) / 1e9);
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("not reached: " + what);
    }
  }

  /** Polls {@code condition} every 250 ms (exceptions count as false) until it holds or {@code timeout} passes. */
  static boolean await(Duration timeout, java.util.concurrent.Callable<Boolean> condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (condition.call()) {
          return true;
        }
      } catch (Exception e) {
        // not yet
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
    }
  }

  static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (Exception e) {
      return -1;
    }
  }

  /** Runs clean-up steps, each on its own: a failure is noted and the next step still runs. */
  private static final class Cleanup {
    interface Step {
      void run() throws Exception;
    }

    private final List<String> problems;

    Cleanup(List<String> problems) {
      this.problems = problems;
    }

    void step(String name, Step s) {
      try {
        s.run();
      } catch (Exception | AssertionError e) {
        problems.add("clean-up: " + name + ": " + e);
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
