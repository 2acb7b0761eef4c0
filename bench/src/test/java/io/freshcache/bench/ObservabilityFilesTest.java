package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.client.internal.ClientMeters;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Keeps what operators import in step with the meters the code exports: every metric that the
 * alert rules ({@code deploy/prometheus/freshcache-alerts.yml}) and the Grafana dashboard
 * ({@code deploy/grafana/freshcache-dashboard.json}) query must be one client-lib, cache-writer
 * or cdc-ingest registers, so a renamed meter fails here instead of leaving a panel empty or an
 * alert silent. The exported names come from a Prometheus scrape of {@link ClientMeters} (plus
 * the gauges {@code CacheClient} registers through it) and from the Prometheus names that
 * {@code WriterMetricNames}, {@code CdcMetricNames}, {@code ClientMeters} (meters registered
 * elsewhere) and the consistency checker document. promtool
 * checks the rules' syntax and behaviour ({@code dev/check-observability}).
 */
class ObservabilityFilesTest {
  /** Metrics from elsewhere: Prometheus's own, and redis_exporter's evictions and memory. */
  private static final Set<String> EXTERNAL = Set.of("up", "redis_evicted_keys_total", "redis_memory_used_bytes");
  private static final Pattern METRIC =
      Pattern.compile("(?<![\\w:$.\"-])((?:cache|freshcache|redis)_[a-z0-9_]+)\\b");

  private static Path repo;
  private static Set<String> exported;

  @BeforeAll
  static void exportedNames() throws IOException {
    repo = Path.of("").toAbsolutePath();
    while (!Files.isDirectory(repo.resolve("deploy"))) {
      repo = repo.getParent();
      assertThat(repo).as("a parent directory with deploy/").isNotNull();
    }
    exported = new TreeSet<>();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ClientMeters meters = new ClientMeters(registry);
    meters.entity("catalog");
    String client = Files.readString(repo.resolve(
        "client-lib/src/main/java/io/freshcache/client/CacheClient.java"));
    Matcher g = Pattern.compile("meters\\.gauge\\(\"([a-z.]+)\"").matcher(client);
    int gauges = 0;
    while (g.find()) {
      meters.gauge(g.group(1), "", () -> 0);
      gauges++;
    }
    assertThat(gauges).as("gauges CacheClient registers through ClientMeters").isGreaterThan(3);
    for (String line : registry.scrape().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        exported.add(line.split("[{ ]", 2)[0]);
      }
    }
    for (String file : List.of(
        "cache-writer/src/main/java/io/freshcache/writer/WriterMetricNames.java",
        "cdc-ingest/src/main/java/io/freshcache/cdc/CdcMetricNames.java",
        // meters registered outside ClientMeters' constructor, documented by their Prometheus names
        "client-lib/src/main/java/io/freshcache/client/internal/ClientMeters.java",
        "ops/src/main/java/io/freshcache/ops/checker/ConsistencyChecker.java")) {
      Matcher m = Pattern.compile("\\{@code ((?:freshcache|cache)_[a-z0-9_]+)(?:\\{[a-z, ]+})?}")
          .matcher(Files.readString(repo.resolve(file)));
      while (m.find()) {
        String name = m.group(1);
        exported.add(name);
        for (String suffix : List.of("_bucket", "_count", "_sum", "_max")) {
          exported.add(name + suffix);
        }
        if (name.endsWith("_size")) { // a summary documented by its base name
          exported.add(name + "_count");
          exported.add(name + "_sum");
          exported.add(name + "_max");
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  @Test
  void alertRulesQueryOnlyExportedMetrics() throws IOException {
    Map<String, Object> rules = new Yaml().load(
        Files.readString(repo.resolve("deploy/prometheus/freshcache-alerts.yml")));
    List<String> exprs = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) rules.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        exprs.add((String) rule.get("expr"));
      }
    }
    assertThat(exprs).hasSizeGreaterThan(15);
    assertThat(unknownMetrics(exprs)).as("metrics the alert rules query that nothing exports").isEmpty();
  }

  @SuppressWarnings("unchecked")
  @Test
  void dashboardQueriesOnlyExportedMetrics() throws IOException {
    // JSON is YAML
    Map<String, Object> dashboard = new Yaml().load(
        Files.readString(repo.resolve("deploy/grafana/freshcache-dashboard.json")));
    List<String> exprs = new ArrayList<>();
    for (Map<String, Object> panel : (List<Map<String, Object>>) dashboard.get("panels")) {
      for (Map<String, Object> target : (List<Map<String, Object>>) panel.getOrDefault("targets", List.of())) {
        exprs.add((String) target.get("expr"));
      }
    }
    Map<String, Object> templating = (Map<String, Object>) dashboard.get("templating");
    for (Map<String, Object> v : (List<Map<String, Object>>) templating.get("list")) {
      if (v.get("query") instanceof Map<?, ?> q) {
        exprs.add((String) q.get("query"));
      }
    }
    assertThat(exprs).hasSizeGreaterThan(40);
    assertThat(unknownMetrics(exprs)).as("metrics the dashboard queries that nothing exports").isEmpty();
  }

  @Test
  void theCheckFindsARenamedMeter() {
    assertThat(unknownMetrics(List.of("rate(freshcache_writer_events_aplied_total[5m])",
        "freshcache:writer_consumer_lag_records:sum > 1", "cache_gets_total")))
        .containsExactly("freshcache_writer_events_aplied_total");
  }

  private static Set<String> unknownMetrics(List<String> exprs) {
    Set<String> unknown = new TreeSet<>();
    for (String expr : exprs) {
      Matcher m = METRIC.matcher(expr);
      while (m.find()) {
        String name = m.group(1);
        if (!exported.contains(name) && !EXTERNAL.contains(name)) {
          unknown.add(name);
        }
      }
    }
    return unknown;
  }
}
