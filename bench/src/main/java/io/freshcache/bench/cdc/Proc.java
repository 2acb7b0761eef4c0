package io.freshcache.bench.cdc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Readings from {@code /proc}: CPU time and resident set of a process, the load average. */
final class Proc {
  /** Clock ticks per second of {@code /proc/<pid>/stat}; 100 on Linux x86-64. */
  private static final long TICKS = 100;

  private Proc() {}

  /** @return user + system CPU time of {@code pid}, ns; 0 if it is gone */
  static long cpuNanos(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * (1_000_000_000L / TICKS);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** @return VmRSS of {@code pid} in MB, or -1 */
  static double rssMb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** @return the 1-minute load average */
  static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
