package io.freshcache.bench.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/** Renders {@link ClientBench.Results} as the Markdown report: summary with goals, then details. */
final class ClientReport {
  static final String CLIENT_ONE = "(a) client-lib, 1 instance";
  static final String CLIENT_FOUR = "(a) client-lib, 4 instances";

  private final ClientBench.Options o;
  private final ClientBench.Results r;
  private final StringBuilder md = new StringBuilder();

  private ClientReport(ClientBench.Options o, ClientBench.Results r) {
    this.o = o;
    this.r = r;
  }

  static String render(ClientBench.Options o, ClientBench.Results r) {
    return new ClientReport(o, r).render();
  }

  private String render() {
    ClientBench.Facts f = r.facts();
    line("# client-lib benchmarks" + (o.smoke() ? " (smoke run: figures meaningless)" : ""));
    line("");
    line("Issue 3, section \"Benchmarks\". Every figure stands beside its baseline measured in the same"
        + " run and JVM. **The figures are noisy**: this machine has " + f.cores() + " cores shared by the"
        + " benchmark JVM, six Redis nodes, Kafka, PostgreSQL and other engineers' builds and tests; the"
        + " load average before each run is recorded. Medians are over the repetitions, ranges"
        + " (min–max) in brackets. Nothing here is asserted; the goals are compared, not enforced.");
    line("");
    line("## How it was run");
    line("");
    line("```");
    line("mvn -B -q -o -pl bench -am install -DskipTests");
    line("eval \"$(dev/stack env)\"");
    line(f.command());
    line("```");
    line("");
    if (!f.command().contains("bench/target/")) {
      line("The class path was a private copy of `bench/target/bench-0.1.0-SNAPSHOT.jar` and `bench/target/lib/`"
          + " taken right after the build, so that other engineers rebuilding the shared tree could not swap"
          + " classes under the running JVM or its JMH forks; from a fresh build, use `bench/target/...` instead.");
      line("");
    }
    line("| fact | value |");
    line("|---|---|");
    row("started", f.started());
    row("nproc", Integer.toString(f.cores()));
    row("CPU", f.cpu());
    row("memory", f.memory());
    row("Java", f.java());
    row("JVM arguments", f.jvmArgs().isEmpty() ? "(none)" : "`" + f.jvmArgs() + "`");
    row("Redis", f.redis() + ", cluster of 3 masters + 3 replicas on 127.0.0.1 (`dev/stack`)");
    row("Lettuce", io.lettuce.core.RedisClient.class.getPackage().getImplementationVersion() == null ? "7.7.0"
        : io.lettuce.core.RedisClient.class.getPackage().getImplementationVersion());
    row("commit", f.commit());
    row("load average at start (1, 5, 15 min)", f.loadAtStart());
    row("wall time", String.format(Locale.ROOT, "%.0f s", r.seconds()));
    row("repetitions", o.runs() + " run(s) of 1–2, " + o.stampedeRounds() + " round(s) of 4 per contender and size, "
        + (o.jmhForks() == 0 ? "JMH in-process (no fork)" : o.jmhForks() + " JMH forks") + " for 3 and 5");
    line("");
    summary();
    hitLatency();
    asyncThroughput();
    nearCache();
    stampede();
    codecs();
    return md.toString();
  }

  // ---- summary ----

