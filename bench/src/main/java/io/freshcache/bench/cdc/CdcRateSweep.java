package io.freshcache.bench.cdc;

import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Commit → invalidation latency of the CDC path swept over change rates, with two or more
 * settings profiles measured in the same run, rate by rate and profile after profile (so machine
 * load drifts over all of them alike): the evidence for a latency change that depends on the
 * rate (a tail at low rates that 1,000 changes/s hides).
 *
 * <p>For each rate and profile: cdc-ingest (its own slot) and cache-writer (its own group) are
 * started with the profile's settings, the open-loop generator of {@link CdcEndToEndBench}
 * updates rows at the rate, and every change is joined with its invalidation notice. Besides
 * end to end (generator's commit returned → notice received), the p99 of three hops is printed
 * (ms resolution, from the event's timestamps): the database's commit → cdc-ingest mapped the
 * change ({@code producedAtMs}), mapped → handed to the Kafka producer (the record's
 * timestamp), handed to the producer → notice (Kafka, the writer, Redis, pub/sub).
 *
 * <p>Run: {@code java -cp bench/target/bench-*.jar:bench/target/lib/* io.freshcache.bench.cdc.CdcRateSweep
 * [--rates 1,5,20,100,1000] [--samples 120] [--max-seconds 60] [--min-seconds 8]
 * [--profile NAME:KEY=VALUE,...]... [--jvm-warmup-seconds 30] [--report file.md]}. Before the
 * sweep the JVM (which hosts cdc-ingest, cache-writer and the generator) runs the highest rate
 * for {@code --jvm-warmup-seconds} untabled: a cold JVM at 1,000 changes/s spends its first
 * ~20 s compiling, which is start-up, not a running service's steady state. Keys: {@code cdc.poll.interval.ms},
 * {@code cdc.max.batch.size}, {@code cdc.kafka.<producer property>},
 * {@code cdc.debezium.<engine property>}, {@code writer.kafka.<consumer property>}; a profile
 * with no keys runs the current defaults. Without {@code --profile}: {@code before} (the
 * settings of 2026-12-06 stated explicitly, so the comparison survives later default changes)
 * and {@code longpoll} (the writer's consumer long-polls: {@code fetch.max.wait.ms=500}), the
 * candidate measured in {@code bench/results/cdc-rate-sweep.md}.
 */
public final class CdcRateSweep {
  /** The settings of 2026-12-06, stated explicitly so that the comparison survives default changes. */
  static final String BEFORE = "before:writer.kafka.fetch.max.wait.ms=5,cdc.kafka.linger.ms=5,cdc.poll.interval.ms=5";
  /** The candidate measured against it. */
  static final String LONGPOLL = "longpoll:writer.kafka.fetch.max.wait.ms=500";

  record Profile(String name, Map<String, String> settings) {
    static Profile parse(String text) {
      int colon = text.indexOf(':');
      String name = colon < 0 ? text : text.substring(0, colon);
      Map<String, String> m = new LinkedHashMap<>();
      if (colon >= 0 && colon + 1 < text.length()) {
        for (String kv : text.substring(colon + 1).split(",")) {
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("profile setting must be key=value but was '" + kv + "' in '" + text + "'");
          }
          m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
      }
      return new Profile(name, m);
    }

    CdcIngestConfig cdc(CdcIngestConfig base) {
      CdcIngestConfig.Builder b = base.toBuilder();
      var kafka = base.kafka().toBuilder();
      settings.forEach((k, v) -> {
        if (k.equals("cdc.poll.interval.ms")) {
          b.pollInterval(Duration.ofMillis(Long.parseLong(v)));
        } else if (k.equals("cdc.max.batch.size")) {
          b.maxBatchSize(Integer.parseInt(v));
        } else if (k.startsWith("cdc.kafka.")) {
          kafka.property(k.substring("cdc.kafka.".length()), v);
        } else if (k.startsWith("cdc.debezium.")) {
          b.debeziumProperty(k.substring("cdc.debezium.".length()), v);
        } else if (!k.startsWith("writer.")) {
          throw new IllegalArgumentException("unknown profile setting '" + k + "' in profile " + name);
        }
      });
      return b.kafka(kafka.build()).build();
    }

    CacheWriterConfig writer(CacheWriterConfig base) {
      var kafka = base.kafka().toBuilder();
      settings.forEach((k, v) -> {
        if (k.startsWith("writer.kafka.")) {
          kafka.property(k.substring("writer.kafka.".length()), v);
        }
      });
      return base.toBuilder().kafka(kafka.build()).build();
    }

    @Override
    public String toString() {
      return name + (settings.isEmpty() ? " (defaults)" : " " + settings);
    }
  }

  record Row(int rate, String profile, double load, double[] r) {}

  public static void main(String[] args) throws Exception {
    sweep(args);
  }

  /**
   * Runs the sweep, prints the table and writes the report if asked.
   *
   * @param args as {@link #main}
   * @return one row per rate and profile, in the order run
   */
  static List<Row> sweep(String... args) throws Exception {
    CdcEndToEndBench.quietDebeziumStatistics();
    List<Integer> rates = new ArrayList<>();
    List<Profile> profiles = new ArrayList<>();
    int samples = 120;
    int maxSeconds = 60;
    int minSeconds = 8;
    int jvmWarmupSeconds = 30;
    Path report = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rates" -> {
          for (String r : args[++i].split(",")) {
            rates.add(Integer.parseInt(r.trim()));
          }
        }
        case "--profile" -> profiles.add(Profile.parse(args[++i]));
        case "--samples" -> samples = Integer.parseInt(args[++i]);
        case "--max-seconds" -> maxSeconds = Integer.parseInt(args[++i]);
        case "--min-seconds" -> minSeconds = Integer.parseInt(args[++i]);
        case "--report" -> report = Path.of(args[++i]);
        case "--jvm-warmup-seconds" -> jvmWarmupSeconds = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (rates.isEmpty()) {
      rates.addAll(List.of(1, 5, 20, 100, 1000));
    }
    if (profiles.isEmpty()) {
      profiles.add(Profile.parse(BEFORE));
      profiles.add(Profile.parse(LONGPOLL));
    }
    CdcEndToEndBench b = new CdcEndToEndBench(CdcEndToEndBench.Options.parse("--runs", "1", "--bulk", "0",
        "--idle", "false", "--warmup-run", "false"));
    b.setUp();
    List<Row> rows = new ArrayList<>();
    RedisClusterClient redis = RedisClusterClient.create("redis://" + CacheWriterConfig.fromEnv().redis().nodes().get(0));
    int run = 0;
    String warmupNote = "no JVM warm-up run (--jvm-warmup-seconds 0): the first rate's figures include start-up";
    try (StatefulRedisClusterPubSubConnection<String, String> notices = b.subscribe(redis);
        CdcEndToEndBench.TopicReader reader = b.new TopicReader()) {
      if (jvmWarmupSeconds > 0) {
        // The bench's JVM hosts cdc-ingest, cache-writer and the generator and starts cold: at
        // 1,000 changes/s its first ~20 s are spent compiling (p99 of seconds, then ~100 ms),
        // which is start-up, not the steady state of a running service. Reported, not tabled.
        int top = rates.stream().mapToInt(Integer::intValue).max().orElse(1000);
        run++;
        Profile p = profiles.get(0);
        b.writer = startWriter(b, p, "bench-sweep-" + b.id + "-warmup");
        try {
          CdcEndToEndBench.log("JVM warm-up: %d s at %d/s, profile %s (not tabled)", jvmWarmupSeconds, top, p.name());
          double[] r = b.latency(run, p.cdc(b.base), top, jvmWarmupSeconds, 0);
          warmupNote = String.format(Locale.ROOT, "JVM warm-up before the sweep (cold start, not in the table): %d s at"
              + " %d/s, profile %s: e2e p50 %.1f p99 %.1f max %.1f ms", jvmWarmupSeconds, top, p.name(), r[2], r[3], r[4]);
          CdcEndToEndBench.log("%s", warmupNote);
        } finally {
          b.writer.close();
        }
      }
      for (int rate : rates) {
        int seconds = Math.max(minSeconds, Math.min(maxSeconds, (samples + rate - 1) / rate));
        int warmup = rate >= 100 ? 2 : Math.max(2, Math.min(5, 10 / rate));
        for (Profile p : profiles) {
          run++;
          double load = Proc.load1();
          CdcEndToEndBench.log("rate %d/s, profile %s: %d s (+%d s warm-up), load %.1f", rate, p, seconds, warmup, load);
          b.writer = startWriter(b, p, "bench-sweep-" + b.id + "-" + run);
          try {
            double[] r = b.latency(run, p.cdc(b.base), rate, seconds, warmup);
            rows.add(new Row(rate, p.name(), load, r));
            CdcEndToEndBench.log("rate %d/s, profile %s: e2e p50 %.1f p99 %.1f max %.1f ms", rate, p.name(), r[2], r[3], r[4]);
          } finally {
            b.writer.close();
          }
        }
      }
    } finally {
      redis.shutdown();
      b.tearDown();
    }
    String md = warmupNote + "\n\n" + markdown(rates, profiles, rows);
    System.out.println(md);
    if (report != null) {
      Files.writeString(report, md);
    }
    return rows;
  }

  /** A cache-writer with the profile's settings in a new group positioned at the topic's end. */
  static CacheWriter startWriter(CdcEndToEndBench b, Profile p, String group) throws Exception {
    startAtTheEnd(b, group);
    return CacheWriter.start(p.writer(CacheWriterConfig.fromEnv().toBuilder().topics(List.of(b.topic))
        .groupId(group).httpPort(0).build()), new SimpleMeterRegistry());
  }

  /**
   * Commits the group's offsets at the end of the topic, so that a new writer does not apply the
   * earlier runs' events again (their notices would be joined with this run's commits).
   */
  static void startAtTheEnd(CdcEndToEndBench b, String group) throws Exception {
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
        org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, b.base.kafka().bootstrapServers()))) {
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
      for (int i = 0; i < 6; i++) {
        latest.put(new org.apache.kafka.common.TopicPartition(b.topic, i), org.apache.kafka.clients.admin.OffsetSpec.latest());
      }
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> at = new java.util.HashMap<>();
      admin.listOffsets(latest).all().get(30, java.util.concurrent.TimeUnit.SECONDS)
          .forEach((tp, info) -> at.put(tp, new org.apache.kafka.clients.consumer.OffsetAndMetadata(info.offset())));
      admin.alterConsumerGroupOffsets(group, at).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  static String markdown(List<Integer> rates, List<Profile> profiles, List<Row> rows) {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "nproc %d; profiles: %s%n%n", Runtime.getRuntime().availableProcessors(), profiles));
    s.append("| rate/s | profile | load1 | changes | matched | e2e p50 ms | e2e p99 ms | e2e max ms"
        + " | commit→mapped p99 | mapped→sent p99 | sent→notice p99 | commit→produced p50/p99 (cdc timer) |\n");
    s.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row row : rows) {
      double[] r = row.r();
      s.append(String.format(Locale.ROOT, "| %d | %s | %.1f | %.0f | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.1f / %.1f |%n",
          row.rate(), row.profile(), row.load(), r[0], r[1], r[2], r[3], r[4], r[9], r[10], r[11], r[5], r[6]));
    }
    s.append("\ne2e p99 side by side (ms):\n\n| rate/s |");
    for (Profile p : profiles) {
      s.append(' ').append(p.name()).append(" |");
    }
    s.append("\n|---|").append("---|".repeat(profiles.size())).append('\n');
    for (int i = 0; i < rates.size(); i++) {
      int rate = rates.get(i);
      int occurrence = (int) rates.subList(0, i).stream().filter(r -> r == rate).count();
      s.append("| ").append(rate).append(" |");
      for (Profile p : profiles) {
        rows.stream().filter(r -> r.rate() == rate && r.profile().equals(p.name())).skip(occurrence).findFirst()
            .ifPresentOrElse(r -> s.append(String.format(Locale.ROOT, " %.1f |", r.r()[3])), () -> s.append(" - |"));
      }
      s.append('\n');
    }
    return s.toString();
  }
}
