package io.freshcache.cdc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A stream of single-row updates on its own thread: {@code UPDATE table SET seq = n WHERE id =
 * n % rows} for n = 1..count at a fixed rate. Each update is retried until it commits, on a new
 * connection if need be, so the stream survives a database restart; an update whose commit
 * outcome was lost is simply written again, which the at-least-once checks accept. Every value
 * of {@code seq} in 1..count has then committed at least once.
 */
final class ChangeStream implements AutoCloseable {
  static final int ROWS = 16;

  private final String table;
  private final long count;
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

  ChangeStream(String table, long count, int perSecond) {
    this.table = table;
    this.count = count;
    this.periodNanos = 1_000_000_000L / perSecond;
    this.thread = new Thread(this::run, "change-stream-" + table);
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    Connection c = null;
    long next = System.nanoTime();
    try {
      for (long n = 1; n <= count && !stop; ) {
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

  long retries() {
    return retries.get();
  }

  /** Waits for the stream to end. */
  void join(Duration timeout) throws InterruptedException {
    thread.join(timeout.toMillis());
    if (failure != null) {
      throw new AssertionError("change stream failed", failure);
    }
    if (thread.isAlive()) {
      throw new AssertionError("change stream still running after " + timeout + " at seq " + committed());
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(10_000);
  }
}
