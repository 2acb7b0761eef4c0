package io.freshcache.bench.faults;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop pacing of one worker thread: {@link #await()} parks until the next slot of a fixed
 * schedule, so an outage shows up as failed or slow calls rather than as calls never made. A
 * worker that fell more than ten periods behind (the database or Redis was down) starts a new
 * schedule instead of bursting to catch up.
 */
final class Pacer {
  private final long periodNanos;
  private long next = System.nanoTime();

  /**
   * @param threads workers sharing the rate
   * @param perSecond calls per second of all workers together, positive
   */
  Pacer(int threads, int perSecond) {
    this.periodNanos = TimeUnit.SECONDS.toNanos(1) * threads / perSecond;
  }

  /** Parks until this worker's next slot. */
  void await() {
    next += periodNanos;
    long wait = next - System.nanoTime();
    if (wait > 0) {
      LockSupport.parkNanos(wait);
    } else if (wait < -periodNanos * 10) {
      next = System.nanoTime();
    }
  }
}
