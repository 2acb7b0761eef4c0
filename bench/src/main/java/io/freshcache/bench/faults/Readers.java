package io.freshcache.bench.faults;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.LoadSheddingException;
import io.freshcache.client.LoaderException;
import io.freshcache.client.Versioned;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The application side of the workload: several {@link CacheClient} instances, each in one
 * {@link Mode} (near cache or not, replica reads or not, versioned or unversioned loader), and
 * reader threads that read random keys of both tables through them at a fixed rate, loading from
 * PostgreSQL on a miss. Every read is recorded (key, start, the stamp it returned) to be judged
 * against the {@link ChangeLog} once the run is over. A sampler counts circuit-breaker openings.
 */
final class Readers implements AutoCloseable {
  /** How one client reads. */
  record Mode(String name, boolean nearCache, boolean replicaReads, boolean versioned) {}

  static final List<Mode> MODES = List.of(
      new Mode("near+versioned", true, false, true),
      new Mode("near+replica+unversioned", true, true, false),
      new Mode("replica+versioned", false, true, true),
      new Mode("plain+unversioned", false, false, false));

  /** One recorded read. */
  record Read(int key, int client, long startNanos, long stamp) {}

  final List<CacheClient> clients = new ArrayList<>();
  final List<Mode> modes = new ArrayList<>();
  final List<CachePolicy> policies = new ArrayList<>();
  private final SuiteTables tables;
  private final int threads;
  private final int perSecond;
  private final long seed;
  private final List<Thread> workers = new ArrayList<>();
  private final List<List<Read>> reads = new ArrayList<>();
  private final Thread sampler;
  private volatile boolean stop;
  final LongAdder readsDone = new LongAdder();
  final LongAdder shed = new LongAdder();
  final LongAdder loaderErrors = new LongAdder();
  final LongAdder wrongKey = new LongAdder();
  final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  final AtomicLong[] breakerOpens;
  final AtomicLong[] breakerOpenMillis;

  Readers(SuiteTables tables, int clientCount, int threads, int perSecond, long seed) {
    this.tables = tables;
    this.threads = threads;
    this.perSecond = perSecond;
    this.seed = seed;
    for (int i = 0; i < clientCount; i++) {
      Mode m = MODES.get(i % MODES.size());
      modes.add(m);
      // near-cache entries live 10 min: only a notice can drop them within a run
      policies.add(CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(m.nearCache())
          .nearCacheTtl(Duration.ofMinutes(10)).replicaReads(m.replicaReads()).build());
      clients.add(CacheClient.create(CacheClientConfig.fromEnv()));
    }
    breakerOpens = new AtomicLong[clientCount];
    breakerOpenMillis = new AtomicLong[clientCount];
    for (int i = 0; i < clientCount; i++) {
      breakerOpens[i] = new AtomicLong();
      breakerOpenMillis[i] = new AtomicLong();
    }
    sampler = new Thread(this::sampleBreakers, "fault-suite-breaker-sampler");
    sampler.setDaemon(true);
    sampler.start();
  }

  private void sampleBreakers() {
    CircuitBreaker.State[] last = new CircuitBreaker.State[clients.size()];
    long tick = 20;
    while (!stop) {
      for (int i = 0; i < clients.size(); i++) {
        CircuitBreaker.State s = clients.get(i).circuitState();
        if (s == CircuitBreaker.State.OPEN || s == CircuitBreaker.State.FORCED_OPEN) {
          breakerOpenMillis[i].addAndGet(tick);
          if (last[i] != CircuitBreaker.State.OPEN && last[i] != CircuitBreaker.State.FORCED_OPEN) {
            breakerOpens[i].incrementAndGet();
          }
        }
        last[i] = s;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(tick));
    }
  }

  /** @return whether every client with a near cache is subscribed to the notice channels */
  boolean nearSubscribed() {
    for (int i = 0; i < clients.size(); i++) {
      if (modes.get(i).nearCache()
          && clients.get(i).meters().get("cache.near.subscribed").gauge().value() != 1) {
        return false;
      }
    }
    return true;
  }

  /** Starts the reader threads; thread {@code i} reads through client {@code i % clients}. */
  void start() {
    for (int r = 0; r < threads; r++) {
      int me = r;
      List<Read> mine = new ArrayList<>();
      reads.add(mine);
      Thread t = new Thread(() -> read(me, mine), "fault-suite-reader-" + r);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
  }

  private void read(int me, List<Read> out) {
    SplittableRandom rnd = new SplittableRandom(seed * 17 + me);
    int client = me % clients.size();
    Connection[] db = new Connection[1];
    Pacer pacer = new Pacer(threads, perSecond);
    while (!stop) {
      pacer.await();
      int k = rnd.nextInt(tables.keys());
      long start = System.nanoTime();
      try {
        FaultRow v = read(client, k, () -> {
          try {
            if (db[0] == null) {
              db[0] = tables.connect();
            }
            return tables.load(db[0], k);
          } catch (SQLException e) {
            SqlWriters.closeQuietly(db[0]);
            db[0] = null;
            throw e;
          }
        });
        readsDone.increment();
        if (v != null && v.id() != tables.idOf(k)) {
          wrongKey.increment();
        }
        synchronized (out) {
          out.add(new Read(k, client, start, v == null ? ChangeLog.ABSENT : v.stamp()));
        }
      } catch (LoadSheddingException e) {
        shed.increment();
      } catch (LoaderException e) {
        loaderErrors.increment(); // the database was down: the caller sees the loader's failure
      } catch (RuntimeException e) {
        errors.computeIfAbsent(e.getClass().getName(), x -> new LongAdder()).increment();
      }
    }
    SqlWriters.closeQuietly(db[0]);
  }

  /** A loader of one row; throws what the database throws. */
  @FunctionalInterface
  interface RowLoader {
    FaultRow load() throws Exception;
  }

  /** Reads key {@code k} through client {@code client}, in the client's mode. */
  FaultRow read(int client, int k, RowLoader loader) {
    CacheClient c = clients.get(client);
    CachePolicy policy = policies.get(client);
    String key = tables.cacheKey(k);
    if (modes.get(client).versioned()) {
      return c.getOrLoadVersioned(key, FaultRow.class, policy, () -> {
        FaultRow row = loader.load();
        return row == null ? Versioned.<FaultRow>unversioned(null) : Versioned.of(row, row.version());
      });
    }
    return c.getOrLoad(key, FaultRow.class, policy, loader::load);
  }

  /** Stops the reader threads. */
  void stopReaders() throws InterruptedException {
    stop = true;
    for (Thread t : workers) {
      t.join(60_000);
    }
    sampler.join(5_000);
  }

  /** @return every recorded read */
  List<Read> reads() {
    List<Read> all = new ArrayList<>();
    for (List<Read> r : reads) {
      synchronized (r) {
        all.addAll(r);
      }
    }
    return all;
  }

  Map<String, Long> errorCounts() {
    Map<String, Long> m = new TreeMap<>();
    errors.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  @Override
  public void close() throws InterruptedException {
    if (!stop) {
      stopReaders();
    }
    for (CacheClient c : clients) {
      c.close();
    }
  }
}
