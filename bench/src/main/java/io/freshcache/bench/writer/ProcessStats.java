package io.freshcache.bench.writer;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU and memory readings from {@code /proc} and the JVM: this JVM's CPU time, the CPU time of
 * the Redis nodes and the Kafka broker (the stack's processes, found by command line), resident
 * set size, and peak heap use since the last {@link #resetPeakHeap()}.
 */
final class ProcessStats {
  /** Clock ticks per second of {@code /proc/<pid>/stat}; 100 on Linux x86-64. */
  private static final long TICKS = 100;

  private ProcessStats() {}

  /** @return this JVM's CPU time, ns */
  static long selfCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** @return CPU time of every process whose command line contains one of {@code markers}, ns */
  static long cpuNanosOf(List<String> markers) {
    long ticks = 0;
    for (ProcessHandle p : (Iterable<ProcessHandle>) ProcessHandle.allProcesses()::iterator) {
      String cmd = commandLine(p.pid());
      if (markers.stream().anyMatch(cmd::contains)) {
        ticks += ticks(p.pid());
      }
    }
    return ticks * (1_000_000_000L / TICKS);
  }

  /** Read from /proc: Redis rewrites its argv into a title, which ProcessHandle does not show. */
  private static String commandLine(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
          java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  private static long ticks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** @return a {@code /proc/self/status} value in MB, e.g. {@code VmRSS} or {@code VmHWM} */
  static double statusMb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  static void resetPeakHeap() {
    for (MemoryPoolMXBean p : heapPools()) {
      p.resetPeakUsage();
    }
  }

  /** @return the sum of the heap pools' peak use since the last reset, MB */
  static double peakHeapMb() {
    long sum = 0;
    for (MemoryPoolMXBean p : heapPools()) {
      sum += p.getPeakUsage().getUsed();
    }
    return sum / (1024.0 * 1024.0);
  }

  static double maxHeapMb() {
    return Runtime.getRuntime().maxMemory() / (1024.0 * 1024.0);
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      return "?";
    }
    return "?";
  }

  private static List<MemoryPoolMXBean> heapPools() {
    return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
  }
}
