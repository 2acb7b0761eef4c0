package io.freshcache.bench.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;

/**
 * The sample application of {@code dev/demo}: products in PostgreSQL, reads through client-lib,
 * price updates by SQL. cdc-ingest and cache-writer run as separate processes (started by
 * {@code dev/demo}); this program only reads, writes SQL, and watches.
 *
 * <p>For every update it measures commit → invalidation: the time from the UPDATE's commit until
 * Redis no longer serves the old version of the product (the key is gone or holds the new
 * version). The key is read through the cache just before the update, so there is always an old
 * entry to invalidate.
 *
 * <p>Options: {@code --duration 60s} (measured), {@code --warmup 10s} (run first, not counted;
 * {@code 0} for none), {@code --products 200}, {@code --readers 2} ({@code 0}: only the updater's reads, to see the
 * latency without the readers' CPU load),
 * {@code --updates-per-sec 20}; {@code --seed-only} creates and fills the table, then exits. Connections from {@code REDIS_NODES}, {@code JDBC_URL},
 * {@code PG_USER}, {@code PG_PASSWORD}, {@code KAFKA_BOOTSTRAP_SERVERS} (defaults: the local
 * stack).
 */
public final class DemoMain {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final CachePolicy POLICY = CachePolicy.PRODUCT_CATALOG;

  private final Options options;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong updates = new AtomicLong();
  private final AtomicLong invalidationsSeen = new AtomicLong();
  private final AtomicLong invalidationsMissed = new AtomicLong();
  private final Recorder latency = new Recorder(3);
  private final Recorder warmupLatency = new Recorder(3);
  /** Changes committed before this instant belong to the warm-up and are not counted. */
  private volatile long measureFrom = Long.MAX_VALUE;
  private final Histogram total = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
  private volatile boolean stop;

  private DemoMain(Options options) {
    this.options = options;
  }

