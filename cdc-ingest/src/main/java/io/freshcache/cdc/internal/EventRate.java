package io.freshcache.cdc.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Events per second over the last {@value #SECONDS} seconds: one bucket per second in a ring,
 * each stamped with its second, so reading needs no background thread and a quiet table reads 0.
 * Written by the handler thread, read by any.
 */
final class EventRate {
  static final int SECONDS = 10;

  private final AtomicLongArray counts = new AtomicLongArray(SECONDS);
  private final AtomicLongArray stamps = new AtomicLongArray(SECONDS);
  private final LongSupplier millis;

  EventRate(LongSupplier millis) {
    this.millis = millis;
  }

  void add(long n) {
    long second = millis.getAsLong() / 1000;
    int i = (int) (second % SECONDS);
    if (stamps.get(i) != second) {
      stamps.set(i, second);
      counts.set(i, 0);
    }
    counts.addAndGet(i, n);
  }

  /** @return the mean rate over the last full {@value #SECONDS} seconds and the current one */
  double perSecond() {
    long now = millis.getAsLong() / 1000;
    long sum = 0;
    for (int i = 0; i < SECONDS; i++) {
      if (now - stamps.get(i) < SECONDS) {
        sum += counts.get(i);
      }
    }
    return sum / (double) SECONDS;
  }
}
