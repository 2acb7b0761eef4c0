package io.freshcache.protocol;

import java.time.Duration;

/**
 * The arithmetic that the consistency checker (ops) and the near-cache sampler (client-lib) share,
 * so that both report alike: window labels and "nines consistent within" a window (after Meta's
 * Polaris).
 */
public final class ConsistencyWindows {
  private ConsistencyWindows() {}

  /**
   * @param d a duration, not null
   * @return a short label: {@code 250ms}, {@code 10s}, {@code 5m}, {@code 1h}
   */
  public static String label(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /**
   * "Nines consistent within" a window: {@code -log10(failed / checked)}; with none failed,
   * {@code log10(checked)} (at least that many nines).
   *
   * @param checked how many were checked
   * @param failed how many of them were still inconsistent at the window
   * @return the nines, or NaN before any check
   */
  public static double nines(double checked, double failed) {
    if (checked <= 0) {
      return Double.NaN;
    }
    return failed <= 0 ? Math.log10(checked) : -Math.log10(failed / checked);
  }
}