  private void summary() {
    line("## Summary");
    line("");
    if (r.disturbed()) {
      line("**A shard failed over during this run** (another engineer's test on the shared stack), so the parts"
          + " below were disturbed: " + String.join("; ", r.stackEvents().subList(1, r.stackEvents().size()))
          + ". Read their figures with that in mind.");
    } else {
      line("Failovers during the run: " + r.stackEvents().get(0) + ".");
    }
    line("");
    line("| # | what | client-lib | baseline | ratio or result | goal | met |");
    line("|---|---|---|---|---|---|---|");
    Summary p50 = ratioOf(HitLatency.CLIENT, HitLatency.Row::p50);
    Summary p99 = ratioOf(HitLatency.CLIENT, HitLatency.Row::p99);
    line("| 1 | hit latency p50, one thread | " + hitMedian(HitLatency.CLIENT, HitLatency.Row::p50) + " µs | "
        + hitMedian(HitLatency.RAW, HitLatency.Row::p50) + " µs (raw GET) | " + p50.format(3) + "× | ≤ 1.05× | "
        + met(p50.median() <= 1.05) + " |");
    line("| 1 | hit latency p99, one thread | " + hitMedian(HitLatency.CLIENT, HitLatency.Row::p99) + " µs | "
        + hitMedian(HitLatency.RAW, HitLatency.Row::p99) + " µs (raw GET) | " + p99.format(3) + "× | ≤ 1.10× | "
        + met(p99.median() <= 1.10) + " |");
    Summary d50 = ratioOf(HitLatency.CLIENT, HitLatency.RAW_DECODE, HitLatency.Row::p50);
    Summary d99 = ratioOf(HitLatency.CLIENT, HitLatency.RAW_DECODE, HitLatency.Row::p99);
    line("| 1 | *diagnostic:* hit p50 / p99 vs raw GET + the same decode | " + hitMedian(HitLatency.CLIENT,
        HitLatency.Row::p50) + " / " + hitMedian(HitLatency.CLIENT, HitLatency.Row::p99) + " µs | "
        + hitMedian(HitLatency.RAW_DECODE, HitLatency.Row::p50) + " / " + hitMedian(HitLatency.RAW_DECODE,
        HitLatency.Row::p99) + " µs | " + d50.format(3) + "× / " + d99.format(3) + "× | – | – |");
    Summary ops = asyncRatio();
    line("| 2 | async hit throughput, " + o.outstanding() + " outstanding | "
        + asyncMedian(AsyncThroughput.CLIENT).format(0) + " ops/s | " + asyncMedian(AsyncThroughput.RAW).format(0)
        + " ops/s (raw async GET) | " + ops.format(3) + "× | ≥ 0.9× | " + met(ops.median() >= 0.9) + " |");
    line("| 2 | *diagnostic:* vs raw async GET + the same decode | " + asyncMedian(AsyncThroughput.CLIENT).format(0)
        + " ops/s | " + asyncMedian(AsyncThroughput.RAW_DECODE).format(0) + " ops/s | "
        + asyncRatioOf(AsyncThroughput.CLIENT, AsyncThroughput.RAW_DECODE).format(3) + "× | – | – |");
    Summary near = Summary.of(r.near().getOrDefault("nearHit", List.of()));
    Summary redis = Summary.of(r.near().getOrDefault("redisHit", List.of()));
    double speedup = redis.median() / near.median();
    line("| 3 | near-cache hit vs Redis hit, per thread | " + near.format(0) + " ns | " + redis.format(0)
        + " ns (Redis hit, same client) | " + String.format(Locale.ROOT, "%.0f×", speedup) + " | ≥ 100× | "
        + met(speedup >= 100) + " |");
    double p50Redis = med(HitLatency.CLIENT, HitLatency.Row::p50) * 1000;
    line(String.format(Locale.ROOT, "| 3 | *diagnostic:* near-cache hit vs §1's Redis-hit p50 | %s ns | %.0f ns (§1 client-lib"
        + " p50) | %.0f× | – | – |", near.format(0), p50Redis, p50Redis / near.median()));
    for (int callers : o.stampedeCallers()) {
      for (String c : List.of(CLIENT_ONE, CLIENT_FOUR)) {
        List<Stampede.Round> rs = rounds(c, callers);
        Summary calls = Summary.of(rs.stream().map(x -> (double) x.loaderCalls()).toList());
        Summary sp99 = Summary.of(rs.stream().map(Stampede.Round::p99).toList());
        Summary seedCalls = Summary.of(rounds(seedName(), callers).stream().map(x -> (double) x.loaderCalls()).toList());
        Summary seedP99 = Summary.of(rounds(seedName(), callers).stream().map(Stampede.Round::p99).toList());
        Summary noneCalls = Summary.of(rounds(noneName(), callers).stream().map(x -> (double) x.loaderCalls()).toList());
        Summary noneP99 = Summary.of(rounds(noneName(), callers).stream().map(Stampede.Round::p99).toList());
        boolean ok = calls.max() == 1 && sp99.median() <= o.loaderMs() + 10;
        line("| 4 | stampede, " + callers + " threads, " + c.substring(4) + " | " + calls.format(0) + " loader calls, p99 "
            + sp99.format(1) + " ms | seed: " + seedCalls.format(0) + " calls, p99 " + seedP99.format(1)
            + " ms; none: " + noneCalls.format(0) + " calls, p99 " + noneP99.format(1) + " ms | " + (calls.max() == 1 ? "1 call in every round" :
            "more than 1 call in some round") + " | 1 call, p99 ≤ " + (o.loaderMs() + 10) + " ms | " + met(ok) + " |");
      }
    }
    ClientBench.CodecSizes s = r.sizes();
    int json = s.payloadBytes().get("json");
    List<String> savings = new ArrayList<>();
    boolean holds = true;
    for (String c : List.of("cbor", "smile", "msgpack")) {
      double save = 100.0 * (json - s.payloadBytes().get(c)) / json;
      holds &= save >= 30 && save <= 40;
      savings.add(c + " " + String.format(Locale.ROOT, "%.0f%%", save));
    }
    line("| 5 | codec size, product of " + s.fields() + " fields incl. 5 variants | " + String.join(", ", savings)
        + " smaller | JSON " + json + " B | see §5 | \"binary 30–40% smaller\" | " + (holds ? "holds" : "**does not hold**")
        + " |");
    line("");
    line("Stampede client-lib rows use a lenient client config (`slowCallThreshold` 2 s, `commandTimeout` 2 s,"
        + " see §4).");
    line("");
    findings();
  }

