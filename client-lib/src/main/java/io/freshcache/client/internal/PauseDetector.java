package io.freshcache.client.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Notices when this JVM itself did not run: a daemon thread sleeps 5 ms at a time and records
 * every wake-up that came late (a stop-the-world pause, a stopped process, CPU starvation of the
 * process), like jHiccup. The circuit breakers ask it whether a slow or timed-out Redis call
 * overlapped such stalls: if this process was not running for a good part of the call, the call
 * says nothing about Redis, and a breaker that counted it would send the reads of a starved
 * client to the database, the wrong direction for an overloaded system.
 *
 * <p>One detector per JVM (a static holder starts it on first use). Stalls are kept in a ring of
 * the last {@value #RING} late wake-ups; a call is judged by the stall time that overlaps it,
 * plus a stall in progress (the sleeper is overdue now), which covers a call judged right after
 * the process resumed, before the sleeper ran again.
 */
public final class PauseDetector {
  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  /** A wake-up later than this counts as a stall. */
  private static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  private static final int RING = 1024;

  private static final class Holder {
    static final PauseDetector INSTANCE = new PauseDetector();
  }

  private final long[] stallEnd = new long[RING];
  private final long[] stallLength = new long[RING];
  private int next;
  private volatile long lastWake = System.nanoTime();

  private PauseDetector() {
    Thread t = new Thread(this::run, "freshcache-pause-detector");
    t.setDaemon(true);
    t.start();
  }

  /** @return the JVM's detector, started on first use */
  public static PauseDetector get() {
    return Holder.INSTANCE;
  }

  private void run() {
    while (true) {
      long before = System.nanoTime();
      LockSupport.parkNanos(TICK_NANOS);
      long now = System.nanoTime();
      lastWake = now;
      long late = now - before - TICK_NANOS;
      if (late > LATE_NANOS) {
        synchronized (this) {
          stallEnd[next] = now;
          stallLength[next] = late;
          next = (next + 1) % RING;
        }
      }
    }
  }

  /**
   * @param startNanos the call's start, {@link System#nanoTime()}
   * @param endNanos the call's end
   * @return how long this JVM was stalled during the call, ns (stalls that overlap it, plus one in
   *     progress at {@code endNanos})
   */
  public long stalledDuring(long startNanos, long endNanos) {
    long total = 0;
    synchronized (this) {
      for (int i = 0; i < RING; i++) {
        long end = stallEnd[i];
        long len = stallLength[i];
        if (len == 0 || end <= startNanos) {
          continue;
        }
        long begin = end - len;
        long from = Math.max(begin, startNanos);
        long to = Math.min(end, endNanos);
        if (to > from) {
          total += to - from;
        }
      }
    }
    long overdue = endNanos - lastWake - TICK_NANOS;
    if (overdue > LATE_NANOS) {
      total += Math.min(overdue, endNanos - startNanos);
    }
    return Math.min(total, endNanos - startNanos);
  }
}
