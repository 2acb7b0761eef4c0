package io.freshcache.client.internal;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Spreads expiries: each fill lives {@code ttl × (1 + u)} with {@code u} uniform in
 * {@code [-jitter, +jitter]}, so entries filled in one burst (a deploy, a cold start) do not all
 * expire in the same second and stampede the database together.
 */
public final class JitteredTtl {
  private final DoubleSupplier uniform;

  /** @param uniform a source of uniform doubles in [0, 1); injectable for tests */
  public JitteredTtl(DoubleSupplier uniform) {
    this.uniform = uniform;
  }

  /**
   * @param ttl the base TTL
   * @param jitter the relative jitter in [0, 0.9]
   * @return the jittered TTL in milliseconds, at least 1
   */
  public long millis(Duration ttl, double jitter) {
    long base = ttl.toMillis();
    double u = uniform.getAsDouble() * 2 - 1;
    long ms = Math.round(base * (1 + jitter * u));
    return Math.max(1, ms);
  }
}