  /** Sentences computed from this run's medians that say where the differences come from. */
  private void findings() {
    line("What this run says (computed from its medians):");
    line("");
    double client = med(HitLatency.CLIENT, HitLatency.Row::p50);
    double raw = med(HitLatency.RAW, HitLatency.Row::p50);
    double decoded = med(HitLatency.RAW_DECODE, HitLatency.Row::p50);
    line(String.format(Locale.ROOT, "- Hit p50: client-lib is %.1f µs above a raw `GET`; %.1f µs of it is the envelope"
        + " and JSON decode (raw `GET` + decode − raw `GET`) and %.1f µs client-lib's own work (key validation,"
        + " breaker, meters, XFetch check). A 1.05× goal leaves %.1f µs for decoding and everything else.",
        client - raw, decoded - raw, client - decoded, raw * 0.05));
    Summary rawOps = asyncMedian(AsyncThroughput.RAW);
    Summary decOps = asyncMedian(AsyncThroughput.RAW_DECODE);
    Summary clientOps = asyncMedian(AsyncThroughput.CLIENT);
    line(String.format(Locale.ROOT, "- Async: a raw async `GET` plus the same decode reaches %.2f× of the raw `GET`'s"
        + " throughput and client-lib %.2f× of that; on 2 shared cores the CPU spent decoding a %d-byte JSON value"
        + " %s.", decOps.median() / rawOps.median(), clientOps.median() / decOps.median(), r.sizes().payloadBytes().get("json"),
        decOps.median() / rawOps.median() < 0.9 ? "alone puts 0.9× of raw bytes out of reach" : "still leaves room for 0.9×"));
    Summary near = Summary.of(r.near().getOrDefault("nearHit", List.of()));
    Summary redis = Summary.of(r.near().getOrDefault("redisHit", List.of()));
    Summary parse = Summary.of(r.near().getOrDefault("parseKey", List.of()));
    List<Double> nearAlloc = r.near().get("nearHit " + JmhRuns.ALLOC);
    List<Double> parseAlloc = r.near().get("parseKey " + JmhRuns.ALLOC);
    line(String.format(Locale.ROOT, "- Near cache: %.0f× by JMH's Redis-hit mean, which carries the tail of a loaded"
        + " machine; %.0f× against §1's Redis-hit p50. A near hit takes %.0f ns, of which validating the key"
        + " (`CacheKey.parse`) takes %.0f ns%s.", redis.median() / near.median(), client * 1000 / near.median(),
        near.median(), parse.median(), nearAlloc == null || parseAlloc == null ? ""
            : String.format(Locale.ROOT, " and %.0f of the %.0f bytes allocated", parseAlloc.get(0), nearAlloc.get(0))));
    for (int callers : o.stampedeCallers()) {
      Summary none = Summary.of(rounds(noneName(), callers).stream().map(Stampede.Round::p99).toList());
      Summary spread = Summary.of(rounds(noneName(), callers).stream().map(Stampede.Round::startSpread).toList());
      line(String.format(Locale.ROOT, "- Stampede, %d threads: with no protection at all (one `GET`, the %d ms load, one"
          + " `SETEX` each) the p99 is %.1f ms and the start spread %.1f ms — the floor this machine sets for %d threads;"
          + " the goal of %d ms is %s it.", callers, o.loaderMs(), none.median(), spread.median(), callers,
          o.loaderMs() + 10, none.median() > o.loaderMs() + 10 ? "below" : "above"));
    }
    line("");
  }

