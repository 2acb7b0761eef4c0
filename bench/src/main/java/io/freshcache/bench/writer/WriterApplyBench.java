package io.freshcache.bench.writer;

import io.freshcache.protocol.CacheEventJson;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.freshcache.writer.WriterMetricNames;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToDoubleFunction;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Apply rate of the cache-writer from a pre-filled topic, side by side with a raw Lettuce client
 * that sends the same {@code apply} script pipelined with {@code EVALSHA} ({@link RawApplier}),
 * in the same JVM and the same run, phases alternating in order from run to run.
 *
 * <p>Each run pre-fills two fresh topics (not timed) with {@code events} upserts over
 * {@code keys} keys each, then times (a) a {@link CacheWriter} as shipped (replica
 * acknowledgement on: {@code WAIT} for one replica on every touched master before a batch
 * counts as applied) in a fresh group from partition assignment until every event is applied,
 * (b) the same with replica acknowledgement off ({@code writer-noacks}, the path before it
 * existed), on the other topic, and (c) the raw client applying the same number of events to
 * other keys. Reported per phase: events/s, batch latency p50/p99, CPU of this JVM, of the Redis nodes
 * and of the Kafka broker (in cores: CPU time / wall time), RSS and peak heap.
 *
 * <p>Usage (stack up, {@code eval "$(dev/stack env)"}):
 * {@code java -Xmx256m -cp bench/target/bench-*.jar:bench/target/lib/* io.freshcache.bench.writer.WriterApplyBench
 * [--full | --events=200000] [--keys=20000] [--runs=3] [--batch=500] [--payload=100] [--warmup=N] [--smoke]};
 * {@code --full} is the issue's 1M events over 100k keys, {@code --smoke} a seconds-long check.
 * An untimed warm-up run of both phases ({@code --warmup}, default min(events, 100k); give it
 * after {@code --events}/{@code --full}) comes first, so that neither phase pays for the JIT.
 */
public final class WriterApplyBench {

  /**
   * What to run.
   *
   * @param events events per phase
   * @param keys distinct keys
   * @param runs runs (medians are over runs)
   * @param batch the writer's batch size and the raw client's pipeline depth
   * @param payloadBytes payload size of each upsert
   * @param partitions partitions of the pre-filled topic
   * @param warmupEvents events of an untimed first run (both phases) that warms up the JIT; 0 for none
   */
  public record Options(long events, int keys, int runs, int batch, int payloadBytes, int partitions,
      long warmupEvents) {
    /** Validates. */
    public Options {
      if (events < 1 || keys < 1 || runs < 1 || batch < 1 || payloadBytes < 2 || partitions < 1 || warmupEvents < 0) {
        throw new IllegalArgumentException("all options must be positive (payload >= 2) but were "
            + events + "/" + keys + "/" + runs + "/" + batch + "/" + payloadBytes + "/" + partitions + "/" + warmupEvents);
      }
    }

    Options(long events, int keys, int runs, int batch, int payloadBytes, int partitions) {
      this(events, keys, runs, batch, payloadBytes, partitions, Math.min(events, 100_000));
    }

    /** @return the default: 200k events over 20k keys, 3 runs, batch 500, 100-byte payloads, 100k warm-up */
    public static Options defaults() {
      return new Options(200_000, 20_000, 3, 500, 100, 6);
    }

    /** @return a seconds-long smoke run without warm-up */
    public static Options smoke() {
      return new Options(2_000, 200, 1, 100, 100, 3, 0);
    }

    static Options parse(String[] args) {
      Options o = defaults();
      for (String a : args) {
        String v = a.contains("=") ? a.substring(a.indexOf('=') + 1) : "";
        if (a.equals("--full")) {
          o = new Options(1_000_000, 100_000, o.runs, o.batch, o.payloadBytes, o.partitions);
        } else if (a.equals("--smoke")) {
          o = smoke();
        } else if (a.startsWith("--events=")) {
          o = new Options(Long.parseLong(v), o.keys, o.runs, o.batch, o.payloadBytes, o.partitions);
        } else if (a.startsWith("--keys=")) {
          o = new Options(o.events, Integer.parseInt(v), o.runs, o.batch, o.payloadBytes, o.partitions, o.warmupEvents);
        } else if (a.startsWith("--runs=")) {
          o = new Options(o.events, o.keys, Integer.parseInt(v), o.batch, o.payloadBytes, o.partitions, o.warmupEvents);
        } else if (a.startsWith("--batch=")) {
          o = new Options(o.events, o.keys, o.runs, Integer.parseInt(v), o.payloadBytes, o.partitions, o.warmupEvents);
        } else if (a.startsWith("--payload=")) {
          o = new Options(o.events, o.keys, o.runs, o.batch, Integer.parseInt(v), o.partitions, o.warmupEvents);
        } else if (a.startsWith("--warmup=")) {
          o = new Options(o.events, o.keys, o.runs, o.batch, o.payloadBytes, o.partitions, Long.parseLong(v));
        } else {
          throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      }
      return o;
    }
  }

  /**
   * One timed phase.
   *
   * @param name {@code writer}, {@code writer-noacks} or {@code raw}
   * @param run the run number, from 1
   * @param events events applied
   * @param seconds wall time
   * @param p50Ms batch latency median
   * @param p99Ms batch latency p99
   * @param jvmCores this JVM's CPU time / wall time
   * @param redisCores the Redis nodes' CPU time / wall time
   * @param kafkaCores the broker's CPU time / wall time
   * @param rssMb this JVM's resident set at the end of the phase
   * @param peakHeapMb peak heap use during the phase
   * @param loadAverage the load average before the run
   */
  public record Phase(String name, int run, long events, double seconds, double p50Ms, double p99Ms,
      double jvmCores, double redisCores, double kafkaCores, double rssMb, double peakHeapMb, String loadAverage) {
    /** @return events per second */
    public double eventsPerSecond() {
      return events / seconds;
    }
  }

  private final Options options;
  private final CacheWriterConfig base = CacheWriterConfig.fromEnv();
  private final String id = UUID.randomUUID().toString().substring(0, 6);

  WriterApplyBench(Options options) {
    this.options = options;
  }

  /** Runs the benchmark and prints a Markdown report to standard output. */
  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    List<Phase> phases = run(o);
    System.out.println(report(o, phases));
  }

  /** @return every phase of every run */
  public static List<Phase> run(Options o) throws Exception {
    return new WriterApplyBench(o).runAll();
  }

  private List<Phase> runAll() throws Exception {
    List<Phase> out = new ArrayList<>();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, base.kafka().bootstrapServers()))) {
      if (options.warmupEvents > 0) {
        String topic = "bench.writer." + id + ".warmup";
        prefill(admin, topic, new ApplyEvents("w" + id + "warm", options.keys, options.payloadBytes, 300_000),
            options.warmupEvents);
        try {
          writerPhase(topic, 0, "", options.warmupEvents, true);
          rawPhase(0, "", options.warmupEvents);
        } finally {
          admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
        }
        System.err.printf(Locale.ROOT, "warmed up with %d events per phase%n", options.warmupEvents);
      }
      for (int run = 1; run <= options.runs; run++) {
        String topic = "bench.writer." + id + "." + run;
        String noAcks = topic + ".noacks";
        prefill(admin, topic, new ApplyEvents("w" + id + "r" + run, options.keys, options.payloadBytes, 300_000),
            options.events);
        prefill(admin, noAcks, new ApplyEvents("n" + id + "r" + run, options.keys, options.payloadBytes, 300_000),
            options.events);
        String load = ProcessStats.loadAverage();
        System.err.printf(Locale.ROOT, "run %d: load average %s%n", run, load);
        try {
          if (run % 2 == 1) {
            out.add(writerPhase(topic, run, load, options.events, true));
            out.add(writerPhase(noAcks, run, load, options.events, false));
            out.add(rawPhase(run, load, options.events));
          } else {
            out.add(rawPhase(run, load, options.events));
            out.add(writerPhase(noAcks, run, load, options.events, false));
            out.add(writerPhase(topic, run, load, options.events, true));
          }
        } finally {
          admin.deleteTopics(List.of(topic, noAcks)).all().get(30, TimeUnit.SECONDS);
        }
        out.subList(out.size() - 3, out.size()).forEach(p -> System.err.println(row(p)));
      }
    }
    return out;
  }

  private void prefill(Admin admin, String topic, ApplyEvents events, long count) throws Exception {
    admin.createTopics(List.of(new NewTopic(topic, options.partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int i = 0; i < options.partitions; i++) {
      latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
    }
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) { // KAFKA-15591: produce only once the broker answers offsets for the new topic
      try {
        admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
        break;
      } catch (Exception e) {
        if (System.nanoTime() > until) {
          throw e;
        }
      }
    }
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, base.kafka().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
      for (long i = 0; i < count; i++) {
        var e = events.event(i);
        producer.send(new ProducerRecord<>(topic, e.key().toBytes(), CacheEventJson.write(e)));
      }
      producer.flush();
    }
    System.err.printf(Locale.ROOT, "pre-filled %s with %d events in %.1f s%n", topic, count,
        (System.nanoTime() - t0) / 1e9);
  }

  private Phase writerPhase(String topic, int run, String load, long count, boolean replicaAcks) throws Exception {
    CacheWriterConfig config = base.toBuilder().topics(List.of(topic)).dlqTopic(topic + ".dlq")
        .groupId("bench-" + topic).batchSize(options.batch).fenceTtl(Duration.ofMinutes(5)).httpPort(0)
        .replicaAcks(replicaAcks ? Math.max(1, base.replicaAcks()) : 0).sink(null).build();
    try (CacheWriter w = CacheWriter.start(config)) {
      awaitTrue(() -> w.assignedPartitions() > 0 || !w.isRunning(), Duration.ofSeconds(60));
      Snapshot s0 = Snapshot.take();
      awaitTrue(() -> w.applied() + w.stale() + w.deadLettered() >= count || !w.isRunning(),
          Duration.ofMinutes(30));
      Snapshot s1 = Snapshot.take();
      if (!w.isRunning()) {
        throw new IllegalStateException("writer stopped", w.failure());
      }
      if (w.stale() + w.deadLettered() > 0) {
        throw new IllegalStateException("expected only applied events but " + w.stale() + " were stale and "
            + w.deadLettered() + " dead-lettered");
      }
      Timer t = w.meterRegistry().get(WriterMetricNames.BATCH_APPLY).timer();
      double p50 = 0;
      double p99 = 0;
      for (ValueAtPercentile v : t.takeSnapshot().percentileValues()) {
        if (v.percentile() == 0.5) {
          p50 = v.value(TimeUnit.MILLISECONDS);
        } else if (v.percentile() == 0.99) {
          p99 = v.value(TimeUnit.MILLISECONDS);
        }
      }
      return s1.phase(replicaAcks ? "writer" : "writer-noacks", run, w.applied(), s0, p50, p99, load);
    }
  }

  private Phase rawPhase(int run, String load, long count) throws Exception {
    ApplyEvents events = new ApplyEvents("r" + id + "r" + run, options.keys, options.payloadBytes, 300_000);
    Histogram h = new Histogram(TimeUnit.MINUTES.toMicros(1), 3);
    try (RawApplier raw = new RawApplier(base.redis().nodes(), Duration.ofMinutes(5))) {
      Snapshot s0 = Snapshot.take();
      long applied = raw.run(events, count, options.batch, h);
      Snapshot s1 = Snapshot.take();
      return s1.phase("raw", run, applied, s0, h.getValueAtPercentile(50) / 1000.0,
          h.getValueAtPercentile(99) / 1000.0, load);
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition, Duration atMost) {
    long until = System.nanoTime() + atMost.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until) {
        throw new IllegalStateException("condition not met within " + atMost);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  /** Readings at one moment. */
  private record Snapshot(long nanos, long selfCpu, long redisCpu, long kafkaCpu) {
    static final List<String> REDIS = CacheWriterConfig.fromEnv().redis().nodes().stream()
        .map(n -> "redis-server " + n).toList();

    static Snapshot take() {
      ProcessStats.resetPeakHeap();
      return new Snapshot(System.nanoTime(), ProcessStats.selfCpuNanos(), ProcessStats.cpuNanosOf(REDIS),
          ProcessStats.cpuNanosOf(List.of("kafka.Kafka")));
    }

    Phase phase(String name, int run, long events, Snapshot start, double p50, double p99, String load) {
      double wall = nanos - start.nanos;
      return new Phase(name, run, events, wall / 1e9, p50, p99, (selfCpu - start.selfCpu) / wall,
          (redisCpu - start.redisCpu) / wall, (kafkaCpu - start.kafkaCpu) / wall, ProcessStats.statusMb("VmRSS"),
          ProcessStats.peakHeapMb(), load);
    }
  }

  static String row(Phase p) {
    return String.format(Locale.ROOT, "| %d | %s | %s | %,.0f | %.1f | %.1f | %.2f | %.2f | %.2f | %.0f | %.0f |",
        p.run(), p.name(), p.loadAverage(), p.eventsPerSecond(), p.p50Ms(), p.p99Ms(), p.jvmCores(), p.redisCores(),
        p.kafkaCores(), p.rssMb(), p.peakHeapMb());
  }

  /** @return the Markdown report: machine facts, every phase, medians with ranges */
  public static String report(Options o, List<Phase> phases) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "machine: %d cores (nproc), %s; Java %s; max heap %.0f MB%n",
        Runtime.getRuntime().availableProcessors(), ProcessStats.cpuModel(), System.getProperty("java.version"),
        ProcessStats.maxHeapMb()));
    b.append(String.format(Locale.ROOT, "options: %s%n%n", o));
    b.append("| run | phase | load avg before | events/s | batch p50 ms | batch p99 ms | bench JVM cores"
        + " | Redis cores | Kafka cores | RSS MB | peak heap MB |\n");
    b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Phase p : phases) {
      b.append(row(p)).append('\n');
    }
    b.append("\nmedians (min–max) over runs:\n\n| phase | events/s | batch p99 ms | bench JVM cores | Redis cores"
        + " | Kafka cores | RSS MB | peak heap MB |\n|---|---|---|---|---|---|---|---|\n");
    for (String name : List.of("writer", "writer-noacks", "raw")) {
      List<Phase> ps = phases.stream().filter(p -> p.name().equals(name)).toList();
      b.append("| ").append(name).append(" | ").append(median(ps, Phase::eventsPerSecond, "%,.0f"))
          .append(" | ").append(median(ps, Phase::p99Ms, "%.1f"))
          .append(" | ").append(median(ps, Phase::jvmCores, "%.2f"))
          .append(" | ").append(median(ps, Phase::redisCores, "%.2f"))
          .append(" | ").append(median(ps, Phase::kafkaCores, "%.2f"))
          .append(" | ").append(median(ps, Phase::rssMb, "%.0f"))
          .append(" | ").append(median(ps, Phase::peakHeapMb, "%.0f")).append(" |\n");
    }
    b.append(ratios(o, phases, "writer", "raw"));
    b.append(ratios(o, phases, "writer", "writer-noacks"));
    b.append(ratios(o, phases, "writer-noacks", "raw"));
    return b.toString();
  }

  private static String ratios(Options o, List<Phase> phases, String a, String over) {
    List<Double> ratios = new ArrayList<>();
    for (int run = 1; run <= o.runs(); run++) {
      int r = run;
      double x = phases.stream().filter(p -> p.run() == r && p.name().equals(a)).findFirst()
          .map(Phase::eventsPerSecond).orElse(Double.NaN);
      double y = phases.stream().filter(p -> p.run() == r && p.name().equals(over)).findFirst()
          .map(Phase::eventsPerSecond).orElse(Double.NaN);
      ratios.add(x / y);
    }
    ratios.sort(Comparator.naturalOrder());
    return String.format(Locale.ROOT, "%n%s / %s events/s per run: %s, median %.2f%n", a, over, ratios.stream()
        .map(d -> String.format(Locale.ROOT, "%.2f", d)).toList(), ratios.get(ratios.size() / 2));
  }

  private static String median(List<Phase> ps, ToDoubleFunction<Phase> f, String format) {
    double[] v = ps.stream().mapToDouble(f).sorted().toArray();
    if (v.length == 0) {
      return "-";
    }
    return String.format(Locale.ROOT, format, v[v.length / 2]) + " (" + String.format(Locale.ROOT, format, v[0])
        + "–" + String.format(Locale.ROOT, format, v[v.length - 1]) + ")";
  }
}
