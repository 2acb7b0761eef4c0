package io.freshcache.bench.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The client-lib benchmarks of issue 3, each beside its baseline measured in the same run:
 * <ol>
 *   <li>hit latency from one thread, {@code getOrLoad} vs raw Lettuce sync {@code GET}
 *       ({@link HitLatency});</li>
 *   <li>async hit throughput at 256 outstanding, {@code getOrLoadAsync} vs raw Lettuce async
 *       {@code GET} ({@link AsyncThroughput});</li>
 *   <li>near-cache hit vs Redis hit on the same client (JMH, {@link NearCacheBenchmark});</li>
 *   <li>a stampede of 200 and 1,000 threads on one cold key with a 50 ms loader: client-lib vs
 *       the seed's lock algorithm vs no protection ({@link Stampede});</li>
 *   <li>codecs on a product entity: sizes, and encode/decode time (JMH, {@link CodecBenchmark}).</li>
 * </ol>
 * Writes a Markdown report ({@link ClientReport}) with machine facts, the load average before
 * each run and medians with ranges over the repetitions. Never asserts a timing.
 *
 * <p>Usage (stack up): {@code mvn -B -q -o -pl bench -am install -DskipTests && eval "$(dev/stack env)"
 * && java -Xms512m -Xmx512m -cp 'bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*'
 * io.freshcache.bench.client.ClientBench [--out=bench/results/client-bench.md] [--runs=5] [--smoke]
 * [--jmh-forks=3] [--jmh-iteration-ms=1000]}; options apply in order, so {@code --smoke} comes first.
 * {@code --smoke} finishes in seconds (one short run of everything, JMH in-process).
 */
public final class ClientBench {
  static final String DEFAULT_OUT = "bench/results/client-bench.md";