  private double med(String name, ToDoubleFunction<HitLatency.Row> f) {
    return Summary.of(r.hits().stream().filter(x -> x.name().equals(name)).map(f::applyAsDouble).toList()).median();
  }

  // ---- 1 ----

  private void hitLatency() {
    line("## 1. Hit latency, one thread");
    line("");
    line("One key holding the sample product (" + r.storedBytes() + " bytes stored: 31-byte envelope header +"
        + " JSON payload), policy `PRODUCT_CATALOG` (near cache off). `" + HitLatency.CLIENT + "` is"
        + " `CacheClient.getOrLoad` with the default `CacheClientConfig.fromEnv()`; `" + HitLatency.RAW + "` is"
        + " a separate Lettuce cluster client's sync `GET` of the same value key (the same bytes); `"
        + HitLatency.RAW_DECODE + "` adds the envelope and Jackson decode client-lib does, to show how much of"
        + " the difference is decoding (any client that returns objects pays it) and how much is client-lib's"
        + " own work (key parsing, breaker, meters, XFetch check). " + o.hitIterations() + " measured calls per"
        + " contender and run after " + o.hitWarmup() + " warm-up calls, in alternating blocks of "
        + HitLatency.BLOCK + "; HdrHistogram, µs.");
    line("");
    line("| contender | p50 µs | p99 µs | p99.9 µs | max µs | p50 / raw | p99 / raw |");
    line("|---|---|---|---|---|---|---|");
    for (String name : List.of(HitLatency.CLIENT, HitLatency.RAW, HitLatency.RAW_DECODE)) {
      List<HitLatency.Row> rows = r.hits().stream().filter(x -> x.name().equals(name)).toList();
      line("| " + name + " | " + s(rows, HitLatency.Row::p50, 1) + " | " + s(rows, HitLatency.Row::p99, 1) + " | "
          + s(rows, HitLatency.Row::p999, 1) + " | " + s(rows, HitLatency.Row::max, 0) + " | "
          + ratioOf(name, HitLatency.Row::p50).format(3) + " | " + ratioOf(name, HitLatency.Row::p99).format(3) + " |");
    }
    line("");
    line("Ratios are per run (same run, same minutes), then the median over runs. Per run:");
    line("");
    line("| run | UTC · load avg before | contender | calls | p50 µs | p99 µs | p99.9 µs | max µs | not hits |");
    line("|---|---|---|---|---|---|---|---|---|");
    for (HitLatency.Row x : r.hits()) {
      line(String.format(Locale.ROOT, "| %d | %s | %s | %d | %.1f | %.1f | %.1f | %.0f | %d |", x.run(), x.load(),
          x.name(), x.count(), x.p50(), x.p99(), x.p999(), x.max(), x.loaderCalls()));
    }
    line("");
    line("*Not hits*: client reads that called the loader (warm-up included), i.e. Redis was bypassed — on this"
        + " shared stack, when another engineer's test stalled or failed over a node. They are timed like the rest.");
    line("");
    line("Client counters over benchmarks 1–2: " + r.hitPathStats().hits() + " hits, " + r.hitPathStats().misses()
        + " misses (" + (r.async().isEmpty() ? 1 : 1 + o.asyncKeys()) + " of them the initial fills), "
        + r.hitPathStats().fallbacks() + " fallbacks to the loader (Redis bypassed), " + r.hitPathStats().loaderCalls()
        + " loader calls.");
    line("");
  }

