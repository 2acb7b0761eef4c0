package io.freshcache.bench.faults;

import io.freshcache.bench.faults.ChangeLog.Change;
import io.freshcache.bench.faults.ChangeLog.State;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The database side of the workload: writer threads that update, delete and re-insert rows by
 * SQL at a fixed rate, each owning the ids {@code id % threads == thread} (so a key's changes
 * are serial), plus the bulk changes the schedule asks for (seed, TRUNCATE and re-fill, the
 * oversize row), which hold a lock that pauses the writer threads. Every change is registered in
 * the {@link ChangeLog} with its transaction id before its commit is sent.
 */
final class SqlWriters implements AutoCloseable {
  /** Share of writes to an existing row that delete it; a deleted row is inserted again (version 1). */
  static final double DELETE_SHARE = 0.15;

  private final SuiteTables tables;
  private final ChangeLog log;
  private final int threads;
  private final int perSecond;
  private final long seed;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock(true);
  private final boolean[] exists;
  private final boolean[] resync;
  private final AtomicLong stamps = new AtomicLong();
  private final List<Thread> workers = new ArrayList<>();
  private volatile boolean stop;
  final AtomicLong updates = new AtomicLong();
  final AtomicLong deletes = new AtomicLong();
  final AtomicLong inserts = new AtomicLong();
  final AtomicLong sqlErrors = new AtomicLong();
  final AtomicLong uncertain = new AtomicLong();

  /** The commit of these changes may or may not have happened: the connection broke during it. */
  static final class UncertainCommit extends Exception {
    final transient List<Change> changes;

    UncertainCommit(List<Change> changes, SQLException cause) {
      super(cause);
      this.changes = changes;
    }
  }

  @FunctionalInterface
  interface Body {
    int run(Connection c) throws SQLException;
  }

  /** A change a transaction will make: the key, its new stamp ({@link ChangeLog#ABSENT} for none), the event key, a label. */
  record Planned(int key, long stamp, String eventKey, String kind) {}

  SqlWriters(SuiteTables tables, ChangeLog log, int threads, int perSecond, long seed) {
    this.tables = tables;
    this.log = log;
    this.threads = threads;
    this.perSecond = perSecond;
    this.seed = seed;
    this.exists = new boolean[tables.keys()];
    this.resync = new boolean[tables.keys()];
  }

