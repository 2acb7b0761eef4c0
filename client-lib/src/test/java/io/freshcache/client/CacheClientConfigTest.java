package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheClientConfigTest {
  @Test
  void defaultsPointAtTheLocalStack() {
    CacheClientConfig c = CacheClientConfig.fromEnv(Map.of());
    assertThat(c.redisNodes()).hasSize(6).first().isEqualTo("127.0.0.1:7000");
    assertThat(c.defaultPolicy().ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(c.defaultPolicy().jitter()).isEqualTo(0.2);
    assertThat(c.commandTimeout()).isEqualTo(CacheClientConfig.DEFAULT_COMMAND_TIMEOUT);
  }

  @Test
  void readsTheSeedsVariables() {
    CacheClientConfig c = CacheClientConfig.fromEnv(Map.of("REDIS_NODES", "redis-a:6379, redis-b:6380",
        "REDIS_PASSWORD", "s3cret", "CACHE_DEFAULT_TTL", "300", "CACHE_JITTER_RANGE", "10%",
        "REDIS_TLS", "true"));
    assertThat(c.redisNodes()).containsExactly("redis-a:6379", "redis-b:6380");
    assertThat(c.defaultPolicy().ttl()).isEqualTo(Duration.ofSeconds(300));
    assertThat(c.defaultPolicy().jitter()).isEqualTo(0.1);
    assertThat(c.tls()).isTrue();
    assertThat(c.toString()).doesNotContain("s3cret");
    assertThat(CacheClientConfig.fromEnv(Map.of("CACHE_DEFAULT_TTL", "PT10M")).defaultPolicy().ttl())
        .isEqualTo(Duration.ofMinutes(10));
  }

  @Test
  void badValuesNameTheVariableAndTheValue() {
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_NODES", "localhost")))
        .hasMessageContaining("REDIS_NODES").hasMessageContaining("'localhost'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_NODES", "h:99999")))
        .hasMessageContaining("REDIS_NODES").hasMessageContaining("99999");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("CACHE_DEFAULT_TTL", "ten")))
        .hasMessageContaining("CACHE_DEFAULT_TTL").hasMessageContaining("'ten'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("CACHE_JITTER_RANGE", "2")))
        .hasMessageContaining("CACHE_JITTER_RANGE").hasMessageContaining("'2'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_TLS", "yes")))
        .hasMessageContaining("REDIS_TLS").hasMessageContaining("'yes'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_COMMAND_TIMEOUT_MS", "0")))
        .hasMessageContaining("REDIS_COMMAND_TIMEOUT_MS").hasMessageContaining("'0'");
  }

  @Test
  void replicaAcknowledgementIsOnByDefaultAndConfigurable() {
    CacheClientConfig d = CacheClientConfig.fromEnv(Map.of());
    assertThat(d.replicaAcks()).isEqualTo(1);
    assertThat(d.effectiveReplicaAckTimeout()).isEqualTo(Duration.ofMillis(1000));
    CacheClientConfig c = CacheClientConfig.fromEnv(Map.of("REDIS_REPLICA_ACKS", "0",
        "REDIS_REPLICA_ACK_TIMEOUT_MS", "900"));
    assertThat(c.replicaAcks()).isZero();
    assertThat(c.replicaAckTimeout()).isEqualTo(Duration.ofMillis(900));
    assertThat(c.effectiveReplicaAckTimeout()).as("not capped by the command timeout: WAIT gets its own")
        .isEqualTo(Duration.ofMillis(900));
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_REPLICA_ACKS", "-1")))
        .hasMessageContaining("REDIS_REPLICA_ACKS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("REDIS_REPLICA_ACK_TIMEOUT_MS", "soon")))
        .hasMessageContaining("REDIS_REPLICA_ACK_TIMEOUT_MS").hasMessageContaining("'soon'");
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void theNoticeWatchdogRunsEvery500MsByDefaultAndCanBeTurnedOff() {
    assertThat(CacheClientConfig.fromEnv(Map.of()).nearCacheNoticeCheck()).isEqualTo(Duration.ofMillis(500));
    CacheClientConfig c = CacheClientConfig.fromEnv(Map.of("NEAR_CACHE_NOTICE_CHECK_MS", "250"));
    assertThat(c.nearCacheNoticeCheck()).isEqualTo(Duration.ofMillis(250));
    assertThat(CacheClientConfig.fromEnv(Map.of("NEAR_CACHE_NOTICE_CHECK_MS", "0")).nearCacheNoticeCheck())
        .isEqualTo(Duration.ZERO);
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("NEAR_CACHE_NOTICE_CHECK_MS", "-1")))
        .hasMessageContaining("NEAR_CACHE_NOTICE_CHECK_MS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of("NEAR_CACHE_NOTICE_CHECK_MS", "often")))
        .hasMessageContaining("NEAR_CACHE_NOTICE_CHECK_MS").hasMessageContaining("'often'");
    assertThatThrownBy(() -> CacheClientConfig.builder().nearCacheNoticeCheck(Duration.ofMillis(-1)).build())
        .hasMessageContaining("nearCacheNoticeCheck");
    assertThat(c.toBuilder().build()).isEqualTo(c);
    assertThat(c.toString()).contains("nearCacheNoticeCheck=PT0.25S");
  }

  @Test
  void policyPresetsMatchTheSeed() {
    assertThat(CachePolicy.USER_PROFILES.ttl()).isEqualTo(Duration.ofSeconds(300));
    assertThat(CachePolicy.PRODUCT_CATALOG.ttl()).isEqualTo(Duration.ofSeconds(3600));
    assertThat(CachePolicy.SESSION_TOKENS.ttl()).isEqualTo(Duration.ofSeconds(900));
    assertThat(CachePolicy.SESSION_TOKENS.jitter()).isEqualTo(0.2);
  }

  @Test
  void policyRejectsBadSettings() {
    assertThatThrownBy(() -> CachePolicy.of("Bad Name", Duration.ofSeconds(1))).hasMessageContaining("'Bad Name'");
    assertThatThrownBy(() -> CachePolicy.USER_PROFILES.withJitter(1.5)).hasMessageContaining("1.5");
    assertThatThrownBy(() -> CachePolicy.USER_PROFILES.withFenceTtl(Duration.ofSeconds(10)))
        .hasMessageContaining("fenceTtl");
    assertThat(CachePolicy.of("long", Duration.ofDays(3)).fenceTtl()).isEqualTo(Duration.ofDays(6));
  }
}