  // ---- 2 ----

  private void asyncThroughput() {
    line("## 2. Async hit throughput, " + o.outstanding() + " outstanding");
    line("");
    line(o.outstanding() + " chains, each issuing its next read when the previous completes (closed loop, on the"
        + " Lettuce I/O thread for every contender), over " + o.asyncKeys() + " pre-filled keys spread across the"
        + " slots; " + o.asyncWarmupSeconds() + " s warm-up then " + o.asyncSeconds() + " s counted, contenders"
        + " one after another in an order rotating per run. Same client and raw connection as §1.");
    line("");
    line("| contender | ops/s | / raw |");
    line("|---|---|---|");
    for (String name : AsyncThroughput.names()) {
      line("| " + name + " | " + asyncMedian(name).format(0) + " | " + asyncRatioOf(name).format(3) + " |");
    }
    line("");
    line("| run | UTC · load avg before | contender | ops/s | not hits | failed reads (first) |");
    line("|---|---|---|---|---|---|");
    for (AsyncThroughput.Row x : r.async()) {
      line(String.format(Locale.ROOT, "| %d | %s | %s | %.0f | %d | %d%s |", x.run(), x.load(), x.name(),
          x.opsPerSecond(), x.loaderCalls(), x.errors(),
          x.errors() == 0 ? "" : " (" + x.firstError().replace("|", "/") + ")"));
    }
    line("");
    line("*Not hits*: client reads served by the loader because Redis was bypassed (warm-up included). *Failed"
        + " reads*: raw reads that failed (client-lib does not fail a read for a Redis error).");
    line("");
  }

  // ---- 3 ----

  private void nearCache() {
    line("## 3. Near-cache hit vs Redis hit (JMH)");
    line("");
    line("`NearCacheBenchmark`: one `CacheClient` (default config), one key, one thread, JMH AverageTime; `nearHit`"
        + " reads with `PRODUCT_CATALOG.withNearCache(true)`, `redisHit` with `PRODUCT_CATALOG` (one `GET` and a"
        + " decode). " + jmhShape() + " Started (UTC · load average): " + r.nearLoad() + ".");
    line("");
    line("| benchmark | ns/op, per fork | median (range) | bytes allocated / op |");
    line("|---|---|---|---|");
    for (Map.Entry<String, List<Double>> e : r.near().entrySet()) {
      if (!e.getKey().contains(" ")) {
        List<Double> alloc = r.near().get(e.getKey() + " " + JmhRuns.ALLOC);
        line("| " + e.getKey() + " | " + join(e.getValue()) + " | " + Summary.of(e.getValue()).format(1) + " | "
            + (alloc == null ? "–" : String.format(Locale.ROOT, "%.0f", alloc.get(0))) + " |");
      }
    }
    line("");
    line("Reads during measurement that were not hits (loader called, Redis bypassed): nearHit "
        + notHits("nearHit") + ", redisHit " + notHits("redisHit") + ".");
    Summary near = Summary.of(r.near().getOrDefault("nearHit", List.of()));
    Summary redis = Summary.of(r.near().getOrDefault("redisHit", List.of()));
    line("");
    line(String.format(Locale.ROOT, "Redis hit / near-cache hit: %.0f× (median over median; %.0f–%.0f× from the"
        + " extremes).", redis.median() / near.median(), redis.min() / near.max(), redis.max() / near.min()));
    line("");
    double parse = Summary.of(r.near().getOrDefault("parseKey", List.of())).median();
    List<Double> nearAlloc = r.near().get("nearHit " + JmhRuns.ALLOC);
    List<Double> parseAlloc = r.near().get("parseKey " + JmhRuns.ALLOC);
    line(String.format(Locale.ROOT, "`parseKey` is a diagnostic: `CacheKey.parse` of the same key (`bench:product:<6 digits>`),"
        + " which every read does before anything else. It is %.0f%% of a near-cache hit's time%s. JMH's mean"
        + " includes the tail, so under load the Redis mean sits well above §1's p50, and the ratio moves with the"
        + " machine's load more than with the near cache.", 100 * parse / near.median(),
        nearAlloc == null || parseAlloc == null ? "" : String.format(Locale.ROOT, " and %.0f of its %.0f allocated bytes",
            parseAlloc.get(0), nearAlloc.get(0))));
    line("");
  }

