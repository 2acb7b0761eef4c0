package io.freshcache.bench.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * The history of every key as the suite's SQL writers committed it, and when the pipeline was
 * seen to have applied each change. The suite judges reads and the drain against it.
 *
 * <p>Why it can: every key has one writer at a time (a writer thread owns its ids; TRUNCATE and
 * re-fill hold a lock that stops the writers), so a key's list is in commit order. Every row
 * image carries a {@code stamp} unique over the run, so a value read from the cache names the
 * change that wrote it. A change is registered with its PostgreSQL transaction id before its
 * commit is sent, so the event cdc-ingest produces for it (which carries {@code source.txId})
 * is matched to it by key and transaction id, whatever the row versions (they start again after
 * a re-insert or a TRUNCATE).
 *
 * <p>A commit whose outcome is unknown (the connection broke after the statement) is
 * {@link State#UNCERTAIN} until the writer has read the row back, then committed or failed.
 */
final class ChangeLog {
  /** The stamp of "no row" (a delete, a TRUNCATE, or before the first insert). */
  static final long ABSENT = -1;

  enum State { PENDING, UNCERTAIN, COMMITTED, FAILED }

  /** One committed (or attempted) change of one key. */
  static final class Change {
    final int key;
    final int index;
    final long stamp;
    final long txid;
    final String eventKey;
    final String kind;
    final long startNanos;
    volatile State state = State.PENDING;
    volatile long commitNanos;
    volatile long appliedNanos;

    Change(int key, int index, long stamp, long txid, String eventKey, String kind, long startNanos) {
      this.key = key;
      this.index = index;
      this.stamp = stamp;
      this.txid = txid;
      this.eventKey = eventKey;
      this.kind = kind;
      this.startNanos = startNanos;
    }

    void committed(long nanos) {
      commitNanos = nanos;
      state = State.COMMITTED;
    }
  }

  /** How a read compares with the history. */
  enum Verdict { NOT_JUDGED, FRESH, STALE_IN_WINDOW, STALE_BEYOND_WINDOW }

  private final List<List<Change>> byKey;
  private final ConcurrentHashMap<Long, Change> byStamp = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, List<Change>> byEvent = new ConcurrentHashMap<>();

  ChangeLog(int keys) {
    byKey = new ArrayList<>(keys);
    for (int i = 0; i < keys; i++) {
      byKey.add(new ArrayList<>());
    }
  }

  static long txid32(long txid) {
    return txid & 0xFFFF_FFFFL;
  }

  /** Registers a change before its commit is sent. */
  Change begin(int key, long stamp, long txid, String eventKey, String kind, long startNanos) {
    List<Change> list = byKey.get(key);
    Change c;
    synchronized (list) {
      c = new Change(key, list.size(), stamp, txid32(txid), eventKey, kind, startNanos);
      list.add(c);
    }
    if (stamp != ABSENT) {
      byStamp.put(stamp, c);
    }
    byEvent.computeIfAbsent(eventKey + "#" + c.txid, k -> new ArrayList<>());
    List<Change> ev = byEvent.get(eventKey + "#" + c.txid);
    synchronized (ev) {
      ev.add(c);
    }
    return c;
  }

  /** The pipeline applied the event of {@code eventKey} in transaction {@code txid}, seen at {@code nanos}. */
  void applied(String eventKey, long txid, long nanos) {
    List<Change> ev = byEvent.get(eventKey + "#" + txid32(txid));
    if (ev == null) {
      return; // not one of ours, or a repeat of a change not registered (cannot happen) 
    }
    synchronized (ev) {
      for (Change c : ev) {
        if (c.appliedNanos == 0) {
          c.appliedNanos = nanos;
        }
      }
    }
  }

  List<Change> changes(int key) {
    List<Change> list = byKey.get(key);
    synchronized (list) {
      return new ArrayList<>(list);
    }
  }

  int keys() {
    return byKey.size();
  }

  /** @return committed changes not (yet) seen applied */
  long unapplied() {
    long n = 0;
    for (int k = 0; k < byKey.size(); k++) {
      for (Change c : changes(k)) {
        if (c.state == State.COMMITTED && c.appliedNanos == 0) {
          n++;
        }
      }
    }
    return n;
  }

  /** @return changes whose commit is still pending or uncertain */
  long unsettled() {
    long n = 0;
    for (int k = 0; k < byKey.size(); k++) {
      for (Change c : changes(k)) {
        if (c.state == State.PENDING || c.state == State.UNCERTAIN) {
          n++;
        }
      }
    }
    return n;
  }

  long committed() {
    long n = 0;
    for (int k = 0; k < byKey.size(); k++) {
      for (Change c : changes(k)) {
        if (c.state == State.COMMITTED) {
          n++;
        }
      }
    }
    return n;
  }

  /** Commit returned → event applied (group offset committed past it), microseconds. */
  Histogram commitToApplied() {
    Histogram h = new Histogram(3);
    for (int k = 0; k < byKey.size(); k++) {
      for (Change c : changes(k)) {
        if (c.state == State.COMMITTED && c.appliedNanos != 0) {
          h.recordValue(Math.max(0, (c.appliedNanos - c.commitNanos) / 1_000));
        }
      }
    }
    return h;
  }

  /** The stamp (or {@link #ABSENT}) of the key's last committed change. */
  long latest(int key) {
    List<Change> list = changes(key);
    for (int i = list.size() - 1; i >= 0; i--) {
      if (list.get(i).state == State.COMMITTED) {
        return list.get(i).stamp;
      }
    }
    return ABSENT;
  }

  /**
   * Judges one read of {@code key} that started at {@code startNanos} and returned the image
   * stamped {@code stamp} ({@link #ABSENT} for "no row").
   *
   * <p>The newest change of the key that had been seen applied more than {@code graceNanos}
   * before the read started is its <em>required</em> change: the read must return that change's
   * image or a newer one. Returning an older one is {@link Verdict#STALE_BEYOND_WINDOW}. A read
   * older than some committed change but not beyond any change's window is
   * {@link Verdict#STALE_IN_WINDOW} (allowed: the pipeline had not applied that change yet). A
   * stamp the log does not know (written by a change registered after the read began) is fresh.
   */
  Verdict judge(int key, long startNanos, long stamp, long graceNanos) {
    List<Change> list = changes(key);
    int required = -1;
    int newestCommitted = -1;
    for (Change c : list) {
      if (c.state != State.COMMITTED) {
        continue;
      }
      if (c.commitNanos < startNanos) {
        newestCommitted = c.index;
      }
      if (c.appliedNanos != 0 && c.appliedNanos + graceNanos < startNanos) {
        required = c.index;
      }
    }
    int returned = indexOf(list, key, stamp);
    if (required >= 0 && returned < required) {
      return Verdict.STALE_BEYOND_WINDOW;
    }
    if (newestCommitted >= 0 && returned < newestCommitted) {
      return Verdict.STALE_IN_WINDOW;
    }
    return required < 0 && newestCommitted < 0 ? Verdict.NOT_JUDGED : Verdict.FRESH;
  }

  /**
   * The newest index the returned image can stand for: the change that wrote the stamp, or for
   * "no row" the newest absent change (-1 for "before the first insert"). Integer.MAX_VALUE for
   * a stamp the log does not know yet (its change began after the judged one).
   */
  private int indexOf(List<Change> list, int key, long stamp) {
    if (stamp != ABSENT) {
      Change c = byStamp.get(stamp);
      if (c == null) {
        return Integer.MAX_VALUE;
      }
      return c.key == key ? c.index : -1;
    }
    int best = -1;
    for (Change c : list) {
      if (c.stamp == ABSENT && c.state != State.FAILED) {
        best = c.index;
      }
    }
    return best;
  }
}