  /**
   * What to run.
   *
   * @param smoke whether this is the seconds-long check
   * @param runs repetitions of benchmarks 1 and 2 (medians over them)
   * @param hitWarmup warm-up calls per contender and run of benchmark 1
   * @param hitIterations measured calls per contender and run of benchmark 1
   * @param outstanding reads in flight in benchmark 2
   * @param asyncKeys keys read in benchmark 2
   * @param asyncWarmupSeconds warm-up of each contender in benchmark 2
   * @param asyncSeconds measured time of each contender in benchmark 2
   * @param stampedeCallers caller counts of benchmark 4
   * @param stampedeRounds rounds per contender and caller count (fresh key each)
   * @param loaderMs the stampede loader's duration
   * @param jmhForks JMH forks (0 runs in this JVM), the repetitions of benchmarks 3 and 5
   * @param jmhWarmupIterations JMH warm-up iterations per fork
   * @param jmhIterations JMH measured iterations per fork
   * @param jmhIterationMillis length of one JMH iteration
   * @param out where the report goes
   */
  public record Options(boolean smoke, int runs, int hitWarmup, int hitIterations, int outstanding,
      int asyncKeys, double asyncWarmupSeconds, double asyncSeconds, List<Integer> stampedeCallers,
      int stampedeRounds, int loaderMs, int jmhForks, int jmhWarmupIterations, int jmhIterations,
      int jmhIterationMillis, Path out) {

    /** Validates. */
    public Options {
      if (runs < 1 || hitIterations < HitLatency.BLOCK || hitWarmup < 0 || outstanding < 1 || asyncKeys < 1
          || asyncSeconds <= 0 || asyncWarmupSeconds < 0 || stampedeCallers.isEmpty() || stampedeRounds < 1
          || loaderMs < 1 || jmhForks < 0 || jmhWarmupIterations < 0 || jmhIterations < 1
          || jmhIterationMillis < 10) {
        throw new IllegalArgumentException("invalid options " + this);
      }
      stampedeCallers = List.copyOf(stampedeCallers);
    }

    /** @return the full run: about 10 minutes here */
    public static Options full() {
      return new Options(false, 5, 20_000, 50_000, 256, 1_000, 2, 5, List.of(200, 1_000), 5, 50, 3, 3, 5,
          1_000, Path.of(DEFAULT_OUT));
    }

    /** @return a seconds-long run of everything, JMH in this JVM */
    public static Options smoke(Path out) {
      return new Options(true, 1, 500, 1_500, 256, 100, 0.3, 0.5, List.of(200), 1, 50, 0, 1, 1, 100, out);
    }

    static Options parse(String[] args) {
      Options o = full();
      for (String a : args) {
        String v = a.contains("=") ? a.substring(a.indexOf('=') + 1) : "";
        if (a.equals("--smoke")) {
          o = smoke(o.out.equals(Path.of(DEFAULT_OUT)) ? Path.of("bench/target/client-bench-smoke.md") : o.out);
        } else if (a.startsWith("--out=")) {
          o = o.with(Path.of(v));
        } else if (a.startsWith("--runs=")) {
          int n = Integer.parseInt(v);
          o = new Options(o.smoke, n, o.hitWarmup, o.hitIterations, o.outstanding, o.asyncKeys,
              o.asyncWarmupSeconds, o.asyncSeconds, o.stampedeCallers, n, o.loaderMs, Math.min(n, o.jmhForks),
              o.jmhWarmupIterations, o.jmhIterations, o.jmhIterationMillis, o.out);
        } else if (a.startsWith("--jmh-forks=")) {
          o = new Options(o.smoke, o.runs, o.hitWarmup, o.hitIterations, o.outstanding, o.asyncKeys,
              o.asyncWarmupSeconds, o.asyncSeconds, o.stampedeCallers, o.stampedeRounds, o.loaderMs,
              Integer.parseInt(v), o.jmhWarmupIterations, o.jmhIterations, o.jmhIterationMillis, o.out);
        } else if (a.startsWith("--jmh-iteration-ms=")) {
          o = new Options(o.smoke, o.runs, o.hitWarmup, o.hitIterations, o.outstanding, o.asyncKeys,
              o.asyncWarmupSeconds, o.asyncSeconds, o.stampedeCallers, o.stampedeRounds, o.loaderMs,
              o.jmhForks, o.jmhWarmupIterations, o.jmhIterations, Integer.parseInt(v), o.out);
        } else {
          throw new IllegalArgumentException("unknown option '" + a + "'; known: --smoke, --out=PATH, --runs=N,"
              + " --jmh-forks=N, --jmh-iteration-ms=N");
        }
      }
      return o;
    }

    Options with(Path newOut) {
      return new Options(smoke, runs, hitWarmup, hitIterations, outstanding, asyncKeys, asyncWarmupSeconds,
          asyncSeconds, stampedeCallers, stampedeRounds, loaderMs, jmhForks, jmhWarmupIterations,
          jmhIterations, jmhIterationMillis, newOut);
    }
  }

  /** Facts about where and how the run happened. */
  record Facts(String started, int cores, String cpu, String memory, String java, String jvmArgs,
      String redis, String commit, String command, String loadAtStart) {}

  /** Payload size of the sample product per codec, and what it is made of. */
  record CodecSizes(Map<String, Integer> payloadBytes, int textBytes, int fieldNameBytes, int fields) {}

  /** Everything a run measured. */
  record Results(Facts facts, int storedBytes, List<HitLatency.Row> hits, List<AsyncThroughput.Row> async,
      CacheClient.Stats hitPathStats, List<Stampede.Round> stampede, Map<String, List<Double>> near,
      String nearLoad, Map<String, List<Double>> codecs, String codecLoad, CodecSizes sizes, List<String> stackEvents,
      double seconds) {

    /** @return whether a shard failed over during the run (someone else's test on the shared stack) */
    boolean disturbed() {
      return !stackEvents.isEmpty() && stackEvents.get(0).equals("FAILOVER");
    }
  }

  /** Notes each part during which the cluster epoch moved, i.e. a shard failed over. */
  private static final class EpochWatch {
    private final RawRedis raw;
    private final List<String> events;
    long last;