  // ---- 4 ----

  private void stampede() {
    line("## 4. Stampede: one cold key, " + o.loaderMs() + " ms loader");
    line("");
    line("Per round a fresh key; N platform threads are started and parked with `LockSupport.parkNanos` until one"
        + " absolute deadline (300 ms + N ms ahead), then all read the key. Latency is each caller's own, from its"
        + " wake-up to its value; *start spread* is last wake-up minus first; *all done* is the last caller's"
        + " value minus the first wake-up. Contenders rotate order within a round; one unreported warm-up round"
        + " of each with 200 threads precedes the measured ones" + (o.smoke() ? " (skipped in smoke runs)" : "") + ".");
    line("");
    line("- " + CLIENT_ONE + ": `getOrLoad` on one `CacheClient` — in-process single flight does most of the work,"
        + " one caller takes the Redis lease.");
    line("- " + CLIENT_FOUR + ": callers round-robin over 4 `CacheClient`s (separate connections, as 4 JVMs would"
        + " be) — the Redis lease (`getOrLease` script) decides between them; waiters in the other three poll it"
        + " with capped jittered backoff (1 ms doubling to 20 ms).");
    line("- Both use a **lenient client config**: `CacheClientConfig.fromEnv().toBuilder().slowCallThreshold("
        + "Duration.ofSeconds(2)).commandTimeout(Duration.ofSeconds(2)).build()`. With the defaults a 1,000-thread"
        + " burst on 2 cores trips the slow-call breaker and the reads bypass Redis to the rate-limited loader — the"
        + " breaker doing its job, not the lease under test.");
    line("- " + seedName() + ": the seed's algorithm ported as it was on a raw Lettuce connection — `GET`; on a miss"
        + " `SET lock:<key> NX PX 5000`; the winner loads, `SETEX`s, `DEL`s the lock; losers sleep 100 ms and start"
        + " over. No re-check after winning the lock.");
    line("- " + noneName() + ": `GET`; on a miss load and `SETEX`.");
    line("");
    line("The load average of a round includes this benchmark's own threads: a 1,000-thread round leaves a"
        + " burst of runnable threads in the next reading.");
    line("");
    line("Medians over rounds (range):");
    line("");
    line("| threads | contender | loader calls | p50 ms | p99 ms | max ms | start spread ms | all done ms | failed reads | bypassed Redis |");
    line("|---|---|---|---|---|---|---|---|---|---|");
    for (int callers : o.stampedeCallers()) {
      for (String c : contenderNames()) {
        List<Stampede.Round> rs = rounds(c, callers);
        line("| " + callers + " | " + c + " | " + st(rs, x -> x.loaderCalls(), 0) + " | " + st(rs, Stampede.Round::p50, 1)
            + " | " + st(rs, Stampede.Round::p99, 1) + " | " + st(rs, Stampede.Round::max, 1) + " | "
            + st(rs, Stampede.Round::startSpread, 1) + " | " + st(rs, Stampede.Round::lastDone, 1) + " | "
            + rs.stream().mapToInt(Stampede.Round::failures).sum() + " | "
            + rs.stream().mapToLong(Stampede.Round::bypassed).sum() + " |");
      }
    }
    line("");
    line("<details><summary>Every round</summary>");
    line("");
    line("| threads | round | contender | UTC · load avg before | loader calls | p50 ms | p99 ms | max ms | start spread ms | all done ms | failed | bypassed Redis | parked in time |");
    line("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (Stampede.Round x : r.stampede()) {
      line(String.format(Locale.ROOT, "| %d | %d | %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %d | %s |",
          x.callers(), x.round(), x.contender(), x.load(), x.loaderCalls(), x.p50(), x.p99(), x.max(), x.startSpread(),
          x.lastDone(), x.failures(), x.bypassed(), x.allParkedInTime() ? "yes" : "no"));
    }
    line("");
    line("</details>");
    line("");
  }

