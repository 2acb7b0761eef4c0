package io.freshcache.bench.client;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs one JMH benchmark class through the JMH API and returns the score of each fork, so the
 * report can give a median and range over forks like every other figure. JMH's own log goes to a
 * file beside the report.
 */
final class JmhRuns {
  /** Secondary result of {@link NearCacheBenchmark.Fallbacks}. */
  static final String LOADER_CALLS = "loaderCalls";
  /** Secondary result of JMH's GC profiler: bytes allocated per operation. */
  static final String ALLOC = "gc.alloc.rate.norm";

  private JmhRuns() {}

  /**
   * @return per benchmark ({@code method} or {@code method[param]}), the mean score of each fork
   *     in the benchmark's time unit (one entry when forks is 0); for benchmarks that count
   *     {@value #LOADER_CALLS}, also {@code "method loaderCalls"} with the total over all forks
   */
  static Map<String, List<Double>> run(Class<?> benchmark, ClientBench.Options o, Path log) throws RunnerException {
    return run(benchmark, o, log, false);
  }

  /**
   * As {@link #run(Class, ClientBench.Options, Path)}; with {@code allocations}, JMH's GC profiler
   * also runs and {@code "method gc.alloc.rate.norm"} holds the bytes allocated per operation.
   */
  static Map<String, List<Double>> run(Class<?> benchmark, ClientBench.Options o, Path log, boolean allocations)
      throws RunnerException {
    OptionsBuilder b = new OptionsBuilder();
    b.include("^" + Pattern.quote(benchmark.getName()) + "\\.")
        .forks(o.jmhForks())
        .warmupIterations(o.jmhWarmupIterations())
        .warmupTime(TimeValue.milliseconds(o.jmhIterationMillis()))
        .measurementIterations(o.jmhIterations())
        .measurementTime(TimeValue.milliseconds(o.jmhIterationMillis()))
        .threads(1)
        .timeUnit(TimeUnit.NANOSECONDS)
        .shouldFailOnError(true)
        .jvmArgs("-Xms256m", "-Xmx256m", "-Dlogback.configurationFile=freshcache-demo-logback.xml")
        .output(log.toString());
    if (allocations) {
      b.addProfiler(GCProfiler.class);
    }
    Collection<RunResult> results = new Runner(b.build()).run();
    Map<String, List<Double>> out = new LinkedHashMap<>();
    for (RunResult r : results) {
      String method = r.getParams().getBenchmark();
      method = method.substring(method.lastIndexOf('.') + 1);
      String name = r.getParams().getParamsKeys().isEmpty() ? method
          : method + "[" + String.join(",", r.getParams().getParamsKeys().stream()
              .map(k -> r.getParams().getParam(k)).toList()) + "]";
      List<Double> forks = new ArrayList<>();
      double loaderCalls = 0;
      for (BenchmarkResult br : r.getBenchmarkResults()) {
        forks.add(br.getPrimaryResult().getScore());
        Result<?> calls = br.getSecondaryResults().get(LOADER_CALLS);
        if (calls != null) {
          loaderCalls += calls.getScore(); // EVENTS: summed over the fork's iterations
        }
      }
      out.put(name, forks);
      if (r.getAggregatedResult().getSecondaryResults().containsKey(LOADER_CALLS)) {
        out.put(name + " " + LOADER_CALLS, List.of(loaderCalls));
      }
      Result<?> alloc = r.getAggregatedResult().getSecondaryResults().get(ALLOC);
      if (alloc != null) {
        out.put(name + " " + ALLOC, List.of(alloc.getScore()));
      }
    }
    return out;
  }
}
