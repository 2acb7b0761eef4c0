package io.freshcache.client.internal;

import java.util.function.DoubleSupplier;

/**
 * Probabilistic early expiration (Vattani, Chierichetti, Lowenstein: "Optimal Probabilistic Cache
 * Stampede Prevention", VLDB 2015). A hit recomputes the value early when
 * {@code now − Δ·β·ln(rand) ≥ expiry}: with Δ the last load time, the chance rises smoothly as
 * expiry nears and is higher for values that take long to load, so one caller refreshes a hot key
 * in the background before it expires, instead of every caller missing at once.
 */
public final class XFetch {
  private final DoubleSupplier uniform;

  /** @param uniform a source of uniform doubles in [0, 1); injectable for tests */
  public XFetch(DoubleSupplier uniform) {
    this.uniform = uniform;
  }

  /**
   * @param nowMs the current time, epoch ms
   * @param expiryMs the entry's (soft) expiry, epoch ms
   * @param deltaMs the entry's last load time, ms; 0 makes early refresh very unlikely
   * @param beta β; 0 disables early refresh
   * @return whether this caller should refresh now
   */
  public boolean shouldRefresh(long nowMs, long expiryMs, long deltaMs, double beta) {
    if (beta <= 0) {
      return false;
    }
    if (nowMs >= expiryMs) {
      return true;
    }
    double r = uniform.getAsDouble();
    if (r <= 0) {
      return true;
    }
    // -ln(r) is exponentially distributed with mean 1
    double gap = -Math.max(deltaMs, 1) * beta * Math.log(r);
    return nowMs + gap >= expiryMs;
  }
}
