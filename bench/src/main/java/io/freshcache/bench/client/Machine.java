package io.freshcache.bench.client;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/** Facts about the machine a run happened on, for the report. */
final class Machine {
  private Machine() {}

  /** @return the 1, 5 and 15 minute load averages as {@code uptime} prints them */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + ", " + f[1] + ", " + f[2];
    } catch (IOException | RuntimeException e) {
      double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
      return String.format(Locale.ROOT, "%.2f", l);
    }
  }

  /** @return the UTC time of day and the load averages, e.g. {@code 09:15:23 · 8.68, 9.57, 9.01} */
  static String stamp() {
    return java.time.LocalTime.now(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
        + " · " + loadAverage();
  }

  /** @return the 1 minute load average */
  static double loadAverage1() {
    return Double.parseDouble(loadAverage().split(",")[0]);
  }

  static int cores() {
    return Runtime.getRuntime().availableProcessors();
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // unknown
    }
    return "?";
  }

  static String memory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          long kb = Long.parseLong(line.replaceAll("\\D", ""));
          return (kb / 1024 / 1024) + " GiB";
        }
      }
    } catch (IOException | RuntimeException e) {
      // unknown
    }
    return "?";
  }

  static String java() {
    return System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
  }

  static String jvmArgs() {
    return String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments());
  }

  /** @return the command line of this JVM, with arguments holding {@code *} quoted */
  static String commandLine() {
    ProcessHandle.Info info = ProcessHandle.current().info();
    String[] args = info.arguments().orElse(new String[0]);
    StringBuilder b = new StringBuilder("java");
    for (String a : args) {
      b.append(' ').append(a.contains("*") || a.contains(" ") ? "'" + a + "'" : a);
    }
    return b.toString();
  }

  /**
   * @return the short commit of the working directory's repository, with "+dirty" if the code
   *     measured (cache-protocol, client-lib, these benchmarks) differs from it
   */
  static String gitCommit() {
    String head = run(List.of("git", "rev-parse", "--short", "HEAD"));
    if (head.isEmpty()) {
      return "?";
    }
    String dirty = run(List.of("git", "status", "--porcelain", "--", "cache-protocol/src", "client-lib/src",
        "bench/src/main/java/io/freshcache/bench/client"));
    return dirty.isEmpty() ? head : head + "+dirty";
  }

  private static String run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return "";
      }
      return out;
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