  /**
   * Runs {@code body} in one transaction and registers {@code planned} under its transaction id,
   * then commits.
   *
   * @return the changes, committed; null if {@code body} changed another number of rows than
   *     {@code expectedRows} (rolled back, nothing registered)
   * @throws SQLException before the commit was sent: nothing happened
   * @throws UncertainCommit if the commit itself failed
   */
  List<Change> transact(Connection c, Body body, int expectedRows, List<Planned> planned)
      throws SQLException, UncertainCommit {
    long start = System.nanoTime();
    List<Change> changes = new ArrayList<>();
    try {
      c.setAutoCommit(false);
      int n = body.run(c);
      if (expectedRows >= 0 && n != expectedRows) {
        c.rollback();
        return null;
      }
      long txid;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT txid_current()")) {
        rs.next();
        txid = rs.getLong(1);
      }
      for (Planned p : planned) {
        changes.add(log.begin(p.key(), p.stamp(), txid, p.eventKey(), p.kind(), start));
      }
    } catch (SQLException e) {
      for (Change ch : changes) {
        ch.state = State.FAILED; // the transaction was never committed
      }
      closeQuietly(c);
      throw e;
    }
    try {
      c.commit();
    } catch (SQLException e) {
      for (Change ch : changes) {
        ch.state = State.UNCERTAIN;
      }
      uncertain.addAndGet(changes.size());
      closeQuietly(c);
      throw new UncertainCommit(changes, e);
    }
    long now = System.nanoTime();
    for (Change ch : changes) {
      ch.committed(now);
    }
    return changes;
  }

  /**
   * Settles changes whose commit is uncertain by reading their rows back (retrying while the
   * database is down, up to {@code timeout}): committed at the time of the read-back (a late
   * upper bound) if the row shows the change, failed otherwise.
   */
  void reconcile(List<Change> changes, long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    while (true) {
      try (Connection c = tables.connect()) {
        long now = System.nanoTime();
        for (Change ch : changes) {
          FaultRow row = tables.load(c, ch.key);
          long seen = row == null ? ChangeLog.ABSENT : row.stamp();
          if (seen == ch.stamp) {
            ch.committed(now);
          } else {
            ch.state = State.FAILED;
          }
          exists[ch.key] = row != null;
        }
        return;
      } catch (SQLException e) {
        if (System.nanoTime() > deadline) {
          return; // left UNCERTAIN: reported as unsettled
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300));
      }
    }
  }

  /** Inserts every row of both tables (version 1), one transaction per table. */
  void seed() throws Exception {
    for (int t : new int[] {SuiteTables.INV, SuiteTables.UPS}) {
      bulkInsert(t, "seed");
    }
  }

  private void bulkInsert(int t, String kind) throws Exception {
    long base = stamps.getAndAdd(tables.rows) + 1;
    List<Planned> planned = new ArrayList<>();
    for (long id = 1; id <= tables.rows; id++) {
      int k = tables.key(t, id);
      planned.add(new Planned(k, base + id - 1, tables.cacheKey(k), kind));
    }
    List<Change> changes = null;
    for (int attempt = 0; changes == null && attempt < 20; attempt++) {
      try (Connection c = tables.connect()) {
        changes = transact(c, conn -> {
          try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + tables.table(t)
              + " (id, name, stamp, version) SELECT g, ?, ? + g - 1, 1 FROM generate_series(1, ?) g")) {
            ps.setString(1, kind);
            ps.setLong(2, base);
            ps.setInt(3, tables.rows);
            return ps.executeUpdate();
          }
        }, tables.rows, planned);
      } catch (UncertainCommit u) {
        reconcile(u.changes, TimeUnit.SECONDS.toNanos(60));
        changes = u.changes;
      } catch (SQLException e) {
        sqlErrors.incrementAndGet();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      }
    }
    if (changes == null) {
      throw new IllegalStateException("could not insert the rows of " + tables.table(t));
    }
    for (long id = 1; id <= tables.rows; id++) {
      exists[tables.key(t, id)] = true;
    }
  }

  /** TRUNCATE of table {@code t}, then every row inserted again at version 1; the writers wait meanwhile. */
  void truncateAndRefill(int t) throws Exception {
    lock.writeLock().lock();
    try {
      List<Planned> planned = new ArrayList<>();
      for (long id = 1; id <= tables.rows; id++) {
        planned.add(new Planned(tables.key(t, id), ChangeLog.ABSENT, tables.namespaceKey(t), "truncate"));
      }
      boolean done = false;
      for (int attempt = 0; !done && attempt < 20; attempt++) {
        try (Connection c = tables.connect()) {
          transact(c, conn -> {
            try (Statement s = conn.createStatement()) {
              s.execute("TRUNCATE " + tables.table(t));
            }
            return 0;
          }, -1, planned);
          done = true;
        } catch (UncertainCommit u) {
          reconcile(u.changes, TimeUnit.SECONDS.toNanos(60));
          done = true;
        } catch (SQLException e) {
          sqlErrors.incrementAndGet();
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        }
      }
      for (long id = 1; id <= tables.rows; id++) {
        exists[tables.key(t, id)] = false;
      }
      bulkInsert(t, "refill");
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Grows the oversize row's {@code blob} to about {@code bytes} of random text (its upsert
   * event, base64 in JSON, is then larger than the producer's request size), waits
   * {@code holdMillis}, and shrinks it back. Both are tracked changes.
   */
  void oversize(int bytes, long holdMillis) throws Exception {
    int k = tables.oversizeKey();
    blob(k, "oversize", "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, " + (bytes / 32 + 1) + "))");
    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(holdMillis));
    blob(k, "shrink", "''");
  }

  private void blob(int k, String kind, String expression) throws Exception {
    lock.readLock().lock();
    try {
      for (int attempt = 0; attempt < 20; attempt++) {
        long stamp = stamps.incrementAndGet();
        try (Connection c = tables.connect()) {
          List<Change> ch = transact(c, conn -> {
            try (PreparedStatement ps = conn.prepareStatement("UPDATE " + tables.table(tables.tableOf(k))
                + " SET blob = " + expression + ", name = ?, stamp = ?, version = version + 1 WHERE id = ?")) {
              ps.setString(1, kind);
              ps.setLong(2, stamp);
              ps.setLong(3, tables.idOf(k));
              return ps.executeUpdate();
            }
          }, 1, List.of(new Planned(k, stamp, tables.cacheKey(k), kind)));
          if (ch == null) {
            throw new IllegalStateException("the oversize row " + tables.cacheKey(k) + " is missing");
          }
          return;
        } catch (UncertainCommit u) {
          reconcile(u.changes, TimeUnit.SECONDS.toNanos(60));
          return;
        } catch (SQLException e) {
          sqlErrors.incrementAndGet();
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        }
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Starts the writer threads. */
  void start() {
    for (int w = 0; w < threads; w++) {
      int me = w;
      Thread t = new Thread(() -> write(me), "fault-suite-sql-writer-" + w);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
  }

  private void write(int me) {
    SplittableRandom rnd = new SplittableRandom(seed * 31 + me);
    List<Integer> owned = new ArrayList<>();
    for (int k = 0; k < tables.keys(); k++) {
      if (tables.idOf(k) % threads == me && k != tables.oversizeKey()) {
        owned.add(k);
      }
    }
    Pacer pacer = new Pacer(threads, perSecond);
    Connection c = null;
    while (!stop) {
      pacer.await();
      int k = owned.get(rnd.nextInt(owned.size()));
      lock.readLock().lock();
      try {
        if (c == null) {
          c = tables.connect();
        }
        if (resync[k]) {
          exists[k] = tables.load(c, k) != null;
          resync[k] = false;
        }
        writeOne(c, k, rnd);
      } catch (SQLException e) {
        sqlErrors.incrementAndGet();
        closeQuietly(c);
        c = null;
        resync[k] = true;
      } catch (UncertainCommit u) {
        c = null;
        reconcile(u.changes, TimeUnit.SECONDS.toNanos(60));
      } finally {
        lock.readLock().unlock();
      }
    }
    closeQuietly(c);
  }

  private void writeOne(Connection c, int k, SplittableRandom rnd) throws SQLException, UncertainCommit {
    String table = tables.table(tables.tableOf(k));
    long id = tables.idOf(k);
    long stamp = stamps.incrementAndGet();
    List<Change> done;
    if (!exists[k]) {
      done = transact(c, conn -> {
        try (PreparedStatement ps = conn.prepareStatement(
            "INSERT INTO " + table + " (id, name, stamp, version) VALUES (?, ?, ?, 1)")) {
          ps.setLong(1, id);
          ps.setString(2, "reinsert-" + stamp);
          ps.setLong(3, stamp);
          return ps.executeUpdate();
        }
      }, 1, List.of(new Planned(k, stamp, tables.cacheKey(k), "reinsert")));
      if (done != null) {
        inserts.incrementAndGet();
        exists[k] = true;
      }
    } else if (rnd.nextDouble() < DELETE_SHARE) {
      done = transact(c, conn -> {
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM " + table + " WHERE id = ?")) {
          ps.setLong(1, id);
          return ps.executeUpdate();
        }
      }, 1, List.of(new Planned(k, ChangeLog.ABSENT, tables.cacheKey(k), "delete")));
      if (done != null) {
        deletes.incrementAndGet();
        exists[k] = false;
      }
    } else {
      done = transact(c, conn -> {
        try (PreparedStatement ps = conn.prepareStatement(
            "UPDATE " + table + " SET name = ?, stamp = ?, version = version + 1 WHERE id = ?")) {
          ps.setString(1, "update-" + stamp);
          ps.setLong(2, stamp);
          ps.setLong(3, id);
          return ps.executeUpdate();
        }
      }, 1, List.of(new Planned(k, stamp, tables.cacheKey(k), "update")));
      if (done != null) {
        updates.incrementAndGet();
      }
    }
    if (done == null) {
      resync[k] = true;
    }
  }

  /** Stops the writer threads and waits for them. */
  void stopWriters() throws InterruptedException {
    stop = true;
    for (Thread t : workers) {
      t.join(120_000);
    }
  }

  @Override
  public void close() throws InterruptedException {
    stopWriters();
  }

  static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // the connection is gone anyway
      }
    }
  }
}
