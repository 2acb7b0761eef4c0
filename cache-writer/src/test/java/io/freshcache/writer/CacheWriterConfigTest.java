package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.writer.internal.WriterKafkaProperties;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheWriterConfigTest {
  /** The variables given, plus REDIS_NODES unless given. */
  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>();
    m.put("REDIS_NODES", "127.0.0.1:7000");
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  private static CacheWriterConfig.Builder builder() {
    return CacheWriterConfig.builder().redisNodes(List.of("127.0.0.1:7000"));
  }

  @Test
  void defaultsWithoutASink() {
    CacheWriterConfig c = CacheWriterConfig.fromEnv(env());
    assertThat(c.kafka().bootstrapServers()).isEqualTo(KafkaClientConfig.DEFAULT_BOOTSTRAP_SERVERS);
    assertThat(c.redis().commandTimeout()).isEqualTo(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT)
        .isEqualTo(Duration.ofSeconds(2));
    assertThat(c.redis().connectTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.topics()).containsExactly("freshcache.changes", "freshcache.writes");
    assertThat(c.httpPort()).isEqualTo(CacheWriterConfig.DEFAULT_HTTP_PORT);
    assertThat(c.sessionTimeout()).isEqualTo(CacheWriterConfig.DEFAULT_SESSION_TIMEOUT);
    assertThat(c.maxPayloadBytes()).isEqualTo(CacheWriterConfig.DEFAULT_MAX_PAYLOAD_BYTES);
    assertThat(c.sink()).isNull();
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void redisNodesAreRequired() {
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("REDIS_NODES is not set");
    assertThatThrownBy(() -> CacheWriterConfig.builder().build()).hasMessageContaining("redis.nodes");
  }

  @Test
  void theWritersOwnTimeoutWinsOverTheSharedOne() {
    assertThat(CacheWriterConfig.fromEnv(env("REDIS_COMMAND_TIMEOUT_MS", "3000")).redis().commandTimeout())
        .isEqualTo(Duration.ofSeconds(3));
    assertThat(CacheWriterConfig.fromEnv(env("REDIS_COMMAND_TIMEOUT_MS", "500", "WRITER_REDIS_TIMEOUT_MS", "4s"))
        .redis().commandTimeout()).isEqualTo(Duration.ofSeconds(4));
  }

  @Test
  void badSettingsFailNamingTheVariableAndTheValue() {
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_BATCH_SIZE", "lots")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("WRITER_BATCH_SIZE").hasMessageContaining("'lots'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_BATCH_SIZE", "200000")))
        .hasMessageContaining("WRITER_BATCH_SIZE").hasMessageContaining("200000");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_HTTP_PORT", "70000")))
        .hasMessageContaining("WRITER_HTTP_PORT").hasMessageContaining("'70000'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SESSION_TIMEOUT_MS", "-1")))
        .hasMessageContaining("WRITER_SESSION_TIMEOUT_MS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SESSION_TIMEOUT_MS", "2h")))
        .hasMessageContaining("WRITER_SESSION_TIMEOUT_MS").hasMessageContaining("'2h'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_FENCE_TTL_MS", "500")))
        .hasMessageContaining("WRITER_FENCE_TTL_MS").hasMessageContaining("'500'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_REDIS_TIMEOUT_MS", "never")))
        .hasMessageContaining("WRITER_REDIS_TIMEOUT_MS").hasMessageContaining("'never'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_TOPICS", ",")))
        .hasMessageContaining("WRITER_TOPICS");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("REDIS_NODES", "nohostport")))
        .hasMessageContaining("REDIS_NODES").hasMessageContaining("'nohostport'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("KAFKA_BOOTSTRAP_SERVERS", "kafka")))
        .hasMessageContaining("KAFKA_BOOTSTRAP_SERVERS").hasMessageContaining("'kafka'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "catalog:product=products")))
        .hasMessageContaining("WRITER_SINK_RULES").hasMessageContaining("catalog:product=products");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)")))
        .hasMessageContaining("WRITER_SINK_JDBC_URL");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "WRITER_SINK_JDBC_URL", "jdbc:mysql://x/y"))).hasMessageContaining("WRITER_SINK_JDBC_URL")
        .hasMessageContaining("jdbc:mysql://x/y");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "JDBC_URL", "jdbc:postgresql://h/db", "WRITER_SINK_FLUSH_MS", "0"))).hasMessageContaining("WRITER_SINK_FLUSH_MS")
        .hasMessageContaining("'0'");
  }

  @Test
  void aSinkIsConfiguredFromItsVariablesWithTheStackFallbacks() {
    CacheWriterConfig c = CacheWriterConfig.fromEnv(env(
        "WRITER_SINK_RULES", " catalog:product = public.Products ( ID , Version ) ; shop:order=orders(order_id,row_version);",
        "JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop?password=urlsecret", "PG_USER", "u", "PG_PASSWORD", "secret",
        "WRITER_SINK_BATCH_SIZE", "50", "WRITER_SINK_FLUSH_MS", "20"));
    WriteBehindConfig s = c.sink();
    assertThat(s.rules()).containsExactly(new SinkRule("catalog:product", "public.products", "id", "version"),
        new SinkRule("shop:order", "orders", "order_id", "row_version"));
    assertThat(s.user()).isEqualTo("u");
    assertThat(s.password()).isEqualTo("secret");
    assertThat(s.batchSize()).isEqualTo(50);
    assertThat(s.flushInterval()).isEqualTo(Duration.ofMillis(20));
    assertThat(s.topic()).isEqualTo(WriteBehindConfig.DEFAULT_TOPIC);
    assertThat(c.toString()).doesNotContain("secret");
    assertThat(s.ruleFor("shop:order").table()).isEqualTo("orders");
    assertThat(s.ruleFor("shop:cart")).isNull();
    assertThat(s.toBuilder().build()).isEqualTo(s);
  }

  @Test
  void theSinkTakesJdbcTlsSettingsAndSecretsFromFiles(@TempDir Path dir) throws IOException {
    Path pw = Files.writeString(dir.resolve("pw"), "dbsecret\n");
    Path keyPw = Files.writeString(dir.resolve("keypw"), "keysecret\n");
    WriteBehindConfig s = CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "WRITER_SINK_JDBC_URL", "jdbc:postgresql://db:5432/shop", "WRITER_SINK_DB_PASSWORD_FILE", pw.toString(),
        "WRITER_SINK_JDBC_SSLMODE", "verify-full", "WRITER_SINK_JDBC_SSLROOTCERT", "/ca.pem",
        "WRITER_SINK_JDBC_SSLPASSWORD_FILE", keyPw.toString(), "WRITER_SINK_JDBC_SSLRESPONSETIMEOUT", "3000")).sink();
    assertThat(s.password()).isEqualTo("dbsecret");
    assertThat(s.jdbcProperties()).containsExactlyInAnyOrderEntriesOf(Map.of("sslmode", "verify-full",
        "sslrootcert", "/ca.pem", "sslpassword", "keysecret", "sslResponseTimeout", "3000"));
    assertThat(s.toString()).doesNotContain("dbsecret").doesNotContain("keysecret").contains("sslmode=verify-full");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "JDBC_URL", "jdbc:postgresql://h/db", "WRITER_SINK_JDBC_SSLMODDE", "require")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("WRITER_SINK_JDBC_SSLMODDE");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "JDBC_URL", "jdbc:postgresql://h/db", "WRITER_SINK_JDBC_PASSWORD", "x")))
        .hasMessageContaining("WRITER_SINK_JDBC_PASSWORD").hasMessageContaining("WRITER_SINK_DB_PASSWORD")
        .hasMessageNotContaining("'x'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_SINK_RULES", "a:b=t(id,version)",
        "JDBC_URL", "jdbc:postgresql://h/db", "WRITER_SINK_JDBC_REWRITEBATCHEDINSERTS", "true")))
        .hasMessageContaining("reWriteBatchedInserts");
  }

  @Test
  void kafkaPassThroughPropertiesReachEveryClientButTheReservedOnes() {
    CacheWriterConfig c = CacheWriterConfig.fromEnv(env("KAFKA_BOOTSTRAP_SERVERS", "k1:9093",
        "KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "KAFKA_SASL_MECHANISM", "PLAIN",
        "KAFKA_SASL_JAAS_CONFIG", "x required password=\"kpw\";", "KAFKA_MAX_POLL_RECORDS", "77"));
    Map<String, Object> consumer = WriterKafkaProperties.consumer(c.kafka(), c.groupId(), c.batchSize(), 5,
        c.sessionTimeout());
    assertThat(consumer).containsEntry("bootstrap.servers", "k1:9093").containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "PLAIN").containsEntry("sasl.jaas.config", "x required password=\"kpw\";")
        .containsEntry("max.poll.records", "77").containsEntry("enable.auto.commit", "false")
        .containsEntry("group.id", "freshcache-writer");
    assertThat(WriterKafkaProperties.deadLetterProducer(c.kafka())).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("acks", "all");
    assertThat(WriterKafkaProperties.healthAdmin(c.kafka())).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("bootstrap.servers", "k1:9093");
    assertThat(c.toString()).doesNotContain("kpw");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("KAFKA_ENABLE_AUTO_COMMIT", "true")))
        .as("refused at start").isInstanceOf(ConfigException.class).hasMessageContaining("KAFKA_ENABLE_AUTO_COMMIT");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("KAFKA_ACKS", "0"))).hasMessageContaining("KAFKA_ACKS");
    KafkaClientConfig autoCommit = KafkaClientConfig.builder().property("enable.auto.commit", "true").build();
    assertThatThrownBy(() -> WriterKafkaProperties.consumer(autoCommit, "g", 1, 5, Duration.ofSeconds(10)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("KAFKA_ENABLE_AUTO_COMMIT")
        .hasMessageContaining("false");
    KafkaClientConfig acks = KafkaClientConfig.builder().property("acks", "0").build();
    assertThatThrownBy(() -> WriterKafkaProperties.deadLetterProducer(acks)).hasMessageContaining("KAFKA_ACKS");
  }

  @Test
  void theBuilderValidatesOnBuild() {
    assertThat(builder().batchSize(7).build().batchSize()).isEqualTo(7);
    assertThatThrownBy(() -> builder().topics(List.of("a")).dlqTopic("a").build())
        .isInstanceOf(ConfigException.class).hasMessageContaining("'a'");
    assertThatThrownBy(() -> builder().sessionTimeout(Duration.ofMillis(10)).build())
        .hasMessageContaining("PT0.01S");
  }

  @Test
  void replicaAcksAndTheUnappliedBoundHaveDefaultsAndAreValidated() {
    CacheWriterConfig d = CacheWriterConfig.fromEnv(env());
    assertThat(d.replicaAcks()).isEqualTo(1);
    assertThat(d.replicaAckTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(d.maxUnappliedAge()).isEqualTo(Duration.ofSeconds(30));
    CacheWriterConfig c = CacheWriterConfig.fromEnv(env("WRITER_REPLICA_ACKS", "0",
        "WRITER_REPLICA_ACK_TIMEOUT_MS", "250", "WRITER_MAX_UNAPPLIED_AGE_MS", "5000"));
    assertThat(c.replicaAcks()).isZero();
    assertThat(c.replicaAckTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.maxUnappliedAge()).isEqualTo(Duration.ofSeconds(5));
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_REPLICA_ACKS", "-1")))
        .hasMessageContaining("WRITER_REPLICA_ACKS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_REPLICA_ACKS", "17")))
        .hasMessageContaining("WRITER_REPLICA_ACKS").hasMessageContaining("'17'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_REPLICA_ACK_TIMEOUT_MS", "2000")))
        .hasMessageContaining("replicaAckTimeout").hasMessageContaining("shorter than the Redis command timeout");
    assertThat(CacheWriterConfig.fromEnv(env("WRITER_REPLICA_ACKS", "0", "WRITER_REPLICA_ACK_TIMEOUT_MS", "2000"))
        .replicaAckTimeout()).as("no acks: the timeout is not used").isEqualTo(Duration.ofSeconds(2));
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(env("WRITER_MAX_UNAPPLIED_AGE_MS", "999")))
        .hasMessageContaining("WRITER_MAX_UNAPPLIED_AGE_MS").hasMessageContaining("'999'");
  }

  /** Regression: these passed validation and failed later, far from the setting. */
  @Test
  void aBlankTopicAPortOutOfRangeAndABlankPasswordAreCaught() {
    assertThatThrownBy(() -> builder().dlqTopic(" ").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dlqTopic");
    assertThatThrownBy(() -> builder().redisNodes(List.of("127.0.0.1:99999")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..65535");
    assertThatThrownBy(() -> builder().redisNodes(List.of("127.0.0.1:0")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("127.0.0.1:0");
    CacheWriterConfig c = CacheWriterConfig.fromEnv(env("REDIS_PASSWORD", "   "));
    assertThat(c.redis().password()).as("a whitespace-only password is no password").isNull();
  }
}
