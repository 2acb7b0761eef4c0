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

  /** Near entries each near client's sampler checks per second. */
  static final int NEAR_SAMPLES_PER_SECOND = 50;

  /**
   * Waits until no near-cache sampler follows an entry any more (at most {@code max}).
   *
   * @param max how long to wait
   */
  void settleNearSamplers(Duration max) {
    long end = System.nanoTime() + max.toNanos();
    while (clients.stream().anyMatch(c -> c.nearCacheConsistency().pending() > 0) && System.nanoTime() < end) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }

  /** @return violations the near clients' samplers confirmed (stale past the last window) */
  long nearConfirmed() {
    return clients.stream().mapToLong(c -> c.nearCacheConsistency().confirmed()).sum();
  }

  /** @return the near-cache samplers' section of the report, markdown */
  String nearSamplerMarkdown() {
    StringBuilder b = new StringBuilder("\n## Near-cache sampler (client-lib, each near client's own view)\n\n");
    b.append(String.format(java.util.Locale.ROOT, "Each near client compared %d random near entries a second with"
        + " the fence and value Redis holds for their key; an entry Redis held something newer for was checked"
        + " again %s later and at %s while the near cache still held it, and confirmed (against Redis) if it"
        + " outlasted the last window.%n%n", NEAR_SAMPLES_PER_SECOND, CheckerProbe.DELAY.toSeconds() + "s",
        String.join(", ", CheckerProbe.WINDOWS.stream().map(d -> d.toSeconds() + "s").toList())));
    b.append("| client | sampled | consistent at once | apparent | unversioned | errors | still inconsistent by window"
        + " | confirmed | nines by window |\n|---|---|---|---|---|---|---|---|---|\n");
    List<String> findings = new ArrayList<>();
    for (int i = 0; i < clients.size(); i++) {
      io.freshcache.client.NearCacheConsistency c = clients.get(i).nearCacheConsistency();
      if (!c.enabled()) {
        continue;
      }
      StringBuilder nines = new StringBuilder();
      c.nines().forEach((w, n) -> nines.append(nines.length() == 0 ? "" : ", ").append(w).append(' ')
          .append(String.format(java.util.Locale.ROOT, "%.2f", n)));
      b.append(String.format(java.util.Locale.ROOT, "| %d %s | %d | %d | %d | %d | %d | %s | %d | %s |%n", i,
          modes.get(i).name(), c.sampled(), c.consistent(), c.apparent(), c.unversioned(), c.errors(),
          c.inconsistent(), c.confirmed(), nines));
      String name = modes.get(i).name();
      c.findings().stream().limit(3).forEach(f -> findings.add("client " + name + ": " + f));
    }
    if (!findings.isEmpty()) {
      b.append("\nFirst findings (inconsistent at a window, or confirmed):\n\n");
      findings.forEach(f -> b.append("- ").append(f).append('\n'));
    }
    return b.toString();
  }

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
      // near clients run the near-cache sampler, with the checker's windows of the suite
      clients.add(CacheClient.create(m.nearCache()
          ? CacheClientConfig.fromEnv().toBuilder().nearCacheSamplePerSecond(NEAR_SAMPLES_PER_SECOND)
              .nearCacheSampleDelay(CheckerProbe.DELAY).nearCacheSampleWindows(CheckerProbe.WINDOWS).build()
          : CacheClientConfig.fromEnv()));
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