  /** @param args see the class comment */
  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("demo: " + e.getMessage());
      System.err.println("usage: dev/demo [--duration 60s] [--warmup 10s] [--products 200] [--readers 2]"
          + " [--updates-per-sec 20]");
      System.exit(2);
      return;
    }
    new DemoMain(o).run();
  }

  private void run() throws Exception {
    Map<String, String> env = System.getenv();
    String jdbc = env.getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop");
    String user = env.getOrDefault("PG_USER", "freshcache");
    String password = env.getOrDefault("PG_PASSWORD", "freshcache");
    String kafka = env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
    CacheClientConfig config = CacheClientConfig.fromEnv();

    try (ProductStore seed = new ProductStore(jdbc, user, password)) {
      seed.seed(options.products);
    }
    if (options.seedOnly) {
      System.out.printf("demo: table public.products ready with %d products%n", options.products);
      return;
    }
    System.out.printf("demo: %d products, %d readers, %d updates/s for %ds after a %ds warm-up%n",
        options.products, options.readers, options.updatesPerSec, options.duration.toSeconds(),
        options.warmup.toSeconds());

    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop = true;
      try {
        main.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));

    RedisClusterClient rawClient = RedisClusterClient.create("redis://" + config.redis().nodes().get(0));
    try (CacheClient cache = CacheClient.create(config);
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka));
        StatefulRedisClusterConnection<byte[], byte[]> raw = rawClient.connect(ByteArrayCodec.INSTANCE)) {
      awaitWriterCaughtUp(admin);
      long writerStart = writerCommitted(admin);
      ExecutorService pool = Executors.newFixedThreadPool(options.readers + 2);
      List<java.util.concurrent.Future<?>> tasks = new ArrayList<>();
      for (int i = 0; i < options.readers; i++) {
        tasks.add(pool.submit(() -> read(cache, jdbc, user, password)));
      }
      tasks.add(pool.submit(() -> update(cache, raw, jdbc, user, password)));
      warmUp();
      long readsBefore = reads.get();
      CacheClient.Stats before = cache.stats();
      long start = System.nanoTime();
      measureFrom = start;
      long end = start + options.duration.toNanos();
      long lastReads = 0;
      long lastTick = start;
      while (!stop && System.nanoTime() < end) {
        LockSupport.parkNanos(Math.min(TimeUnit.SECONDS.toNanos(5), Math.max(1, end - System.nanoTime())));
        long now = System.nanoTime();
        Histogram interval = latency.getIntervalHistogram();
        total.add(interval);
        CacheClient.Stats s = cache.stats();
        long r = reads.get() - readsBefore;
        System.out.printf("[%3ds] reads/s %7.0f  hit ratio %5.1f%%  loader calls %6d  updates %5d"
                + "  invalidations %5d  commit->invalidation p50 %s p99 %s%n",
            TimeUnit.NANOSECONDS.toSeconds(now - start), (r - lastReads) * 1e9 / (now - lastTick),
            hitRatio(s, before), s.loaderCalls() - before.loaderCalls(), updates.get(), invalidationsSeen.get(),
            ms(total.getValueAtPercentile(50), total.getTotalCount()),
            ms(total.getValueAtPercentile(99), total.getTotalCount()));
        lastReads = r;
        lastTick = now;
      }
      stop = true;
      pool.shutdown();
      pool.awaitTermination(15, TimeUnit.SECONDS);
      total.add(latency.getIntervalHistogram());
      double seconds = (System.nanoTime() - start) / 1e9;
      CacheClient.Stats s = cache.stats();
      long writerApplied = writerCommitted(admin) - writerStart;
      System.out.println();
      System.out.println("== freshcache demo summary ==");
      System.out.printf("duration               %.1f s%n", seconds);
      long measuredReads = reads.get() - readsBefore;
      System.out.printf("reads                  %d (%.0f/s)%n", measuredReads, measuredReads / seconds);
      System.out.printf("hit ratio              %.1f%% (%d hits, %d misses)%n", hitRatio(s, before),
          s.hits() - before.hits(), s.misses() - before.misses());
      System.out.printf("loader calls           %d%n", s.loaderCalls() - before.loaderCalls());
      System.out.printf("fallbacks to loader    %d%n", s.fallbacks() - before.fallbacks());
      System.out.printf("updates (SQL)          %d%n", updates.get());
      System.out.printf("invalidations applied  %d seen by the demo, %d not seen within 10 s;"
          + " cache-writer committed %d events%s%n", invalidationsSeen.get(), invalidationsMissed.get(), writerApplied,
          options.warmup.isZero() ? "" : " (warm-up included)");
      System.out.printf("commit->invalidation   p50 %s  p99 %s  max %s  (n=%d)%n",
          ms(total.getValueAtPercentile(50), total.getTotalCount()),
          ms(total.getValueAtPercentile(99), total.getTotalCount()),
          ms(total.getMaxValue(), total.getTotalCount()), total.getTotalCount());
      int stale = coherenceCheck(raw, jdbc, user, password);
      System.out.printf("coherence check        %d of %d products cached with an older version than the database%n",
          stale, options.products);
    } finally {
      rawClient.shutdown();
    }
  }

  private void read(CacheClient cache, String jdbc, String user, String password) {
    try (ProductStore db = new ProductStore(jdbc, user, password)) {
      while (!stop) {
        long id = 1 + ThreadLocalRandom.current().nextInt(options.products);
        cache.getOrLoad("catalog:product:" + id, Product.class, POLICY, () -> db.find(id));
        reads.incrementAndGet();
      }
    } catch (Exception e) {
      System.err.println("reader stopped: " + e);
    }
  }

  private void update(CacheClient cache, StatefulRedisClusterConnection<byte[], byte[]> raw,
      String jdbc, String user, String password) {
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / options.updatesPerSec;
    ExecutorService probes = Executors.newFixedThreadPool(4);
    try (ProductStore db = new ProductStore(jdbc, user, password)) {
      long next = System.nanoTime();
      while (!stop) {
        long id = 1 + ThreadLocalRandom.current().nextInt(options.products);
        String key = "catalog:product:" + id;
        cache.getOrLoad(key, Product.class, POLICY, () -> db.find(id));
        long version = db.bumpPrice(id, 1);
        long committedAt = System.nanoTime();
        if (committedAt >= measureFrom) {
          updates.incrementAndGet();
        }
        probes.submit(() -> probe(raw, CacheKey.parse(key), version, committedAt));
        next += periodNanos;
        LockSupport.parkNanos(next - System.nanoTime());
      }
    } catch (Exception e) {
      System.err.println("updater stopped: " + e);
    } finally {
      probes.shutdown();
      try {
        probes.awaitTermination(11, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Runs the workload for the warm-up time without counting it: the services' first seconds
   * (JIT compilation, Kafka metadata, consumer fetch positions) cost seconds per change on a small
   * machine and would dominate the measured tail. Prints what the warm-up saw.
   */
  private void warmUp() {
    if (options.warmup.isZero()) {
      return;
    }
    System.out.printf("demo: warming up for %ds (not counted) ...%n", options.warmup.toSeconds());
    long end = System.nanoTime() + options.warmup.toNanos();
    while (!stop && System.nanoTime() < end) {
      LockSupport.parkNanos(Math.max(1, end - System.nanoTime()));
    }
    Histogram h = warmupLatency.getIntervalHistogram();
    System.out.printf("demo: warm-up done: commit->invalidation p50 %s p99 %s max %s (n=%d, changes"
            + " committed in the warm-up and seen within 10 s so far)%n",
        ms(h.getValueAtPercentile(50), h.getTotalCount()), ms(h.getValueAtPercentile(99), h.getTotalCount()),
        ms(h.getMaxValue(), h.getTotalCount()), h.getTotalCount());
  }

  /** Waits until Redis stops serving a version older than {@code version} of {@code key}. */
  private void probe(StatefulRedisClusterConnection<byte[], byte[]> raw, CacheKey key, long version, long committedAt) {
    byte[] valueKey = key.valueKey(POLICY.schemaVersion()).getBytes(StandardCharsets.UTF_8);
    long deadline = committedAt + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (cachedVersion(raw, valueKey) >= version) {
        long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - committedAt);
        if (committedAt >= measureFrom) {
          latency.recordValue(Math.min(micros, TimeUnit.SECONDS.toMicros(60)));
          invalidationsSeen.incrementAndGet();
        } else {
          warmupLatency.recordValue(Math.min(micros, TimeUnit.SECONDS.toMicros(60)));
        }
        return;
      }
      LockSupport.parkNanos(200_000);
    }
    if (committedAt >= measureFrom) {
      invalidationsMissed.incrementAndGet();
    }
  }

  /** @return the cached product's version, or {@code Long.MAX_VALUE} if nothing is cached */
  private static long cachedVersion(StatefulRedisClusterConnection<byte[], byte[]> raw, byte[] valueKey) {
    byte[] v = raw.sync().get(valueKey);
    if (v == null) {
      return Long.MAX_VALUE;
    }
    try {
      return JSON.readValue(Envelope.decode(v).payload(), Product.class).version();
    } catch (Exception e) {
      return Long.MAX_VALUE;
    }
  }

  private int coherenceCheck(StatefulRedisClusterConnection<byte[], byte[]> raw, String jdbc,
      String user, String password) throws Exception {
    // G1: once writes stop and the pipeline drains, every cached key equals its row or is absent
    int stale = 0;
    try (ProductStore db = new ProductStore(jdbc, user, password)) {
      for (int id = 1; id <= options.products; id++) {
        byte[] valueKey = CacheKey.of("catalog", "product", id).valueKey(POLICY.schemaVersion())
            .getBytes(StandardCharsets.UTF_8);
        long rowVersion = db.find(id).version();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long cached;
        while ((cached = cachedVersion(raw, valueKey)) < rowVersion && System.nanoTime() < deadline) {
          LockSupport.parkNanos(1_000_000);
        }
        if (cached < rowVersion) {
          stale++;
        }
      }
    }
    return stale;
  }

  /** A writer group that starts from the earliest offset first replays the topic's backlog. */
  private void awaitWriterCaughtUp(Admin admin) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    long lastPrint = 0;
    while (!stop) {
      long behind = writerLag(admin);
      if (behind == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        System.out.printf("demo: cache-writer still %d events behind after 180 s; measuring anyway%n", behind);
        return;
      }
      if (System.nanoTime() - lastPrint > TimeUnit.SECONDS.toNanos(2)) {
        System.out.printf("demo: cache-writer catching up with the topics' backlog: %d events behind%n", behind);
        lastPrint = System.nanoTime();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }

  /** @return events on the writer's topics not yet committed by its group, or -1 if unknown */
  private static long writerLag(Admin admin) throws Exception {
    List<String> topics = List.of("freshcache.changes", "freshcache.writes");
    Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
    for (var d : admin.describeTopics(topics).allTopicNames().get(10, TimeUnit.SECONDS).values()) {
      for (var p : d.partitions()) {
        latest.put(new org.apache.kafka.common.TopicPartition(d.name(), p.partition()),
            org.apache.kafka.clients.admin.OffsetSpec.latest());
      }
    }
    Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets("freshcache-writer").partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
    long behind = 0;
    for (var e : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      behind += e.getValue().offset() - (c == null ? 0 : c.offset());
    }
    return behind;
  }

  private static long writerCommitted(Admin admin) {
    try {
      Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets("freshcache-writer").partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
      return offsets.values().stream().filter(o -> o != null).mapToLong(OffsetAndMetadata::offset).sum();
    } catch (Exception e) {
      return 0;
    }
  }

  /** @return the hit ratio in percent of the reads since {@code before} */
  private static double hitRatio(CacheClient.Stats s, CacheClient.Stats before) {
    long hits = s.hits() - before.hits();
    long all = hits + s.misses() - before.misses();
    return all == 0 ? 0 : 100.0 * hits / all;
  }

  private static String ms(long micros, long count) {
    return count == 0 ? "-" : String.format("%.1f ms", micros / 1000.0);
  }

  /** Command-line options. */
  record Options(Duration duration, Duration warmup, int products, int readers, int updatesPerSec,
      boolean seedOnly) {
    static Options parse(String[] args) {
      Duration duration = Duration.ofSeconds(60);
      Duration warmup = Duration.ofSeconds(10);
      int products = 200;
      int readers = 2;
      int updates = 20;
      boolean seedOnly = false;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String value;
        if (a.equals("--seed-only")) {
          seedOnly = true;
          continue;
        }
        if (a.contains("=")) {
          value = a.substring(a.indexOf('=') + 1);
          a = a.substring(0, a.indexOf('='));
        } else if (i + 1 < args.length) {
          value = args[++i];
        } else {
          throw new IllegalArgumentException(a + " needs a value");
        }
        switch (a) {
          case "--duration" -> duration = parseDuration(value);
          case "--warmup" -> warmup = value.equals("0") || value.equals("0s") ? Duration.ZERO : parseDuration(value);
          case "--products" -> products = positive(a, value);
          case "--readers" -> readers = nonNegative(a, value);
          case "--updates-per-sec" -> updates = positive(a, value);
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
      return new Options(duration, warmup, products, readers, updates, seedOnly);
    }

    static Duration parseDuration(String v) {
      try {
        if (v.endsWith("m")) {
          return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
        }
        long s = Long.parseLong(v.endsWith("s") ? v.substring(0, v.length() - 1) : v);
        if (s <= 0) {
          throw new NumberFormatException();
        }
        return Duration.ofSeconds(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--duration and --warmup must be seconds (60, 60s) or minutes (2m)"
            + " but was '" + v + "'");
      }
    }

    static int nonNegative(String name, String v) {
      return v.trim().equals("0") ? 0 : positive(name, v);
    }

    static int positive(String name, String v) {
      try {
        int n = Integer.parseInt(v);
        if (n <= 0) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " must be a positive integer but was '" + v + "'");
      }
    }
  }
}
