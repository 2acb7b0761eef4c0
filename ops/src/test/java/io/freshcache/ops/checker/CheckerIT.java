package io.freshcache.ops.checker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.KeySnapshot;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.Pipeline;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.SetArgs;
import java.nio.charset.StandardCharsets;
import io.freshcache.protocol.ServiceEndpoints;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The checker on the real path: PostgreSQL → cdc-ingest → Kafka → cache-writer → Redis, each
 * in-process, with an upsert rule versioned by a row-version column so every event leaves a value
 * in Redis to check. M is 1 s and the re-check windows 3 s and 8 s (wide enough for a loaded machine's
 * pipeline lag), so a violation is confirmed about 8 s after its event.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CheckerIT {
  static final String RUN = UUID.randomUUID().toString().replace("-", "").substring(0, 8);
  static final String TABLE = "ops_ck_" + RUN;
  static final String ENTITY = "item" + RUN;
  static final TableRule RULE = TableRule.builder("public." + TABLE, "opsck:" + ENTITY + ":{id}")
      .upsert("json", Duration.ofMinutes(10)).versionColumn("version").build();
  static final Map<String, String> ENV = System.getenv();

  static Pipeline pipeline;
  static OpsRedis redis;
  static PrometheusMeterRegistry registry;
  static ConsistencyChecker checker;
  static ServiceEndpoints http;

  @BeforeAll
  static void start() throws Exception {
    Pipeline.createTable(TABLE, 20);
    pipeline = Pipeline.start("ops_ck_" + RUN, RULE);
    redis = OpsRedis.connect(OpsRedis.settings(ENV));
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CheckerConfig config = new CheckerConfig(List.of("freshcache.changes"), "ops-checker-" + RUN,
        Duration.ofSeconds(1), List.of(Duration.ofSeconds(3), Duration.ofSeconds(8)), 1.0, 50, 100_000, List.of(1, 2), 0);
    checker = ConsistencyChecker.start(config, redis, OpsKafka.fromEnv(ENV), OpsDb.Settings.fromEnv(ENV),
        KeyRules.of(List.of(RULE)), registry);
    http = ServiceEndpoints.start(0, "checker-it", checker::health, registry::scrape);
    // the new group starts at the end once its partitions are assigned and positioned: change
    // row 1 until the checker has seen one of its events
    await("checker follows the topic").atMost(Pipeline.PATIENCE).pollInterval(Duration.ofSeconds(1))
        .until(() -> {
          Pipeline.update(TABLE, 1);
          return checker.checks("1s", "consistent") + checker.checks("1s", "inconsistent") > 0;
        });
  }

  @AfterAll
  static void stop() throws Exception {
    if (http != null) {
      http.close();
    }
    if (checker != null) {
      checker.close();
    }
    if (redis != null) {
      redis.close();
    }
    if (pipeline != null) {
      pipeline.close();
    }
    Pipeline.dropTable(TABLE);
  }

  static long checked() {
    return checker.checks("1s", "consistent") + checker.checks("1s", "inconsistent");
  }

  @Test
  @Order(1)
  void aNormalFlowHasNoConfirmedViolation() throws Exception {
    long before = checked();
    int events = 0;
    for (int round = 0; round < 5; round++) {
      for (long id = 1; id <= 20; id++) {
        Pipeline.update(TABLE, id);
        events++;
      }
    }
    // a delete and a re-insert whose row version starts again at 1 (the insert passes the tombstone)
    Pipeline.sql("DELETE FROM public." + TABLE + " WHERE id = 3");
    Pipeline.sql("INSERT INTO public." + TABLE + " VALUES (3, 'item 3 again', 1, 1)");
    events += 2;
    int expected = events;
    await("every event checked").atMost(Pipeline.PATIENCE).until(() -> checked() - before >= expected);
    // and every apparent violation through its last window and the database
    await("apparent violations settled").atMost(Pipeline.PATIENCE).pollInterval(Duration.ofMillis(500))
        .until(() -> checker.health().pending() == 0);
    assertThat(checker.violations("confirmed")).as("confirmed violations of a normal flow: %s",
        checker.outcomes()).isZero();
    // the re-insert's earlier events are of the row's previous incarnation: not even apparent
    assertThat(checker.apparentViolations()).as("apparent violations").noneMatch(v -> v.event().key()
        .equals(CacheKey.parse("opsck:" + ENTITY + ":3")));
    assertThat(checker.checks("1s", "consistent")).isGreaterThan(0);
    // the values really were there to check: the upsert rule caches each row
    KeySnapshot snap = redis.snapshot(CacheKey.parse("opsck:" + ENTITY + ":7"), List.of(1));
    assertThat(snap.values()).as("row 7 cached").hasSize(1);
    assertThat(snap.values().get(0).envelope().dataVersion()).isEqualTo(6);
    assertThat(checker.nines("confirmed")).isGreaterThanOrEqualTo(2.0); // >= 100 events, none confirmed
  }

  @Test
  @Order(2)
  void aStaleValueWrittenPastTheFenceIsSeenThenConfirmed() throws Exception {
    // a value of schema 2 that the fence does not list: no invalidation reaches it (as after a
    // fence expired before its value, or a write that bypassed the scripts)
    CacheKey key = CacheKey.parse("opsck:" + ENTITY + ":13");
    long now = System.currentTimeMillis();
    byte[] stale = new Envelope((byte) 1, 0, 0, now, now, 0, "{\"id\":13}".getBytes(StandardCharsets.UTF_8)).encode();
    redis.sync().set(key.valueKey(2).getBytes(StandardCharsets.UTF_8), stale, SetArgs.Builder.px(600_000));
    long version = Pipeline.update(TABLE, 13);
    await("apparent violation at M").atMost(Pipeline.PATIENCE).until(() -> checker.apparentViolations().stream()
        .anyMatch(v -> v.event().key().equals(key) && v.event().version() == version));
    await("confirmed").atMost(Pipeline.PATIENCE).until(() -> checker.outcomes().stream()
        .anyMatch(v -> v.event().key().equals(key) && v.outcome().equals("confirmed")));
    ConsistencyChecker.Violation v = checker.outcomes().stream().filter(x -> x.event().key().equals(key))
        .findFirst().orElseThrow();
    assertThat(v.reason()).isEqualTo("v2 holds version 0 < event version " + version);
    assertThat(v.describe()).contains("schemas [s1]").contains("v2: version 0")
        .contains("v2: cached version 0 < row version " + version);
    assertThat(checker.violations("confirmed")).isEqualTo(1);
    redis.sync().del(key.valueKey(2).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  @Order(3)
  void aStoppedWriterIsSeenAtMThenConfirmedAfterTheLastWindow() throws Exception {
    CacheKey key = CacheKey.parse("opsck:" + ENTITY + ":11");
    long cached = redis.snapshot(key, List.of(1)).values().get(0).envelope().dataVersion();
    pipeline.stopWriter();
    long version = Pipeline.update(TABLE, 11);
    assertThat(version).isGreaterThan(cached);

    await("apparent violation at M").atMost(Pipeline.PATIENCE).until(() -> checker.apparentViolations().stream()
        .anyMatch(v -> v.event().key().equals(key) && v.event().version() == version));
    ConsistencyChecker.Violation seen = checker.apparentViolations().stream()
        .filter(v -> v.event().key().equals(key)).findFirst().orElseThrow();
    assertThat(seen.window()).isEqualTo("1s");
    assertThat(seen.reason()).contains("holds version " + cached + " < event version " + version);
    assertThat(checker.outcomes()).as("not confirmed before the last window").noneMatch(v -> v.event().key().equals(key));

    await("confirmed after the last window").atMost(Pipeline.PATIENCE)
        .until(() -> checker.violations("confirmed") == 2);
    ConsistencyChecker.Violation confirmed = checker.outcomes().stream()
        .filter(v -> v.outcome().equals("confirmed") && v.event().key().equals(key)).findFirst().orElseThrow();
    assertThat(confirmed.event().key()).isEqualTo(key);
    assertThat(confirmed.window()).isEqualTo("8s");
    // the log line has the event's offset, the fence, the value header and TTL, and the row's verdict
    String line = confirmed.describe();
    assertThat(line).startsWith("confirmed violation of " + key + " at window 8s")
        .contains("freshcache.changes-" + confirmed.partition() + "@" + confirmed.offset())
        .contains("fence v=" + cached).contains("v1: version " + cached).contains("ttl ")
        .contains("database: stale (v1: cached version " + cached + " < row version " + version + ")");
    assertThat(checker.checks("3s", "inconsistent")).isGreaterThanOrEqualTo(1);
    assertThat(checker.checks("8s", "inconsistent")).isGreaterThanOrEqualTo(1);

    HttpClient client = HttpClient.newHttpClient();
    String metrics = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/metrics"))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("freshcache_checker_violations_total{result=\"confirmed\"} 2.0")
        .contains("freshcache_checker_checks_total{result=\"inconsistent\",window=\"8s\"}")
        .contains("freshcache_checker_nines{window=\"1s\"}").contains("freshcache_checker_nines{window=\"confirmed\"}");
    assertThat(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/health/live"))
        .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    assertThat(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/health/ready"))
        .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
  }
}
