package io.freshcache.ops.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.Pipeline;
import io.freshcache.protocol.CacheKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CLI through the services' configuration model against the secured parts of the stack
 * ({@code dev/stack up redis-tls}): TLS + ACL Redis Cluster, SASL_SSL Kafka and PostgreSQL with a
 * TLS-only user verified against the dev CA, all from environment variables only, as the services
 * take them. Before the tools moved to the shared model, each of these failed (no CA file, no TLS
 * JDBC properties, no Kafka security properties).
 */
class SecuredStackIT {
  static final String RUN = UUID.randomUUID().toString().replace("-", "").substring(0, 8);
  static final String TABLE = "ops_sec_" + RUN;
  static final String NS = "opssec:item" + RUN;
  static Map<String, String> env;
  static Path rules;

  static String env(String name) {
    String v = System.getenv(name);
    assertThat(v).as("%s (eval \"$(dev/stack env)\")", name).isNotBlank();
    return v;
  }

  @BeforeAll
  static void setUp() throws Exception {
    Pipeline.createTable(TABLE, 5);
    rules = Files.createTempFile("ops-sec-rules", ".yaml");
    Files.writeString(rules, "tables:\n  public." + TABLE + ":\n    key: " + NS + ":{id}\n    operation: upsert\n"
        + "    codec: json\n    ttl: 600000\n    fieldNames: camelCase\n    version: column:version\n");
    env = new HashMap<>();
    env.put("CDC_RULES_FILE", rules.toString());
    env.put("REDIS_NODES", env("FRESHCACHE_REDIS_TLS_NODES"));
    env.put("REDIS_TLS", "true");
    env.put("REDIS_TLS_CA_FILE", env("FRESHCACHE_TLS_CA_FILE"));
    env.put("REDIS_USERNAME", env("FRESHCACHE_REDIS_ADMIN_USER"));
    env.put("REDIS_PASSWORD", env("FRESHCACHE_REDIS_ADMIN_PASSWORD"));
    env.put("KAFKA_BOOTSTRAP_SERVERS", env("FRESHCACHE_KAFKA_SASL_BOOTSTRAP_SERVERS"));
    env.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
    env.put("KAFKA_SASL_MECHANISM", env("FRESHCACHE_KAFKA_SASL_MECHANISM"));
    env.put("KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required"
        + " username=\"" + env("FRESHCACHE_KAFKA_SASL_USER") + "\" password=\"" + env("FRESHCACHE_KAFKA_SASL_PASSWORD") + "\";");
    env.put("KAFKA_SSL_TRUSTSTORE_TYPE", "PEM");
    env.put("KAFKA_SSL_TRUSTSTORE_LOCATION", env("FRESHCACHE_TLS_CA_FILE"));
    env.put("PG_HOST", "localhost");
    env.put("PG_PORT", env("PG_PORT"));
    env.put("PG_DB", env("PG_DB"));
    env.put("PG_USER", env("FRESHCACHE_PG_TLS_USER"));
    env.put("PG_PASSWORD", env("FRESHCACHE_PG_TLS_PASSWORD"));
    env.put("WRITER_SINK_JDBC_SSLMODE", "verify-full");
    env.put("WRITER_SINK_JDBC_SSLROOTCERT", env("FRESHCACHE_TLS_CA_FILE"));
  }

  @AfterAll
  static void tearDown() throws Exception {
    try (OpsRedis redis = OpsRedis.connect(OpsRedis.settings(env))) {
      for (int id = 1; id <= 5; id++) {
        CacheKey k = CacheKey.parse(NS + ":" + id);
        redis.sync().del(k.valueKey(1).getBytes(java.nio.charset.StandardCharsets.UTF_8),
            k.fenceKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    Pipeline.dropTable(TABLE);
    Files.deleteIfExists(rules);
  }

  @Test
  void warmInspectVerifyAndReplayOverTlsAclSaslAndVerifiedPostgres() {
    CliRun warm = CliRun.run(env, "warm", "--rule", TABLE, "--where", "true");
    assertThat(warm.code()).as("%s", warm).isZero();
    assertThat(warm.out()).contains("5 filled");
    CliRun inspect = CliRun.run(env, "inspect", NS + ":3");
    assertThat(inspect.code()).as("%s", inspect).isZero();
    assertThat(inspect.out()).contains("verdict   fresh");
    CliRun verify = CliRun.run(env, "verify", "--sample", "5", "--namespace", NS);
    assertThat(verify.code()).as("%s", verify).isZero();
    assertThat(verify.out()).contains("sampled 5 keys: 5 fresh");
    CliRun replay = CliRun.run(env, "replay", "--group", "no-such-group-" + RUN, "--from", "10m", "--yes");
    assertThat(replay.code()).as("%s", replay).isEqualTo(FreshcacheCli.USAGE);
    assertThat(replay.err()).contains("has no committed offsets");
  }

  @Test
  void aWrongCaIsNamedAsTheTlsSetting() {
    Map<String, String> wrongCa = new HashMap<>(env);
    wrongCa.put("REDIS_TLS_CA_FILE", env("FRESHCACHE_TLS_WRONG_CA_FILE"));
    CliRun r = CliRun.run(wrongCa, "inspect", NS + ":3");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.UNREACHABLE);
    assertThat(r.err()).contains("TLS handshake with Redis").contains("REDIS_TLS_CA_FILE");
    assertThat(r.err()).doesNotContain(env("FRESHCACHE_REDIS_ADMIN_PASSWORD"));
  }
}