  // ---- 5 ----

  private void codecs() {
    ClientBench.CodecSizes s = r.sizes();
    line("## 5. Codecs on a product entity");
    line("");
    line("`BenchProduct.sample(42)`: " + s.fields() + " fields in all — 21 on the product (ids, prices, counts,"
        + " flags, name, brand, category, a two-sentence description, an image URL, 4 tags, timestamps) and 6 on each"
        + " of its 5 variants. It holds " + s.textBytes() + " bytes of string content and " + s.fieldNameBytes()
        + " bytes of field names (every codec here writes names, as Jackson maps). Sizes are the payload; the"
        + " stored entry adds the 31-byte envelope header. Times: `CodecBenchmark`, JMH AverageTime, one thread, "
        + jmhShape() + " Started (UTC · load average): " + r.codecLoad() + ".");
    line("");
    int json = s.payloadBytes().get("json");
    line("| codec | payload bytes | stored bytes | vs JSON | encode ns | decode ns |");
    line("|---|---|---|---|---|---|");
    for (Map.Entry<String, Integer> e : s.payloadBytes().entrySet()) {
      double save = 100.0 * (json - e.getValue()) / json;
      line("| " + e.getKey() + " | " + e.getValue() + " | " + ClientBench.envelopeBytes(e.getValue()) + " | "
          + (e.getKey().equals("json") ? "–" : String.format(Locale.ROOT, "%.1f%% smaller", save)) + " | "
          + Summary.of(r.codecs().getOrDefault("encode[" + e.getKey() + "]", List.of())).format(0) + " | "
          + Summary.of(r.codecs().getOrDefault("decode[" + e.getKey() + "]", List.of())).format(0) + " |");
    }
    line("");
    boolean holds = true;
    for (String c : List.of("cbor", "smile", "msgpack")) {
      double save = 100.0 * (json - s.payloadBytes().get(c)) / json;
      holds &= save >= 30 && save <= 40;
    }
    line("The seed's \"binary codecs are 30–40% smaller than JSON\" " + (holds ? "holds" : "**does not hold**")
        + " for this entity. Strings and field names are written verbatim by all four codecs (Smile can"
        + " back-reference repeated names and short strings), so the saving comes only from numbers, booleans and"
        + " framing; it grows for numeric entities and shrinks for text-heavy ones.");
    line("");
  }

  // ---- helpers ----

  private String notHits(String benchmark) {
    List<Double> v = r.near().get(benchmark + " " + JmhRuns.LOADER_CALLS);
    return v == null || v.isEmpty() ? "–" : String.format(Locale.ROOT, "%.0f", v.get(0));
  }

  private String jmhShape() {
    return o.jmhForks() == 0 ? "In-process (no fork), " + o.jmhIterations() + " × " + o.jmhIterationMillis() + " ms."
        : o.jmhForks() + " forks × (" + o.jmhWarmupIterations() + " warm-up + " + o.jmhIterations() + " measured"
            + " iterations of " + o.jmhIterationMillis() + " ms); the median is over the forks' means.";
  }

