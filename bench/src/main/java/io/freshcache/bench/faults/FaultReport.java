package io.freshcache.bench.faults;

import io.freshcache.client.CacheClient;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** The markdown report of a {@link FaultSuite.Result}. */
public final class FaultReport {
  private FaultReport() {}

  /** @return the report, markdown */
  public static String markdown(FaultSuite.Result r, String command) {
    FaultSuite.Options o = r.options();
    StringBuilder b = new StringBuilder();
    b.append("# Fault-injection coherence suite\n\n");
    b.append(String.format(Locale.ROOT, "Run `%s` (%s schedule, seed %d), %s, nproc %d, load1 %.1f at start,"
            + " %.1f at end; wall %.0f s.%n%n", r.run(), o.randomSchedule() ? "random" : "short", o.seed(),
        command, Runtime.getRuntime().availableProcessors(), r.load1Start(), r.load1End(), r.wallSeconds()));
    b.append("Workload: cdc-ingest and cache-writer as separate processes (their `bin/` scripts, restarted by"
        + " a supervisor when they exit), two tables of ").append(o.rows()).append(" rows with a row-version"
        + " column (`fsuite_inv_*` under an invalidate rule, `fsuite_ups_*` under an upsert rule), ")
        .append(o.sqlWriters()).append(" SQL writer threads at ").append(o.writesPerSecond())
        .append(" changes/s (updates, deletes, re-inserts at version 1), ").append(o.readerThreads())
        .append(" reader threads at ").append(o.readsPerSecond()).append(" reads/s through ")
        .append(o.clients()).append(" clients (").append(String.join(", ", r.clientModes())).append(").\n\n");

    if (!o.without().isEmpty()) {
      b.append("Left out of the schedule: ").append(o.without()).append(".\n\n");
    }
    b.append("## Verdict\n\n| check | value | must be |\n|---|---|---|\n");
    b.append(row("stale entries after drain (Redis + near caches + other client reads)",
        r.staleAfterDrain() + " (" + r.staleRedis().size() + " + " + r.staleNear().size() + " + "
            + r.staleClientReads().size() + ")", "0"));
    b.append(row("stale reads beyond the lag window", Long.toString(r.staleBeyondWindow()), "0"));
    b.append(row("drained (every change applied, consumer lag 0)", (r.drained() ? "yes" : "NO") + String.format(
        Locale.ROOT, " in %.1f s", r.drainSeconds()), "yes"));
    b.append(row("changes never seen applied", Long.toString(r.unapplied()), "0"));
    b.append(row("stack healthy at the end", r.stackHealthyAtEnd() ? "yes" : "NO", "yes"));
    b.append('\n');
    b.append("Definitions. A change counts as *applied* at the first poll (every ").append(AppliedTracker.POLL_MS)
        .append(" ms) that saw cache-writer's group commit past its event (matched by key and PostgreSQL"
            + " transaction id); the writer commits after applying and publishing the notices, so this is an"
            + " upper bound. A read is *stale beyond the lag window* if it began more than the grace (")
        .append(o.grace().toMillis()).append(" ms, for notice delivery to near caches) after some change of"
            + " its key was applied and returned an image older than that change. *In window* reads returned"
            + " an image older than a change committed before the read began but not yet applied (allowed).\n\n");

    b.append("## Faults\n\n| # | at s | fault | took s | what happened |\n|---|---|---|---|---|\n");
    Map<FaultKind, Integer> counts = new EnumMap<>(FaultKind.class);
    int i = 1;
    for (FaultSuite.Injected f : r.faults()) {
      counts.merge(f.kind(), 1, Integer::sum);
      b.append(String.format(Locale.ROOT, "| %d | %.1f | %s | %.1f | %s |%n", i++, f.atSeconds(), f.kind(),
          f.tookSeconds(), f.detail()));
    }
    b.append("\n| kind | injected | stale reads beyond window after it |\n|---|---|---|\n");
    for (FaultKind k : FaultKind.values()) {
      b.append(String.format(Locale.ROOT, "| %s | %d | %d |%n", k, counts.getOrDefault(k, 0),
          r.staleBeyondByFault().getOrDefault(k, 0L)));
    }

    Histogram h = r.commitToApplied();
    b.append("\n## Pipeline\n\n| figure | value |\n|---|---|\n");
    b.append(row("SQL changes committed (updates / deletes / re-inserts; plus seed, truncate, re-fill, oversize)",
        r.changes() + " (" + r.sqlUpdates() + " / " + r.sqlDeletes() + " / " + r.sqlInserts() + ")"));
    b.append(row("SQL errors seen by the writers / commits with unknown outcome (read back)",
        r.sqlErrors() + " / " + r.uncertainCommits()));
    b.append(row("commit → applied p50 / p99 / max (ms)", h.getTotalCount() == 0 ? "n/a" : String.format(Locale.ROOT,
        "%.0f / %.0f / %.0f (%d changes)", h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
        h.getMaxValue() / 1e3, h.getTotalCount())));
    b.append(row("events in the topic / dead-lettered", r.topicEvents() + " / " + r.dlqRecords()));
    b.append(row("service starts", r.serviceStarts().toString()));
    b.append(row("exits the suite did not cause", r.unexpectedExits().toString()));

    b.append("\n## Readers\n\n| figure | value |\n|---|---|\n");
    b.append(row("reads recorded / judged against the history", r.reads() + " / " + r.judged()));
    b.append(row("stale reads in window (allowed) / beyond window", r.staleInWindow() + " / " + r.staleBeyondWindow()));
    b.append(row("errors thrown to callers (other than loader failures and shedding)", r.errors().isEmpty() ? "0"
        : r.errors().toString()));
    b.append(row("loader failures reaching callers (database down)", Long.toString(r.loaderErrors())));
    b.append(row("shed reads (LoadSheddingException)", Long.toString(r.shedReads())));
    b.append(row("reads that returned another key's row", Long.toString(r.wrongKey())));
    b.append("\n| client | mode | hits | near hits | misses | loader calls | fallbacks | shed | breaker opens |"
        + " breaker open s |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < r.clientStats().size(); c++) {
      CacheClient.Stats s = r.clientStats().get(c);
      b.append(String.format(Locale.ROOT, "| %d | %s | %d | %d | %d | %d | %d | %d | %d | %.1f |%n", c,
          r.clientModes().get(c), s.hits(), s.nearHits(), s.misses(), s.loaderCalls(), s.fallbacks(),
          s.loadShed(), r.breakerOpens()[c], r.breakerOpenMillis()[c] / 1e3));
    }

    b.append("\n## After the drain\n\n");
    b.append(String.format(Locale.ROOT, "%d value entries on the Redis nodes (masters and replicas) checked;"
        + " every client read every key (%d of those reads were near-cache hits).%n%n", r.redisEntries(), r.nearReads()));
    list(b, "Stale in Redis", r.staleRedis());
    list(b, "Stale in near caches", r.staleNear());
    list(b, "Stale client reads (not near)", r.staleClientReads());
    if (!r.staleBeyondExamples().isEmpty()) {
      b.append("Stale reads beyond the window (first ").append(r.staleBeyondExamples().size()).append("):\n\n");
      for (String s : r.staleBeyondExamples()) {
        b.append("- ").append(s).append('\n');
      }
      b.append('\n');
    }
    if (!r.problems().isEmpty()) {
      b.append("Problems:\n\n");
      for (String s : r.problems()) {
        b.append("- ").append(s).append('\n');
      }
    }
    return b.toString();
  }

  private static void list(StringBuilder b, String title, List<Verifier.Stale> stale) {
    if (stale.isEmpty()) {
      return;
    }
    b.append(title).append(" (").append(stale.size()).append(", first 15):\n\n");
    for (Verifier.Stale s : stale.subList(0, Math.min(15, stale.size()))) {
      b.append("- ").append(s).append('\n');
    }
    b.append('\n');
  }

  private static String row(String a, String b) {
    return "| " + a + " | " + b + " |\n";
  }

  private static String row(String a, String b, String c) {
    return "| " + a + " | " + b + " | " + c + " |\n";
  }
}
