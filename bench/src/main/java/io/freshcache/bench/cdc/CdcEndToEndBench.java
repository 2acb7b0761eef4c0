package io.freshcache.bench.cdc;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * End-to-end benchmark of the CDC path on the local stack: PostgreSQL commit → cdc-ingest →
 * Kafka → cache-writer → key invalidated in Redis, with cache-writer in this JVM.
 *
 * <p>Per run: (1) latency at a fixed rate, open loop: generator threads dispatch single-row
 * updates on a schedule; end to end = the generator's commit returning → the writer's
 * invalidation notice for that key arriving (sharded pub/sub, published right after the apply);
 * commit→produced from cdc-ingest's timer (the database's commit timestamp to Kafka's ack);
 * produced→applied from the event's {@code producedAtMs} (read from the topic) to the notice.
 * (2) Throughput: a backlog of updates (1,000-row statements) is committed while two replication
 * slots hold the WAL; a Debezium engine with a no-op handler drains one slot, then cdc-ingest
 * (with cache-writer applying) drains the other, each timed from its first to its last change.
 * Once per invocation: idle CPU and RSS of cdc-ingest as its own JVM ({@code bin/cdc-ingest}).
 *
 * <p>Run: {@code java -cp bench/target/bench-*.jar:bench/target/lib/* io.freshcache.bench.cdc.CdcEndToEndBench [--runs 3] [--rate 1000]
 * [--seconds 20] [--bulk 100000] [--idle-seconds 30] [--report file.md] [--smoke]}. Settings of the
 * stack come from the usual environment variables ({@code dev/stack env}).
 */
public final class CdcEndToEndBench {
  static final String TABLE = "public.bench_cdc_items";
  static final int ROWS = 10_000;
  static final int GENERATORS = 4;

  final Options o;
  final String id = Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
  final String topic = "bench-cdc-" + id;
  /** Nobody consumes it: cdc-ingest's own drain rate, without cache-writer competing for CPU. */
  final String aloneTopic = "bench-cdc-alone-" + id;
  final CdcIngestConfig base;
  final LagMatcher matcher = new LagMatcher();
  final List<String> report = new ArrayList<>();
  CacheWriter writer;

  /** Command-line options. */
  record Options(int runs, int rate, int seconds, int warmupSeconds, int bulk, int rowsPerTx,
      int idleSeconds, Path report, boolean smoke, boolean idle, boolean warmupRun) {
    static Options parse(String... args) {
      Map<String, String> m = new HashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (args[i].equals("--smoke")) {
          m.put("smoke", "true");
        } else if (args[i].startsWith("--") && i + 1 < args.length) {
          m.put(args[i].substring(2), args[++i]);
        }
      }
      boolean smoke = m.containsKey("smoke");
      return new Options(Integer.parseInt(m.getOrDefault("runs", smoke ? "1" : "3")),
          Integer.parseInt(m.getOrDefault("rate", smoke ? "200" : "1000")),
          Integer.parseInt(m.getOrDefault("seconds", smoke ? "2" : "20")),
          Integer.parseInt(m.getOrDefault("warmup", smoke ? "1" : "3")),
          Integer.parseInt(m.getOrDefault("bulk", smoke ? "2000" : "100000")),
          Integer.parseInt(m.getOrDefault("rows-per-tx", "1000")),
          Integer.parseInt(m.getOrDefault("idle-seconds", smoke ? "2" : "30")),
          m.containsKey("report") ? Path.of(m.get("report")) : null, smoke,
          !"false".equals(m.getOrDefault("idle", smoke ? "false" : "true")),
          !"false".equals(m.getOrDefault("warmup-run", smoke ? "false" : "true")));
    }
  }

  /** What one run measured. */
  record RunResult(long sent, long matched, double e2eP50, double e2eP99, double e2eMax,
      double produceP50, double produceP99, double appliedP50, double appliedP99,
      double noopRate, double cdcRate, double e2eRate, double aloneRate, double load) {}

  CdcEndToEndBench(Options o) {
    this.o = o;
    this.base = CdcIngestConfig.fromEnv().toBuilder().httpPort(0).topic(topic)
        .rules(List.of(TableRule.invalidate(TABLE, "bench:item:{id}"))).build();
  }

  public static void main(String[] args) throws Exception {
    quietDebeziumStatistics();
    if (List.of(args).contains("--noop-live")) {
      CdcEndToEndBench b = new CdcEndToEndBench(Options.parse(args));
      b.setUp();
      try {
        b.noopLive();
      } finally {
        b.tearDown();
      }
      return;
    }
    List<RunResult> results = new CdcEndToEndBench(Options.parse(args)).run();
    System.exit(results.isEmpty() ? 1 : 0);
  }

  List<RunResult> run() throws Exception {
    setUp();
    List<RunResult> results = new ArrayList<>();
    String idle = "";
    ExecutorService noticeThread = null;
    RedisClusterClient redis = RedisClusterClient.create(
        "redis://" + CacheWriterConfig.fromEnv().redis().nodes().get(0));
    try (StatefulRedisClusterPubSubConnection<String, String> notices = subscribe(redis);
        TopicReader reader = new TopicReader()) {
      writer = CacheWriter.start(CacheWriterConfig.fromEnv().toBuilder().topics(List.of(topic))
          .groupId("bench-cdc-" + id).httpPort(0).build(), new SimpleMeterRegistry());
      if (o.warmupRun) {
        log("warm-up run (JIT, connections; not reported)");
        latency(0);
        throughput(0);
      }
      for (int run = 1; run <= o.runs; run++) {
        double load = Proc.load1();
        double[] latency = latency(run);
        double[] throughput = throughput(run);
        RunResult r = new RunResult((long) latency[0], (long) latency[1], latency[2], latency[3],
            latency[4], latency[5], latency[6], latency[7], latency[8], throughput[0], throughput[1],
            throughput[2], throughput[3], load);
        results.add(r);
        log("run %d: %s", run, r);
      }
      if (o.idle) {
        idle = idleAndRss();
      }
    } finally {
      if (writer != null) {
        writer.close();
      }
      redis.shutdown();
      tearDown();
    }
    String md = markdown(results, idle);
    System.out.println(md);
    if (o.report != null) {
      Files.writeString(o.report, md);
    }
    return results;
  }

  // ---- latency --------------------------------------------------------------------------------

  /** @return sent, matched, e2e p50/p99/max, commit→produced p50/p99, produced→applied p50/p99 (ms) */
  double[] latency(int run) throws Exception {
    return latency(run, base, o.rate, o.seconds, o.warmupSeconds);
  }

  /**
   * One latency run with the given cdc-ingest settings at {@code rate} changes/s.
   *
   * @return as {@link #latency(int)}, then the p99 of the hops (ms): database commit → mapped,
   *     mapped → handed to the producer, handed to the producer → notice
   */
  double[] latency(int run, CdcIngestConfig cdcConfig, int rate, int seconds, int warmupSeconds) throws Exception {
    String slot = "bench_cdc_" + id + "_l" + run;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    matcher.clear();
    CdcIngest cdc = CdcIngest.start(cdcConfig.toBuilder().connectorName("bench-" + id + "-l" + run)
        .slotName(slot).publicationName(slot).build(), registry);
    try {
      if (!cdc.awaitStreaming(Duration.ofSeconds(60))) {
        throw new IllegalStateException("cdc-ingest not streaming");
      }
      primePipeline(cdc);
      long total = (long) rate * (warmupSeconds + seconds);
      long warm = (long) rate * warmupSeconds;
      matcher.endToEndMicros.reset();
      matcher.producedToAppliedMicros.reset();
      matcher.commitToMappedMicros.reset();
      matcher.mappedToSentMicros.reset();
      matcher.sentToNoticedMicros.reset();
      Thread progress = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
          log("run %d: %d produced, %d pending joins, writer applied %d", run, cdc.eventsProduced(),
              matcher.pending(), writer.applied());
        }
      });
      progress.setDaemon(true);
      progress.start();
      long sent;
      try {
        sent = generate(total, rate, seq -> matcher.recording(seq >= warm));
      } finally {
        progress.interrupt();
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (matcher.pending() > 0 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // drain: notices still arriving
      }
      matcher.recording(false);
      Histogram e2e = matcher.endToEndMicros.getIntervalHistogram();
      Histogram applied = matcher.producedToAppliedMicros.getIntervalHistogram();
      HistogramSnapshot produce = cdc.commitToProduceLag().takeSnapshot();
      return new double[] {sent - warm, e2e.getTotalCount(), ms(e2e.getValueAtPercentile(50)),
          ms(e2e.getValueAtPercentile(99)), ms(e2e.getMaxValue()), pct(produce, 0.5),
          pct(produce, 0.99), ms(applied.getValueAtPercentile(50)),
          ms(applied.getValueAtPercentile(99)),
          ms(matcher.commitToMappedMicros.getIntervalHistogram().getValueAtPercentile(99)),
          ms(matcher.mappedToSentMicros.getIntervalHistogram().getValueAtPercentile(99)),
          ms(matcher.sentToNoticedMicros.getIntervalHistogram().getValueAtPercentile(99))};
    } finally {
      cdc.close();
      dropSlot(slot);
    }
  }

  /**
   * One change through the whole path before timing starts: the first change of a table costs
   * seconds (schema read, producer id, consumer fetch positions) that belong to start-up, not to
   * the steady state measured here.
   */
  void primePipeline(CdcIngest cdc) throws Exception {
    long applied = writer.applied() + writer.stale();
    try (Connection c = connect()) {
      c.createStatement().execute("UPDATE " + TABLE + " SET v = v + 1 WHERE id = 0");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while ((cdc.eventsProduced() == 0 || writer.applied() + writer.stale() == applied)
        && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
  }

  /**
   * Open loop: {@value #GENERATORS} threads, each with its own connection, own every
   * {@value #GENERATORS}th tick of a fixed schedule and update row {@code seq % ROWS} at it.
   *
   * @return changes committed
   */
  long generate(long total, int rate, java.util.function.LongConsumer beforeEach) throws Exception {
    long period = 1_000_000_000L / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    AtomicLong done = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(GENERATORS);
    List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
    for (int g = 0; g < GENERATORS; g++) {
      int first = g;
      futures.add(pool.submit(() -> {
        try (Connection c = connect();
            PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET v = ? WHERE id = ?")) {
          for (long seq = first; seq < total; seq += GENERATORS) {
            LockSupport.parkNanos(start + seq * period - System.nanoTime()); // the schedule
            beforeEach.accept(seq);
            int row = (int) (seq % ROWS);
            ps.setLong(1, seq);
            ps.setInt(2, row);
            ps.executeUpdate();
            matcher.committed("bench:item:" + row, System.nanoTime());
            done.incrementAndGet();
          }
        }
        return null;
      }));
    }
    for (java.util.concurrent.Future<?> f : futures) {
      f.get();
    }
    pool.shutdown();
    return done.get();
  }

  // ---- throughput -----------------------------------------------------------------------------

  /** @return no-op engine events/s, cdc-ingest produced/s, end-to-end applied/s */
  double[] throughput(int run) throws Exception {
    if (o.bulk <= 0) {
      return new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
    }
    String cdcSlot = "bench_cdc_" + id + "_t" + run;
    String noopSlot = "bench_noop_" + id + "_t" + run;
    String aloneSlot = "bench_alone_" + id + "_t" + run;
    try (Connection c = connect()) {
      for (String s : List.of(cdcSlot, noopSlot, aloneSlot)) {
        c.createStatement().execute("CREATE PUBLICATION " + s + " FOR TABLE " + TABLE);
        c.createStatement().execute("SELECT pg_create_logical_replication_slot('" + s + "', 'pgoutput')");
      }
    }
    try {
      long t0 = System.nanoTime();
      int batch = o.rowsPerTx;
      try (Connection c = connect();
          PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET v = v + 1 WHERE id >= ? AND id < ?")) {
        for (int done = 0; done < o.bulk; done += batch) {
          int from = done % ROWS;
          ps.setInt(1, from);
          ps.setInt(2, from + Math.min(batch, o.bulk - done));
          ps.executeUpdate();
        }
      }
      log("run %d: %d changes committed in %.1f s", run, o.bulk, (System.nanoTime() - t0) / 1e9);

      double noop = drainNoop(noopSlot, run);
      long appliedBefore = writer.applied() + writer.stale();
      CdcIngest cdc = CdcIngest.start(base.toBuilder().connectorName("bench-" + id + "-t" + run)
          .slotName(cdcSlot).publicationName(cdcSlot).build(), new SimpleMeterRegistry());
      try {
        long first = 0;
        long produced = 0;
        long applied = 0;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while ((produced == 0 || applied == 0) && System.nanoTime() < deadline) {
          long now = System.nanoTime();
          if (first == 0 && cdc.eventsProduced() > 0) {
            first = now;
          }
          if (produced == 0 && cdc.eventsProduced() >= o.bulk) {
            produced = now;
          }
          if (applied == 0 && writer.applied() + writer.stale() - appliedBefore >= o.bulk) {
            applied = now;
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // sampling clock
        }
        if (applied == 0) {
          throw new IllegalStateException("backlog not drained: " + cdc.eventsProduced()
              + " produced, " + (writer.applied() + writer.stale() - appliedBefore) + " applied");
        }
        cdc.close();
        double alone = drainAlone(aloneSlot, run);
        return new double[] {noop, o.bulk / ((produced - first) / 1e9),
            o.bulk / ((applied - first) / 1e9), alone};
      } finally {
        cdc.close();
      }
    } finally {
      dropSlot(cdcSlot);
      dropSlot(noopSlot);
      dropSlot(aloneSlot);
    }
  }

  /** cdc-ingest draining the backlog to a topic nobody reads: its rate without the writer. */
  double drainAlone(String slot, int run) throws Exception {
    CdcIngest cdc = CdcIngest.start(base.toBuilder().connectorName("bench-" + id + "-a" + run)
        .slotName(slot).publicationName(slot).topic(aloneTopic).build(), new SimpleMeterRegistry());
    try {
      long first = 0;
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (cdc.eventsProduced() < o.bulk && System.nanoTime() < deadline) {
        if (first == 0 && cdc.eventsProduced() > 0) {
          first = System.nanoTime();
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // sampling clock
      }
      return o.bulk / ((System.nanoTime() - first) / 1e9);
    } finally {
      cdc.close();
    }
  }

  /** Diagnostic: the no-op engine under the live generator, its count printed each second. */
  void noopLive() throws Exception {
    String slot = "bench_noop_" + id + "_live";
    CdcIngestConfig c = base.toBuilder().connectorName("bench-noop-" + id + "-live")
        .slotName(slot).publicationName(slot)
        .offsetFile(Files.createTempFile("bench-noop", ".dat")).build();
    AtomicLong count = new AtomicLong();
    DebeziumEngine<RecordChangeEvent<SourceRecord>> engine =
        DebeziumEngine.create(ChangeEventFormat.of(Connect.class)).using(CdcIngest.debeziumProperties(c))
            .notifying((records, committer) -> {
              for (RecordChangeEvent<SourceRecord> r : records) {
                if (r.record().value() instanceof org.apache.kafka.connect.data.Struct st
                    && st.schema().field("op") != null) {
                  count.incrementAndGet();
                }
                committer.markProcessed(r);
              }
              committer.markBatchFinished();
            }).build();
    ExecutorService thread = Executors.newSingleThreadExecutor();
    thread.execute(engine);
    try {
      while (!slotActive(slot)) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(2));
      Thread progress = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
          log("noop live: %d", count.get());
        }
      });
      progress.setDaemon(true);
      progress.start();
      generate((long) o.rate * o.seconds, o.rate, seq -> { });
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3));
      progress.interrupt();
    } finally {
      engine.close();
      thread.shutdown();
      thread.awaitTermination(60, TimeUnit.SECONDS);
      dropSlot(slot);
    }
  }

  /** The same engine settings as cdc-ingest with a handler that only marks records processed. */
  double drainNoop(String slot, int run) throws Exception {
    CdcIngestConfig c = base.toBuilder().connectorName("bench-noop-" + id + "-" + run)
        .slotName(slot).publicationName(slot)
        .offsetFile(Files.createTempFile("bench-noop", ".dat")).build();
    Properties p = CdcIngest.debeziumProperties(c);
    AtomicLong count = new AtomicLong();
    AtomicLong firstAt = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    DebeziumEngine<RecordChangeEvent<SourceRecord>> engine =
        DebeziumEngine.create(ChangeEventFormat.of(Connect.class)).using(p)
            .notifying((records, committer) -> {
              long n = 0;
              for (RecordChangeEvent<SourceRecord> r : records) {
                if (r.record().value() instanceof org.apache.kafka.connect.data.Struct s
                    && s.schema().field("op") != null) {
                  n++;
                }
                committer.markProcessed(r);
              }
              committer.markBatchFinished();
              if (n > 0) {
                firstAt.compareAndSet(0, System.nanoTime());
                if (count.addAndGet(n) >= o.bulk) {
                  lastAt.compareAndSet(0, System.nanoTime());
                }
              }
            }).build();
    ExecutorService thread = Executors.newSingleThreadExecutor();
    thread.execute(engine);
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (lastAt.get() == 0 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
      if (lastAt.get() == 0) {
        throw new IllegalStateException("no-op engine did not drain: " + count.get());
      }
      return o.bulk / ((lastAt.get() - firstAt.get()) / 1e9);
    } finally {
      engine.close();
      thread.shutdown();
      thread.awaitTermination(60, TimeUnit.SECONDS);
    }
  }

  // ---- idle CPU and RSS of the service as its own JVM -----------------------------------------

  String idleAndRss() throws Exception {
    String slot = "bench_cdc_" + id + "_idle";
    Path script = Path.of("cdc-ingest", "bin", "cdc-ingest");
    if (!Files.isExecutable(script)) {
      script = Path.of("..", "cdc-ingest", "bin", "cdc-ingest");
    }
    ProcessBuilder pb = new ProcessBuilder(script.toAbsolutePath().normalize().toString());
    pb.environment().keySet().removeIf(k -> k.startsWith("CDC_"));
    pb.environment().putAll(Map.of("CDC_SLOT_NAME", slot, "CDC_PUBLICATION_NAME", slot,
        "CDC_CONNECTOR_NAME", "bench-" + id + "-idle", "CDC_TOPIC", topic,
        "CDC_RULES", TABLE + "=bench:item:{id}", "CDC_HTTP_PORT", "0",
        "CDC_POLL_INTERVAL_MS", Long.toString(base.pollInterval().toMillis()),
        "CDC_MAX_BATCH_SIZE", Integer.toString(base.maxBatchSize())));
    Path log = Files.createTempFile("bench-cdc-idle", ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (!slotActive(slot)) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("cdc-ingest did not start: " + Files.readString(log));
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(5)); // settle after start-up (JIT, first flush)
      double idleRss = Proc.rssMb(p.pid());
      long cpu0 = Proc.cpuNanos(p.pid());
      long t0 = System.nanoTime();
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(o.idleSeconds));
      double idleCore = (Proc.cpuNanos(p.pid()) - cpu0) / (double) (System.nanoTime() - t0);
      double[] maxRss = {idleRss};
      Thread sampler = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          maxRss[0] = Math.max(maxRss[0], Proc.rssMb(p.pid()));
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
        }
      });
      sampler.start();
      long cpu1 = Proc.cpuNanos(p.pid());
      long t1 = System.nanoTime();
      generate((long) o.rate * Math.max(5, o.seconds / 2), o.rate, seq -> { });
      double loadCore = (Proc.cpuNanos(p.pid()) - cpu1) / (double) (System.nanoTime() - t1);
      sampler.interrupt();
      sampler.join();
      return String.format(Locale.ROOT, "| cdc-ingest JVM (bin/cdc-ingest, %s) | idle %d s: %.1f%% of"
              + " a core, RSS %.0f MB | at %d changes/s: %.1f%% of a core, max RSS %.0f MB |%n",
          "-Xmx512m -XX:+UseSerialGC", o.idleSeconds, idleCore * 100, idleRss, o.rate,
          loadCore * 100, maxRss[0]);
    } finally {
      p.destroy();
      p.waitFor(60, TimeUnit.SECONDS);
      dropSlot(slot);
    }
  }

  // ---- set-up and helpers ---------------------------------------------------------------------

  void setUp() throws Exception {
    try (Connection c = connect()) {
      c.createStatement().execute("CREATE TABLE IF NOT EXISTS " + TABLE
          + " (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0)");
      c.createStatement().execute("INSERT INTO " + TABLE + " SELECT g, 0 FROM generate_series(0, "
          + (ROWS - 1) + ") g ON CONFLICT DO NOTHING");
    }
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        base.kafka().bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, 6, (short) 1),
          new NewTopic(aloneTopic, 6, (short) 1))).all().get(30, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int i = 0; i < 6; i++) {
        latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
        latest.put(new TopicPartition(aloneTopic, i), OffsetSpec.latest());
      }
      admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS); // past KAFKA-15591
    }
  }

  void tearDown() {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        base.kafka().bootstrapServers()))) {
      admin.deleteTopics(List.of(topic, aloneTopic)).all().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log("could not delete topic %s: %s", topic, e);
    }
  }

  StatefulRedisClusterPubSubConnection<String, String> subscribe(RedisClusterClient redis) {
    StatefulRedisClusterPubSubConnection<String, String> c = redis.connectPubSub();
    c.addListener(new RedisClusterPubSubAdapter<String, String>() {
      @Override
      public void smessage(RedisClusterNode node, String channel, String message) {
        long nanos = System.nanoTime();
        long ms = System.currentTimeMillis();
        for (String key : NoticeChannels.parse(message.getBytes(java.nio.charset.StandardCharsets.UTF_8)).keys()) {
          if (key.startsWith("bench:item:")) {
            matcher.noticed(key, nanos, ms);
          }
        }
      }
    });
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      c.sync().ssubscribe(NoticeChannels.channel(i));
    }
    return c;
  }

  /** Reads the event topic to learn each event's {@code producedAtMs}. */
  final class TopicReader implements AutoCloseable {
    private final Thread thread;
    private volatile boolean stop;

    TopicReader() {
      Properties p = new Properties();
      p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, base.kafka().bootstrapServers());
      p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      p.setProperty(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
      KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
      List<TopicPartition> parts = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        parts.add(new TopicPartition(topic, i));
      }
      consumer.assign(parts);
      thread = new Thread(() -> {
        try (consumer) {
          while (!stop) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
              io.freshcache.protocol.CacheEvent e = CacheEventJson.read(r.value());
              matcher.produced(r.key(), e.producedAtMs(), e.source() == null ? 0 : e.source().commitTsMs(),
                  r.timestamp());
            }
          }
        }
      }, "bench-topic-reader");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(5_000);
    }
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(base.jdbcUrl(), base.user(), base.password());
  }

  boolean slotActive(String slot) throws SQLException {
    try (Connection c = connect(); PreparedStatement ps = c.prepareStatement(
        "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (var rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  void dropSlot(String slot) {
    try (Connection c = connect()) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (slotActive(slot) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
      c.createStatement().execute("SELECT pg_drop_replication_slot(slot_name) FROM"
          + " pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
      c.createStatement().execute("DROP PUBLICATION IF EXISTS " + slot);
    } catch (SQLException e) {
      log("could not drop slot %s: %s", slot, e.getMessage());
    }
  }

  static double ms(long micros) {
    return micros / 1000.0;
  }

  static double pct(HistogramSnapshot s, double p) {
    for (ValueAtPercentile v : s.percentileValues()) {
      if (Math.abs(v.percentile() - p) < 1e-9) {
        return v.value(TimeUnit.MILLISECONDS);
      }
    }
    return Double.NaN;
  }

  /** Debezium's statistics queue overflows under bulk load and warns once per change. */
  static void quietDebeziumStatistics() {
    org.slf4j.Logger l = org.slf4j.LoggerFactory.getLogger("io.debezium.metrics.stats.MeasurementCollector");
    if (l instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(ch.qos.logback.classic.Level.ERROR);
    }
  }

  static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "bench: " + format + "%n", args);
  }

  String markdown(List<RunResult> rs, String idle) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "nproc %d; poll.interval.ms %d, max.batch.size %d; %d changes/s"
            + " for %d s (+%d s warm-up) per latency run; backlog %d changes per throughput run%n%n",
        Runtime.getRuntime().availableProcessors(), base.pollInterval().toMillis(),
        base.maxBatchSize(), o.rate, o.seconds, o.warmupSeconds, o.bulk));
    b.append("| run | load1 | sent | matched | e2e p50 ms | e2e p99 ms | e2e max ms | commit→produced"
        + " p50/p99 ms | produced→applied p50/p99 ms | no-op engine/s | cdc-ingest alone/s |"
        + " cdc-ingest with writer/s | e2e applied/s | alone ÷ no-op | e2e ÷ no-op |\n"
        + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int i = 1;
    for (RunResult r : rs) {
      b.append(String.format(Locale.ROOT, "| %d | %.1f | %d | %d | %.1f | %.1f | %.1f | %.1f / %.1f |"
              + " %.1f / %.1f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |%n", i++, r.load, r.sent,
          r.matched, r.e2eP50, r.e2eP99, r.e2eMax, r.produceP50, r.produceP99, r.appliedP50,
          r.appliedP99, r.noopRate, r.aloneRate, r.cdcRate, r.e2eRate, r.aloneRate / r.noopRate,
          r.e2eRate / r.noopRate));
    }
    b.append(String.format(Locale.ROOT, "| median | | | | %.1f | %.1f | %.1f | %.1f / %.1f | %.1f / %.1f"
            + " | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |%n",
        median(rs, RunResult::e2eP50), median(rs, RunResult::e2eP99), median(rs, RunResult::e2eMax),
        median(rs, RunResult::produceP50), median(rs, RunResult::produceP99),
        median(rs, RunResult::appliedP50), median(rs, RunResult::appliedP99),
        median(rs, RunResult::noopRate), median(rs, RunResult::aloneRate),
        median(rs, RunResult::cdcRate), median(rs, RunResult::e2eRate),
        median(rs, r -> r.aloneRate / r.noopRate), median(rs, r -> r.e2eRate / r.noopRate)));
    if (!idle.isEmpty()) {
      b.append("\n| process | idle | under load |\n|---|---|---|\n").append(idle);
    }
    return b.toString();
  }

  static double median(List<RunResult> rs, java.util.function.ToDoubleFunction<RunResult> f) {
    double[] v = rs.stream().mapToDouble(f).sorted().toArray();
    return v.length == 0 ? Double.NaN : v.length % 2 == 1 ? v[v.length / 2]
        : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