    EpochWatch(RawRedis raw, List<String> events) {
      this.raw = raw;
      this.events = events;
      this.last = raw.clusterEpoch();
    }

    void check(String part) {
      long now = raw.clusterEpoch();
      if (now != last) {
        events.add(part + ": cluster epoch " + last + " → " + now + " at " + Machine.stamp());
        last = now;
      }
    }
  }

  private ClientBench() {}

  /** Runs everything and writes the report to {@code --out}. */
  public static void main(String[] args) throws Exception {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "freshcache-demo-logback.xml");
    }
    Options o = Options.parse(args);
    Results r = run(o);
    String report = ClientReport.render(o, r);
    write(o.out(), report);
    System.out.println(report);
    System.out.println("report written to " + o.out().toAbsolutePath());
    System.exit(0);
  }

  static void write(Path out, String report) throws java.io.IOException {
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(out, report);
  }

  /** @return what every benchmark measured */
  public static Results run(Options o) throws Exception {
    long t0 = System.nanoTime();
    String id = UUID.randomUUID().toString().substring(0, 8);
    CacheClientConfig base = CacheClientConfig.fromEnv();
    String loadAtStart = Machine.loadAverage();
    CodecSizes sizes = codecSizes();
    Facts facts;
    int stored;
    List<HitLatency.Row> hits = new ArrayList<>();
    List<AsyncThroughput.Row> async = new ArrayList<>();
    CacheClient.Stats hitStats;
    List<Stampede.Round> stampede;
    List<String> stackEvents = new ArrayList<>();
    Map<String, List<Double>> near;
    Map<String, List<Double>> codecs;
    String nearLoad;
    String codecLoad;
    try (RawRedis raw = new RawRedis(base)) {
      EpochWatch epochs = new EpochWatch(raw, stackEvents);
      try (CacheClient client = CacheClient.create(base)) {
        facts = new Facts(Instant.now().toString(), Machine.cores(), Machine.cpuModel(), Machine.memory(),
            Machine.java(), Machine.jvmArgs(), raw.redisVersion(), Machine.gitCommit(), Machine.commandLine(),
            loadAtStart);
        awaitRedis(client);
        progress(o, "1/5 hit latency");
        HitLatency hl = new HitLatency(client, raw, CachePolicy.PRODUCT_CATALOG, "bench:hit:" + id,
            BenchProduct.sample(1));
        stored = hl.prepare();
        for (int run = 1; run <= o.runs(); run++) {
          hits.addAll(hl.run(run, o.hitWarmup(), o.hitIterations()));
        }
        epochs.check("§1 hit latency");
        progress(o, "2/5 async throughput");
        AsyncThroughput at = new AsyncThroughput(client, raw, CachePolicy.PRODUCT_CATALOG,
            "bench:async-" + id + ":", o.asyncKeys());
        at.prepare();
        for (int run = 1; run <= o.runs(); run++) {
          async.addAll(at.run(run, o.outstanding(), o.asyncWarmupSeconds(), o.asyncSeconds()));
        }
        hitStats = client.stats();
        epochs.check("§2 async throughput");
      }
      progress(o, "4/5 stampede");
      stampede = stampede(o, base, raw);
      epochs.check("§4 stampede");
      progress(o, "3/5 near cache (JMH)");
      nearLoad = Machine.stamp();
      Path tmpLog = Files.createTempFile("client-bench-jmh", ".log");
      near = JmhRuns.run(NearCacheBenchmark.class, o, tmpLog, true);
      String jmhText = Files.readString(tmpLog);
      epochs.check("§3 near cache");
      progress(o, "5/5 codecs (JMH)");
      codecLoad = Machine.stamp();
      codecs = JmhRuns.run(CodecBenchmark.class, o, tmpLog);
      jmhText += Files.readString(tmpLog);
      Files.deleteIfExists(tmpLog);
      if (!o.smoke()) {
        String name = o.out().getFileName().toString().replaceFirst("\\.md$", "");
        write(o.out().toAbsolutePath().resolveSibling(name + "-jmh.md"), "# JMH output behind " + o.out().getFileName()
            + "\n\n```\n" + jmhText + "```\n");
      }
      if (stackEvents.isEmpty()) {
        stackEvents.add("none (the cluster epoch stayed at " + epochs.last + " throughout)");
      } else {
        stackEvents.add(0, "FAILOVER");
      }
    }
    return new Results(facts, stored, hits, async, hitStats, stampede, near, nearLoad, codecs, codecLoad,
        sizes, stackEvents, (System.nanoTime() - t0) / 1e9);
  }

  private static List<Stampede.Round> stampede(Options o, CacheClientConfig base, RawRedis raw)
      throws InterruptedException {
    // lenient: a 1,000-thread burst on 2 cores otherwise trips the slow-call breaker, which is the
    // breaker doing its job and not the lease under test
    CacheClientConfig lenient = base.toBuilder().slowCallThreshold(Duration.ofSeconds(2))
        .commandTimeout(Duration.ofSeconds(2)).build();
    List<CacheClient> clients = new ArrayList<>();
    List<Stampede.Round> rounds = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        clients.add(CacheClient.create(lenient));
      }
      clients.forEach(ClientBench::awaitRedis);
      CachePolicy policy = CachePolicy.of("stampede", Duration.ofMinutes(5));
      List<Stampede.Contender> contenders = List.of(
          Stampede.clientLib(ClientReport.CLIENT_ONE, clients.subList(0, 1), policy),
          Stampede.clientLib(ClientReport.CLIENT_FOUR, clients, policy),
          Contenders.naiveLock(raw.connection().sync()),
          Contenders.unprotected(raw.connection().sync()));
      if (!o.smoke()) {
        for (Stampede.Contender c : contenders) {
          Stampede.run(c, 200, 0, o.loaderMs()); // warm-up, not reported
        }
      }
      for (int callers : o.stampedeCallers()) {
        for (int round = 1; round <= o.stampedeRounds(); round++) {
          for (int i = 0; i < contenders.size(); i++) {
            Stampede.Contender c = contenders.get((i + round) % contenders.size());
            rounds.add(Stampede.run(c, callers, round, o.loaderMs()));
          }
        }
      }
    } finally {
      clients.forEach(CacheClient::close);
    }
    return rounds;
  }

  /**
   * Waits until {@code client} reaches Redis: a client created while the shared stack is slow or
   * failing over starts anyway and connects in the background, reading from the loader meanwhile.
   */
  static void awaitRedis(CacheClient client) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!client.ping()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the client did not reach Redis within 60 s");
      }
      java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
    }
  }

  static CodecSizes codecSizes() {
    BenchProduct p = BenchProduct.sample(42);
    Map<String, Integer> sizes = new LinkedHashMap<>();
    for (String c : List.of("json", "cbor", "smile", "msgpack")) {
      sizes.put(c, Codecs.byName(c).encode(p).length);
    }
    JsonNode tree = new ObjectMapper().valueToTree(p);
    int[] acc = new int[3];
    walk(tree, acc);
    return new CodecSizes(sizes, acc[0], acc[1], acc[2]);
  }

  private static void walk(JsonNode n, int[] acc) {
    if (n.isTextual()) {
      acc[0] += n.textValue().getBytes(StandardCharsets.UTF_8).length;
    } else if (n.isObject()) {
      for (Map.Entry<String, JsonNode> e : n.properties()) {
        acc[1] += e.getKey().length();
        acc[2]++;
        walk(e.getValue(), acc);
      }
    } else if (n.isArray()) {
      n.forEach(c -> walk(c, acc));
    }
  }

  static int envelopeBytes(int payload) {
    return Envelope.HEADER_BYTES + payload;
  }

  private static void progress(Options o, String step) {
    System.err.println("client bench: " + step + " (load " + Machine.loadAverage() + ")");
  }
}
