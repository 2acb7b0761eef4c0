package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheWriterConfigTest {

  @Test
  void defaultsAreTheLocalStackWithoutASink() {
    CacheWriterConfig c = CacheWriterConfig.fromEnv(Map.of());
    assertThat(c.kafkaBootstrapServers()).isEqualTo(CacheWriterConfig.DEFAULT_KAFKA);
    assertThat(c.topics()).containsExactly("freshcache.changes", "freshcache.writes");
    assertThat(c.httpPort()).isEqualTo(CacheWriterConfig.DEFAULT_HTTP_PORT);
    assertThat(c.sessionTimeout()).isEqualTo(CacheWriterConfig.DEFAULT_SESSION_TIMEOUT);
    assertThat(c.maxPayloadBytes()).isEqualTo(CacheWriterConfig.DEFAULT_MAX_PAYLOAD_BYTES);
    assertThat(c.sink()).isNull();
  }

  @Test
  void badSettingsFailNamingTheVariableAndTheValue() {
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_BATCH_SIZE", "lots")))
        .hasMessageContaining("WRITER_BATCH_SIZE").hasMessageContaining("'lots'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_BATCH_SIZE", "200000")))
        .hasMessageContaining("WRITER_BATCH_SIZE").hasMessageContaining("200000");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_HTTP_PORT", "70000")))
        .hasMessageContaining("WRITER_HTTP_PORT").hasMessageContaining("'70000'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_SESSION_TIMEOUT_MS", "-1")))
        .hasMessageContaining("WRITER_SESSION_TIMEOUT_MS");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("REDIS_NODES", "nohostport")))
        .hasMessageContaining("'nohostport'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_SINK_RULES", "catalog:product=products")))
        .hasMessageContaining("WRITER_SINK_RULES").hasMessageContaining("catalog:product=products");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_SINK_RULES", "a:b=t(id,version)")))
        .hasMessageContaining("WRITER_SINK_JDBC_URL");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_SINK_RULES", "a:b=t(id,version)",
        "WRITER_SINK_JDBC_URL", "jdbc:mysql://x/y"))).hasMessageContaining("WRITER_SINK_JDBC_URL")
        .hasMessageContaining("jdbc:mysql://x/y");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_SINK_RULES", "a:b=t(id,version)",
        "JDBC_URL", "jdbc:postgresql://h/db", "WRITER_SINK_FLUSH_MS", "0"))).hasMessageContaining("WRITER_SINK_FLUSH_MS");
  }

  @Test
  void aSinkIsConfiguredFromItsVariablesWithTheStackFallbacks() {
    CacheWriterConfig c = CacheWriterConfig.fromEnv(Map.of(
        "WRITER_SINK_RULES", " catalog:product = public.Products ( ID , Version ) ; shop:order=orders(order_id,row_version);",
        "JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop", "PG_USER", "u", "PG_PASSWORD", "secret",
        "WRITER_SINK_BATCH_SIZE", "50", "WRITER_SINK_FLUSH_MS", "20"));
    WriteBehindConfig s = c.sink();
    assertThat(s.rules()).containsExactly(new SinkRule("catalog:product", "public.products", "id", "version"),
        new SinkRule("shop:order", "orders", "order_id", "row_version"));
    assertThat(s.user()).isEqualTo("u");
    assertThat(s.batchSize()).isEqualTo(50);
    assertThat(s.flushInterval()).isEqualTo(Duration.ofMillis(20));
    assertThat(s.topic()).isEqualTo(WriteBehindConfig.DEFAULT_TOPIC);
    assertThat(c.toString()).doesNotContain("secret");
    assertThat(s.ruleFor("shop:order").table()).isEqualTo("orders");
    assertThat(s.ruleFor("shop:cart")).isNull();
  }

  @Test
  void theBuilderValidatesOnBuild() {
    assertThat(CacheWriterConfig.builder().batchSize(7).build().batchSize()).isEqualTo(7);
    assertThatThrownBy(() -> CacheWriterConfig.builder().topics(List.of("a")).dlqTopic("a").build())
        .hasMessageContaining("'a'");
    assertThatThrownBy(() -> CacheWriterConfig.builder().sessionTimeout(Duration.ofMillis(10)).build())
        .hasMessageContaining("PT0.01S");
  }

  @Test
  void replicaAcksAndTheUnappliedBoundHaveDefaultsAndAreValidated() {
    CacheWriterConfig d = CacheWriterConfig.fromEnv(Map.of());
    assertThat(d.replicaAcks()).isEqualTo(1);
    assertThat(d.replicaAckTimeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(d.maxUnappliedAge()).isEqualTo(Duration.ofSeconds(30));
    CacheWriterConfig c = CacheWriterConfig.fromEnv(Map.of("WRITER_REPLICA_ACKS", "0",
        "WRITER_REPLICA_ACK_TIMEOUT_MS", "250", "WRITER_MAX_UNAPPLIED_AGE_MS", "5000"));
    assertThat(c.replicaAcks()).isZero();
    assertThat(c.replicaAckTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.maxUnappliedAge()).isEqualTo(Duration.ofSeconds(5));
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_REPLICA_ACKS", "-1")))
        .hasMessageContaining("WRITER_REPLICA_ACKS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_REPLICA_ACKS", "17")))
        .hasMessageContaining("WRITER_REPLICA_ACKS").hasMessageContaining("'17'");
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_REPLICA_ACK_TIMEOUT_MS", "2000")))
        .hasMessageContaining("replicaAckTimeout").hasMessageContaining("shorter than redisTimeout");
    assertThat(CacheWriterConfig.fromEnv(Map.of("WRITER_REPLICA_ACKS", "0", "WRITER_REPLICA_ACK_TIMEOUT_MS", "2000"))
        .replicaAckTimeout()).as("no acks: the timeout is not used").isEqualTo(Duration.ofSeconds(2));
    assertThatThrownBy(() -> CacheWriterConfig.fromEnv(Map.of("WRITER_MAX_UNAPPLIED_AGE_MS", "999")))
        .hasMessageContaining("maxUnappliedAge");
  }

  /** Regression: these passed validation and failed later, far from the setting. */
  @Test
  void aBlankTopicAPortOutOfRangeAndABlankPasswordAreCaught() {
    assertThatThrownBy(() -> CacheWriterConfig.builder().dlqTopic(" ").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not be blank");
    assertThatThrownBy(() -> CacheWriterConfig.builder().redisNodes(List.of("127.0.0.1:99999")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..65535");
    assertThatThrownBy(() -> CacheWriterConfig.builder().redisNodes(List.of("127.0.0.1:0")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("127.0.0.1:0");
    CacheWriterConfig c = CacheWriterConfig.fromEnv(java.util.Map.of("REDIS_PASSWORD", "   "));
    assertThat(c.redisPassword()).as("a whitespace-only password is no password").isNull();
  }
}
