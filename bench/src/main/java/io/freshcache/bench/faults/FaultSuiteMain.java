package io.freshcache.bench.faults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Command line of the suite: {@code bench/bin/fault-suite [--duration 10m] [--short] [--seed N]
 * [--rows 300] [--writes 30] [--reads 400] [--grace-ms 1000] [--without oversize_row,...]
 * [--report FILE]}. Without
 * {@code --short} it runs the random schedule for {@code --duration} (default 10m). Exits 0 if
 * the zero counts hold (stale entries after the drain, stale reads beyond the window, violations
 * confirmed by the checker and by the near-cache samplers), 1 otherwise, 2 on a bad argument.
 */
public final class FaultSuiteMain {
  private FaultSuiteMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--short")) {
        m.put("short", "true");
      } else if (args[i].startsWith("--") && i + 1 < args.length) {
        m.put(args[i].substring(2), args[++i]);
      } else {
        System.err.println("fault-suite: unknown argument '" + args[i] + "' (bench/bin/fault-suite --help lists them)");
        System.exit(2);
      }
    }
    Path repo = Path.of(m.getOrDefault("repo", ".")).toAbsolutePath().normalize();
    FaultSuite.Options d = FaultSuite.Options.shortSchedule(repo, repo.resolve("bench/target/fault-suite"));
    boolean random = !m.containsKey("short");
    FaultSuite.Options o = new FaultSuite.Options(random, duration(m.getOrDefault("duration", "10m")),
        Long.parseLong(m.getOrDefault("seed", Long.toString(d.seed()))),
        Integer.parseInt(m.getOrDefault("rows", Integer.toString(d.rows()))), d.sqlWriters(),
        Integer.parseInt(m.getOrDefault("writes", Integer.toString(d.writesPerSecond()))), d.readerThreads(),
        Integer.parseInt(m.getOrDefault("reads", Integer.toString(d.readsPerSecond()))), d.clients(),
        Duration.ofMillis(Long.parseLong(m.getOrDefault("grace-ms", Long.toString(d.grace().toMillis())))),
        random ? Duration.ofSeconds(120) : d.drainTimeout(), repo, d.workDir(), without(m.get("without")));
    FaultSuite suite = new FaultSuite(o);
    FaultSuite.Result r = suite.run();
    String command = "`bench/bin/fault-suite " + String.join(" ", args) + "`";
    String md = FaultReport.markdown(r, command) + suite.checkerReport();
    System.out.println(md);
    if (m.containsKey("report")) {
      Path report = Path.of(m.get("report"));
      Files.createDirectories(report.toAbsolutePath().getParent());
      Files.writeString(report, md);
      System.out.println("report written to " + report);
    }
    System.exit(r.staleAfterDrain() == 0 && r.staleBeyondWindow() == 0 && suite.checkerConfirmed() == 0
        && suite.nearConfirmed() == 0 ? 0 : 1);
  }

  static Set<FaultKind> without(String list) {
    Set<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
    if (list != null) {
      for (String k : list.split(",")) {
        kinds.add(FaultKind.valueOf(k.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
      }
    }
    return kinds;
  }

  static Duration duration(String s) {
    if (s.endsWith("m")) {
      return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
    }
    if (s.endsWith("s")) {
      return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
    }
    return Duration.ofSeconds(Long.parseLong(s));
  }
}
