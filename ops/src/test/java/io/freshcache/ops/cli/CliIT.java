package io.freshcache.ops.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.Pipeline;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The CLI against the real stack: a table of its own under an upsert rule versioned by its
 * {@code version} column (given as {@code CDC_RULES_FILE}), warmed by {@code warm}, then read by
 * {@code inspect} and {@code verify} after a change the cache did not see (no CDC runs here), an
 * {@code audit} of keys planted without TTL, and {@code replay} of a group of its own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliIT {
  static final String RUN = UUID.randomUUID().toString().replace("-", "").substring(0, 8);
  static final String TABLE = "ops_cli_" + RUN;
  static final String NS = "opscli:item" + RUN;
  static final ObjectMapper JSON = new ObjectMapper();
  static Map<String, String> env;
  static Path rules;
  static OpsRedis redis;

  @BeforeAll
  static void setUp() throws Exception {
    Pipeline.createTable(TABLE, 30);
    rules = Files.createTempFile("ops-cli-rules", ".yaml");
    Files.writeString(rules, "tables:\n  public." + TABLE + ":\n    key: " + NS + ":{id}\n    operation: upsert\n"
        + "    codec: json\n    ttl: 600000\n    fieldNames: camelCase\n    version: column:version\n");
    env = new HashMap<>(System.getenv());
    env.remove("CDC_RULES");
    env.put("CDC_RULES_FILE", rules.toString());
    redis = OpsRedis.connect(OpsRedis.settings(env));
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (redis != null) {
      for (String k : List.of("{" + NS + ":99}:v1", "{" + NS + ":98}:lease", "ops-junk-" + RUN)) {
        redis.sync().del(k.getBytes(StandardCharsets.UTF_8));
      }
      redis.close();
    }
    Pipeline.dropTable(TABLE);
    Files.deleteIfExists(rules);
  }

  @Test
  @Order(1)
  void warmFillsThroughTheFencedPathAndLeavesCachedKeysAlone() {
    CliRun r = CliRun.run(env, "warm", "--rule", TABLE, "--where", "id <= 20", "--rate", "2000");
    assertThat(r.code()).as("%s", r).isZero();
    assertThat(r.out()).contains("20 rows; 20 filled, 0 already cached");
    assertThat(r.err()).as("progress").contains("warm [").contains("20/20 (100%)");
    CliRun again = CliRun.run(env, "warm", "--rule", "public." + TABLE, "--where", "id <= 20");
    assertThat(again.out()).as("%s", again).contains("20 rows; 0 filled, 20 already cached");
    CliRun badSql = CliRun.run(env, "warm", "--rule", TABLE, "--where", "no_such_column = 1");
    assertThat(badSql.code()).as("%s", badSql).isEqualTo(FreshcacheCli.USAGE);
    assertThat(badSql.err()).contains("--where 'no_such_column = 1' fails on public." + TABLE);
  }

  @Test
  @Order(2)
  void inspectShowsTheEntryTheRowAndAVerdict() throws Exception {
    CliRun fresh = CliRun.run(env, "inspect", NS + ":5");
    assertThat(fresh.code()).as("%s", fresh).isZero();
    assertThat(fresh.out()).contains("value     v1: version 1, codec json").contains("ttl ")
        .contains("payload {id=5, name=item 5, priceCents=500, version=1}")
        .contains("rule      public." + TABLE + "=" + NS + ":{id}").contains("-> row {id=5}")
        .contains("verdict   fresh").contains("cached version 1 >= row version 1");

    Pipeline.update(TABLE, 7); // no CDC here: the cache does not hear of it
    CliRun stale = CliRun.run(env, "inspect", "{" + NS + ":7}:v1", "--json");
    assertThat(stale.code()).as("%s", stale).isEqualTo(FreshcacheCli.FINDINGS);
    JsonNode j = JSON.readTree(stale.out());
    assertThat(j.get("verdict").asText()).isEqualTo("stale");
    assertThat(j.get("values").get(0).get("version").asLong()).isEqualTo(1);
    assertThat(j.get("row").get("version").asText()).isEqualTo("2");

    CliRun absent = CliRun.run(env, "inspect", NS + ":25");
    assertThat(absent.code()).as("%s", absent).isZero();
    assertThat(absent.out()).contains("verdict   absent");

    CliRun noRule = CliRun.run(env, "inspect", "nosuch:thing:1");
    assertThat(noRule.code()).isZero();
    assertThat(noRule.out()).contains("rule      none maps nosuch:thing:*");
  }

  @Test
  @Order(3)
  void verifyFindsTheStaleKey() throws Exception {
    CliRun r = CliRun.run(env, "verify", "--sample", "100", "--namespace", NS);
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.FINDINGS);
    assertThat(r.out()).contains("stale  " + NS + ":7: v1: cached version 1 < row version 2")
        .contains("sampled 20 keys: 19 fresh, 1 stale");
    CliRun json = CliRun.run(env, "verify", "--sample", "5", "--namespace", NS, "--json");
    assertThat(JSON.readTree(json.out()).get("sampled").asInt()).isEqualTo(5);
    CliRun any = CliRun.run(env, "verify", "--sample", "10");
    assertThat(any.out()).as("%s", any).contains("sampled ");
  }

  @Test
  @Order(4)
  void auditReportsKeysWithoutTtlAndOutsideTheLayout() throws Exception {
    long now = System.currentTimeMillis();
    byte[] value = new Envelope((byte) 1, 0, 3, now, now, 0, "{}".getBytes(StandardCharsets.UTF_8)).encode();
    redis.sync().set(CacheKey.parse(NS + ":99").valueKey(1).getBytes(StandardCharsets.UTF_8), value);
    redis.sync().set(CacheKey.parse(NS + ":98").leaseKey().getBytes(StandardCharsets.UTF_8), "t".getBytes(StandardCharsets.UTF_8));
    redis.sync().set(("ops-junk-" + RUN).getBytes(StandardCharsets.UTF_8), "x".getBytes(StandardCharsets.UTF_8));
    CliRun r = CliRun.run(env, "audit", "--json", "--schemas", "1");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.FINDINGS);
    JsonNode j = JSON.readTree(r.out());
    assertThat(j.get("values").asLong()).isGreaterThanOrEqualTo(21);
    Map<String, Long> counts = new HashMap<>();
    j.get("findings").forEach(f -> counts.put(f.get("finding").asText(), f.get("count").asLong()));
    assertThat(counts.get("values without TTL")).isGreaterThanOrEqualTo(1);
    assertThat(counts.get("leases without TTL")).isGreaterThanOrEqualTo(1);
    assertThat(counts.get("keys outside the layout")).isGreaterThanOrEqualTo(1);
    assertThat(j.get("schemas").get(NS).get("1").asLong()).isEqualTo(21);
    CliRun table = CliRun.run(env, "audit");
    assertThat(table.out()).as("%s", table).contains("finding").contains("values without TTL").contains("findings");
    assertThat(table.err()).contains("audit [");
  }

  @Test
  @Order(5)
  void replayStatesTheFenceBoundAsksAndMovesTheOffsetsBack() throws Exception {
    String group = "ops-cli-replay-" + RUN;
    Pipeline.startGroupAtTheEnd(group, List.of("freshcache.changes"));
    Map<TopicPartition, OffsetAndMetadata> before = committed(group);

    CliRun declined = CliRun.withInput(env, "no\n", "replay", "--group", group, "--from", "2d", "--topics", "freshcache.changes");
    assertThat(declined.code()).as("%s", declined).isEqualTo(FreshcacheCli.FINDINGS);
    assertThat(declined.out()).contains("Fences live at least WRITER_FENCE_TTL_MS = 24h").contains("WARNING")
        .contains("further back than the fence lifetime").contains("Type 'yes'");
    assertThat(declined.err()).contains("not confirmed; nothing changed");
    assertThat(committed(group)).isEqualTo(before);

    CliRun confirmed = CliRun.withInput(env, "yes\n", "replay", "--group", group, "--from", "1h", "--topics", "freshcache.changes");
    assertThat(confirmed.code()).as("%s", confirmed).isZero();
    assertThat(confirmed.out()).contains("is within that bound").contains("moved ");
    Map<TopicPartition, OffsetAndMetadata> after = committed(group);
    assertThat(after.keySet()).isEqualTo(before.keySet());
    after.forEach((tp, o) -> assertThat(o.offset()).as("%s", tp).isLessThanOrEqualTo(before.get(tp).offset()));

    CliRun yes = CliRun.run(env, "replay", "--group", group, "--from", "10m", "--topics", "freshcache.changes", "--yes");
    assertThat(yes.code()).as("%s", yes).isZero();

    CliRun noGroup = CliRun.run(env, "replay", "--group", "no-such-group-" + RUN, "--from", "10m", "--yes");
    assertThat(noGroup.code()).as("%s", noGroup).isEqualTo(FreshcacheCli.USAGE);
    assertThat(noGroup.err()).contains("has no committed offsets");

    Map<String, String> deadKafka = new HashMap<>(env);
    deadKafka.put("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1");
    CliRun unreachable = CliRun.run(deadKafka, "replay", "--group", group, "--from", "10m", "--yes");
    assertThat(unreachable.code()).as("%s", unreachable).isEqualTo(FreshcacheCli.UNREACHABLE);
    assertThat(unreachable.err()).contains("Kafka did not answer (KAFKA_BOOTSTRAP_SERVERS)");
  }

  @Test
  @Order(6)
  void badInputAgainstTheStackIsNamed() {
    CliRun noRule = CliRun.run(env, "warm", "--rule", "no_such_table", "--where", "true");
    assertThat(noRule.code()).as("%s", noRule).isEqualTo(FreshcacheCli.USAGE);
    assertThat(noRule.err()).contains("no rule named 'no_such_table'; the rules are: public." + TABLE + " (" + NS + ")");
    CliRun badKey = CliRun.run(env, "inspect", NS + ":has space");
    assertThat(badKey.code()).as("%s", badKey).isEqualTo(FreshcacheCli.USAGE);
    assertThat(badKey.err()).contains("unknown key format");
    Map<String, String> deadRedis = new HashMap<>(env);
    deadRedis.put("REDIS_NODES", "127.0.0.1:1");
    for (String[] command : List.of(new String[] {"inspect", NS + ":5"}, new String[] {"verify", "--sample", "3"},
        new String[] {"audit"}, new String[] {"warm", "--rule", TABLE})) {
      CliRun r = CliRun.run(deadRedis, command);
      assertThat(r.code()).as("%s: %s", String.join(" ", command), r).isEqualTo(FreshcacheCli.UNREACHABLE);
      assertThat(r.err()).contains("cannot reach Redis at 127.0.0.1:1 (REDIS_NODES)");
    }
  }

  @Test
  @Order(7)
  void anUnreachableDatabaseExitsThree() {
    Map<String, String> deadDb = new HashMap<>(env);
    deadDb.put("JDBC_URL", "jdbc:postgresql://127.0.0.1:1/shop");
    CliRun r = CliRun.run(deadDb, "inspect", NS + ":5");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.UNREACHABLE);
    assertThat(r.err()).contains("cannot reach the database at jdbc:postgresql://127.0.0.1:1/shop");
  }

  private static Map<TopicPartition, OffsetAndMetadata> committed(String group) throws Exception {
    try (Admin admin = OpsKafka.fromEnv(env).admin(10_000)) {
      return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
    }
  }
}
