package io.freshcache.cdc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A stream of single-row updates on its own thread: {@code UPDATE table SET seq = n WHERE id =
 * n % rows} for n = 1, 2, ... at a fixed rate until {@link #stop(Duration)}. It has no fixed
 * length, so a test can keep it running through whatever it does to the stack (a restart, a kill)
 * however slow the machine, and stop it once changes were committed after that. Each update is
 * retried until it commits, on a new connection if need be, so the stream survives a database
 * restart; an update whose commit outcome was lost is simply written again, which the
 * at-least-once checks accept. Every value of {@code seq} in 1..{@link #committed()} has then
 * committed at least once.
 */
final class ChangeStream implements AutoCloseable {
  static final int ROWS = 16;

  private final String table;
  private final long periodNanos;
  private final AtomicLong committed = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final Thread thread;
  private volatile boolean stop;
  private volatile Throwable failure;

  /** Creates {@code table (id int primary key, seq bigint)} with {@value #ROWS} rows. */
  static void createTable(String table) throws SQLException {
    try (Connection c = StackSettings.connect()) {
      c.createStatement().execute("CREATE TABLE " + table + " (id int PRIMARY KEY, seq bigint)");
      c.createStatement().execute("INSERT INTO " + table + " SELECT g, 0 FROM generate_series(0, "
          + (ROWS - 1) + ") g");
    }
  }

  /** Starts the stream: {@code perSecond} updates a second until stopped. */
  ChangeStream(String table, int perSecond) {
    this.table = table;
    this.periodNanos = 1_000_000_000L / perSecond;
    this.thread = new Thread(this::run, "change-stream-" + table);
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    Connection c = null;
    long next = System.nanoTime();
    try {
      for (long n = 1; !stop; ) {
        LockSupport.parkNanos(next - System.nanoTime()); // pacing, not a wait for a condition
        next += periodNanos;
        try {
          if (c == null) {
            c = StackSettings.connect();
          }
          try (PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET seq = ? WHERE id = ?")) {
            ps.setLong(1, n);
            ps.setInt(2, (int) (n % ROWS));
            ps.executeUpdate();
          }
          committed.set(n);
          n++;
        } catch (SQLException e) {
          retries.incrementAndGet();
          close(c);
          c = null;
          LockSupport.parkNanos(Duration.ofMillis(200).toNanos()); // back off while it is down
          next = System.nanoTime();
        }
      }
    } catch (Throwable t) {
      failure = t;
    } finally {
      close(c);
    }
  }

  private static void close(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // the connection is gone anyway
      }
    }
  }

  /** @return the highest seq committed so far */
  long committed() {
    return committed.get();
  }

  /** @return how many updates failed and were tried again (the database was unreachable) */
  long retries() {
    return retries.get();
  }

  /** @return true while the stream writes (it was not stopped and did not fail) */
  boolean isRunning() {
    return thread.isAlive() && failure == null;
  }

  /**
   * Stops the stream and waits for its thread.
   *
   * @return the highest seq committed: every seq in 1..this has committed at least once
   * @throws AssertionError if the stream failed or its thread did not end within {@code timeout}
   */
  long stop(Duration timeout) throws InterruptedException {
    stop = true;
    thread.join(timeout.toMillis());
    if (failure != null) {
      throw new AssertionError("change stream failed", failure);
    }
    if (thread.isAlive()) {
      throw new AssertionError("change stream still running " + timeout + " after stop, at seq " + committed());
    }
    return committed();
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(10_000);
  }

  /**
   * The distinct {@code seq} values in the upserts' JSON payloads of a growing list of records,
   * decoding each record once however often {@link #update} is called.
   */
  static final class Seqs {
    private final TreeSet<Long> seen = new TreeSet<>();
    private int read;

    /** Adds the seqs of the records of {@code all} not read yet; {@code all} only grows. */
    Seqs update(List<EventTail.Received> all) {
      for (; read < all.size(); read++) {
        io.freshcache.protocol.CacheEvent e = all.get(read).event();
        // the service's freshness heartbeat (on by default) shares the topic: its rows carry no seq
        Object seqField = e.payload() == null ? null
            : io.freshcache.protocol.Codecs.json().decode(e.payload(), Map.class).get("seq");
        if (seqField != null) {
          long seq = ((Number) seqField).longValue();
          if (seq > 0) {
            seen.add(seq);
          }
        }
      }
      return this;
    }

    /** @return the number of records read */
    int records() {
      return read;
    }

    /** @return the number of distinct seqs */
    int distinct() {
      return seen.size();
    }

    /** @return true if every seq in 1..{@code last} was seen */
    boolean hasAll(long last) {
      return seen.headSet(last, true).size() == last;
    }

    /** @return up to {@code limit} seqs in 1..{@code last} that were not seen, in order */
    List<Long> missing(long last, int limit) {
      List<Long> missing = new ArrayList<>();
      for (long s = 1; s <= last && missing.size() < limit; s++) {
        if (!seen.contains(s)) {
          missing.add(s);
        }
      }
      return missing;
    }
  }
}