  private List<String> contenderNames() {
    return r.stampede().stream().map(Stampede.Round::contender).distinct()
        .sorted((a, b) -> a.compareTo(b)).collect(Collectors.toList());
  }

  private String seedName() {
    return contenderNames().stream().filter(n -> n.startsWith("(b)")).findFirst().orElse("(b)");
  }

  private String noneName() {
    return contenderNames().stream().filter(n -> n.startsWith("(c)")).findFirst().orElse("(c)");
  }

  private List<Stampede.Round> rounds(String contender, int callers) {
    return r.stampede().stream().filter(x -> x.contender().equals(contender) && x.callers() == callers).toList();
  }

  private static String st(List<Stampede.Round> rs, ToDoubleFunction<Stampede.Round> f, int decimals) {
    return Summary.of(rs.stream().map(f::applyAsDouble).toList()).format(decimals);
  }

  private String hitMedian(String name, ToDoubleFunction<HitLatency.Row> f) {
    return s(r.hits().stream().filter(x -> x.name().equals(name)).toList(), f, 1);
  }

  private static String s(List<HitLatency.Row> rows, ToDoubleFunction<HitLatency.Row> f, int decimals) {
    return Summary.of(rows.stream().map(f::applyAsDouble).toList()).format(decimals);
  }

  /** {@code name} / raw GET per run, summarised over runs. */
  private Summary ratioOf(String name, ToDoubleFunction<HitLatency.Row> f) {
    return ratioOf(name, HitLatency.RAW, f);
  }

  private Summary ratioOf(String name, String base, ToDoubleFunction<HitLatency.Row> f) {
    Map<Integer, HitLatency.Row> raw = byRun(r.hits(), base, HitLatency.Row::name, HitLatency.Row::run);
    List<Double> out = new ArrayList<>();
    for (HitLatency.Row x : r.hits()) {
      if (x.name().equals(name) && raw.containsKey(x.run())) {
        out.add(f.applyAsDouble(x) / f.applyAsDouble(raw.get(x.run())));
      }
    }
    return Summary.of(out);
  }

  private Summary asyncMedian(String name) {
    return Summary.of(r.async().stream().filter(x -> x.name().equals(name)).map(AsyncThroughput.Row::opsPerSecond).toList());
  }

  private Summary asyncRatio() {
    return asyncRatioOf(AsyncThroughput.CLIENT);
  }

  private Summary asyncRatioOf(String name) {
    return asyncRatioOf(name, AsyncThroughput.RAW);
  }

  private Summary asyncRatioOf(String name, String base) {
    Map<Integer, AsyncThroughput.Row> raw = byRun(r.async(), base, AsyncThroughput.Row::name,
        AsyncThroughput.Row::run);
    List<Double> out = new ArrayList<>();
    for (AsyncThroughput.Row x : r.async()) {
      if (x.name().equals(name) && raw.containsKey(x.run())) {
        out.add(x.opsPerSecond() / raw.get(x.run()).opsPerSecond());
      }
    }
    return Summary.of(out);
  }

  private static <R> Map<Integer, R> byRun(List<R> rows, String name, Function<R, String> nameOf,
      Function<R, Integer> runOf) {
    Map<Integer, R> m = new LinkedHashMap<>();
    Predicate<R> is = x -> nameOf.apply(x).equals(name);
    rows.stream().filter(is).forEach(x -> m.put(runOf.apply(x), x));
    return m;
  }

  private static String join(List<Double> v) {
    return v.stream().map(d -> String.format(Locale.ROOT, "%.1f", d)).collect(Collectors.joining(", "));
  }

  private static String met(boolean ok) {
    return ok ? "yes" : "**no**";
  }

  private void row(String k, String v) {
    line("| " + k + " | " + v + " |");
  }

  private void line(String s) {
    md.append(s).append('\n');
  }
}
