package io.freshcache.bench.cdc;

import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Recorder;

/**
 * Joins, per cache key, the moment the generator's commit returned with the moment the writer's
 * invalidation notice for that key arrived, and the event's {@code producedAtMs} (read from the
 * topic) with the notice. Each key is changed at most once per matching window (the generator
 * cycles through many keys), so a key names one change. Either side may come first.
 */
final class LagMatcher {
  private static final long NONE = Long.MIN_VALUE;

  /**
   * [commit nanos, notice nanos, producedAtMs, notice epoch ms, the database's commit ms, the
   * record's timestamp ms (the producer's send)]; NONE where not seen yet.
   */
  private final ConcurrentHashMap<String, long[]> pending = new ConcurrentHashMap<>();
  final Recorder endToEndMicros = new Recorder(3);
  final Recorder producedToAppliedMicros = new Recorder(3);
  /** Hops, ms resolution: database commit → mapped by cdc-ingest ({@code producedAtMs}). */
  final Recorder commitToMappedMicros = new Recorder(3);
  /** Mapped → handed to the Kafka producer (the record's timestamp). */
  final Recorder mappedToSentMicros = new Recorder(3);
  /** Handed to the producer → notice received (Kafka, cache-writer, Redis, pub/sub). */
  final Recorder sentToNoticedMicros = new Recorder(3);
  private volatile boolean recording;

  void recording(boolean on) {
    recording = on;
  }

  void committed(String key, long nanos) {
    update(key, 0, nanos);
  }

  void produced(String key, long producedAtMs) {
    update(key, 2, producedAtMs);
  }

  void produced(String key, long producedAtMs, long commitTsMs, long recordTsMs) {
    pending.compute(key, (k, v) -> {
      long[] a = v == null ? fresh() : v;
      a[2] = producedAtMs;
      a[4] = commitTsMs;
      a[5] = recordTsMs;
      return check(a);
    });
  }

  void noticed(String key, long nanos, long epochMs) {
    pending.compute(key, (k, v) -> {
      long[] a = v == null ? fresh() : v;
      if (a[1] == NONE) {
        a[1] = nanos;
        a[3] = epochMs;
      }
      return check(a);
    });
  }

  private void update(String key, int i, long value) {
    pending.compute(key, (k, v) -> {
      long[] a = v == null ? fresh() : v;
      a[i] = value;
      return check(a);
    });
  }

  /** Records what is complete; @return null to drop the entry once both joins are done. */
  private long[] check(long[] a) {
    boolean e2e = a[0] != NONE && a[1] != NONE;
    boolean stage = a[2] != NONE && a[3] != NONE;
    if (e2e && stage) {
      if (recording) {
        endToEndMicros.recordValue(Math.max(0, (a[1] - a[0]) / 1_000));
        producedToAppliedMicros.recordValue(Math.max(0, (a[3] - a[2]) * 1_000));
        if (a[4] > 0 && a[5] > 0) {
          commitToMappedMicros.recordValue(Math.max(0, (a[2] - a[4]) * 1_000));
          mappedToSentMicros.recordValue(Math.max(0, (a[5] - a[2]) * 1_000));
          sentToNoticedMicros.recordValue(Math.max(0, (a[3] - a[5]) * 1_000));
        }
      }
      return null;
    }
    return a;
  }

  void clear() {
    pending.clear();
  }

  int pending() {
    return pending.size();
  }

  private static long[] fresh() {
    return new long[] {NONE, NONE, NONE, NONE, NONE, NONE};
  }
}
