package io.freshcache.client;

import java.util.List;
import java.util.Map;

/**
 * What this client's near-cache sampler has found so far ({@link CacheClient#nearCacheConsistency()}):
 * the near cache's own view of its consistency with Redis, reported like the ops consistency
 * checker reports Redis's consistency with the database. Each sampled near entry is compared with
 * the fence and value Redis holds for its key; one Redis holds something newer for is re-checked
 * at M and at each longer window while the near cache still holds it. "Within a window" means
 * within that long after the sampler first saw it, which is a lower bound of how long the entry
 * had been stale. Confirmed means against Redis: a client has no database connection.
 *
 * @param enabled whether the sampler runs ({@link CacheClientConfig#nearCacheSamplePerSecond()}
 *     above 0); all counts are 0 and the maps empty when it does not
 * @param sampled versioned entries compared with Redis
 * @param consistent sampled entries for which Redis held nothing newer at once
 * @param apparent sampled entries for which Redis held something newer (checked again at M)
 * @param unversioned entries skipped because their envelope had no data version
 * @param errors samples and re-checks that could not read Redis
 * @param inconsistent by window label (M first, then each window): entries still held while Redis
 *     held something newer at that window
 * @param confirmed entries still held stale after the last window
 * @param pending entries being followed now
 * @param nines "nines consistent within" each window label, then {@code confirmed}:
 *     {@code -log10(inconsistent / sampled)}, or {@code log10(sampled)} with none inconsistent
 *     (at least that many nines), NaN before any sample
 * @param findings the latest inconsistent and confirmed findings (at most 100), each in one line
 *     naming the key, schema, entry version and age, what Redis held, and the notice channel with
 *     its last sequence number and silence
 */
public record NearCacheConsistency(boolean enabled, long sampled, long consistent, long apparent,
    long unversioned, long errors, Map<String, Long> inconsistent, long confirmed, int pending,
    Map<String, Double> nines, List<String> findings) {
  /** Copies the collections. */
  public NearCacheConsistency {
    inconsistent = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(inconsistent));
    nines = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(nines));
    findings = List.copyOf(findings);
  }

  /** @return the snapshot of a client whose sampler is off */
  static NearCacheConsistency off() {
    return new NearCacheConsistency(false, 0, 0, 0, 0, 0, Map.of(), 0, 0, Map.of(), List.of());
  }
}
