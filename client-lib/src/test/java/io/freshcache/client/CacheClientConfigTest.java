package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.internal.WritePublisher;
import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.protocol.config.RedisConnectionConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheClientConfigTest {
  private static final String NODES = "127.0.0.1:7000,127.0.0.1:7001";

  /** The variables given, plus REDIS_NODES unless given. */
  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>();
    m.put("REDIS_NODES", NODES);
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void defaults() {
    CacheClientConfig c = CacheClientConfig.fromEnv(env());
    assertThat(c.redis().nodes()).containsExactly("127.0.0.1:7000", "127.0.0.1:7001");
    assertThat(c.redis().mode()).isEqualTo(RedisConnectionConfig.Mode.CLUSTER);
    assertThat(c.defaultPolicy().ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(c.defaultPolicy().jitter()).isEqualTo(0.2);
    assertThat(c.redis().commandTimeout()).isEqualTo(CacheClientConfig.DEFAULT_COMMAND_TIMEOUT)
        .isEqualTo(Duration.ofMillis(500));
    assertThat(c.kafka()).as("publishing off without KAFKA_BOOTSTRAP_SERVERS").isNull();
  }

  @Test
  void redisNodesAreRequired() {
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(Map.of())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("REDIS_NODES is not set");
    assertThatThrownBy(() -> CacheClientConfig.builder().build()).isInstanceOf(ConfigException.class)
        .hasMessageContaining("redis.nodes");
    assertThat(CacheClientConfig.builder().redisNodes(List.of("h:1")).build().redis().nodes()).containsExactly("h:1");
  }

  @Test
  void readsTheSeedsVariables() {
    CacheClientConfig c = CacheClientConfig.fromEnv(env("REDIS_NODES", "redis-a:6379, redis-b:6380",
        "REDIS_PASSWORD", "s3cret", "CACHE_DEFAULT_TTL", "300", "CACHE_JITTER_RANGE", "10%",
        "REDIS_TLS", "true", "REDIS_COMMAND_TIMEOUT_MS", "750", "CIRCUIT_BREAKER_THRESHOLD", "7%",
        "CIRCUIT_BREAKER_TIMEOUT", "30", "CIRCUIT_BREAKER_SLOW_CALL_MS", "1s", "LOADER_RATE_LIMIT", "50",
        "LOADER_RATE_LIMIT_WAIT_MS", "0", "NEAR_CACHE_MAX_ENTRIES", "99", "CACHE_WRITES_TOPIC", "w",
        "CACHE_LOADER_THREADS", "3"));
    assertThat(c.redis().nodes()).containsExactly("redis-a:6379", "redis-b:6380");
    assertThat(c.redis().password()).isEqualTo("s3cret");
    assertThat(c.defaultPolicy().ttl()).isEqualTo(Duration.ofSeconds(300));
    assertThat(c.defaultPolicy().jitter()).isEqualTo(0.1);
    assertThat(c.redis().tls()).isTrue();
    assertThat(c.redis().commandTimeout()).isEqualTo(Duration.ofMillis(750));
    assertThat(c.circuitBreakerThreshold()).isEqualTo(7);
    assertThat(c.circuitBreakerTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.slowCallThreshold()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.loaderRateLimit()).isEqualTo(50);
    assertThat(c.loaderRateLimitWait()).isEqualTo(Duration.ZERO);
    assertThat(c.nearCacheMaxEntries()).isEqualTo(99);
    assertThat(c.writesTopic()).isEqualTo("w");
    assertThat(c.loaderThreads()).isEqualTo(3);
    assertThat(c.toString()).doesNotContain("s3cret");
    assertThat(c.toBuilder().build()).isEqualTo(c);
    assertThat(CacheClientConfig.fromEnv(env("CACHE_DEFAULT_TTL", "PT10M")).defaultPolicy().ttl())
        .isEqualTo(Duration.ofMinutes(10));
  }

  @Test
  void secretsComeFromFilesAndAreMasked(@TempDir Path dir) throws IOException {
    Path pw = Files.writeString(dir.resolve("pw"), "s3cret\n");
    byte[] key = new byte[32];
    key[0] = 7;
    Path keyFile = Files.writeString(dir.resolve("key"), Base64.getEncoder().encodeToString(key));
    CacheClientConfig c = CacheClientConfig.fromEnv(env("REDIS_PASSWORD_FILE", pw.toString(),
        "CACHE_ENCRYPTION_KEY_FILE", keyFile.toString(), "KAFKA_BOOTSTRAP_SERVERS", "k:9092",
        "KAFKA_SASL_JAAS_CONFIG", "x required password=\"kafkapw\";"));
    assertThat(c.redis().password()).isEqualTo("s3cret");
    assertThat(c.encryptionKey()).isEqualTo(key);
    assertThat(c.toString()).doesNotContain("s3cret").doesNotContain("kafkapw")
        .doesNotContain(Base64.getEncoder().encodeToString(key)).contains("encryptionKey=****");
  }

  @Test
  void badEncryptionKeyIsNamedButNotShown() {
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CACHE_ENCRYPTION_KEY", "not base64!")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("CACHE_ENCRYPTION_KEY")
        .hasMessageNotContaining("not base64!");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CACHE_ENCRYPTION_KEY", "AAAA")))
        .hasMessageContaining("decoded to 3 bytes").hasMessageNotContaining("AAAA");
  }

  @Test
  void publishingTakesTheKafkaPassThroughPropertiesAndKeepsItsGuarantees() {
    CacheClientConfig c = CacheClientConfig.fromEnv(env("KAFKA_BOOTSTRAP_SERVERS", "k1:9093",
        "KAFKA_SECURITY_PROTOCOL", "SSL", "KAFKA_SSL_TRUSTSTORE_LOCATION", "/ca.p12", "KAFKA_LINGER_MS", "5"));
    Map<String, Object> p = WritePublisher.producerProperties(c.kafka());
    assertThat(p).containsEntry("bootstrap.servers", "k1:9093").containsEntry("security.protocol", "SSL")
        .containsEntry("ssl.truststore.location", "/ca.p12").containsEntry("linger.ms", "5")
        .containsEntry("acks", "all").containsEntry("enable.idempotence", "true");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("KAFKA_BOOTSTRAP_SERVERS", "k1:9093", "KAFKA_ACKS", "1")))
        .as("refused at start, not at the first publish").isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_ACKS");
    KafkaClientConfig acks = KafkaClientConfig.builder().property("acks", "1").build();
    assertThatThrownBy(() -> WritePublisher.producerProperties(acks)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_ACKS").hasMessageContaining("all");
    assertThat(CacheClientConfig.builder().redisNodes(List.of("h:1")).kafkaBootstrapServers("k:1").build()
        .kafka().bootstrapServers()).isEqualTo("k:1");
  }

  @Test
  void badValuesNameTheVariableAndTheValue() {
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_NODES", "localhost")))
        .hasMessageContaining("REDIS_NODES").hasMessageContaining("'localhost'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_NODES", "h:99999")))
        .hasMessageContaining("REDIS_NODES").hasMessageContaining("99999");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CACHE_DEFAULT_TTL", "ten")))
        .hasMessageContaining("CACHE_DEFAULT_TTL").hasMessageContaining("'ten'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CACHE_JITTER_RANGE", "2")))
        .hasMessageContaining("CACHE_JITTER_RANGE").hasMessageContaining("'2'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_TLS", "sometimes")))
        .hasMessageContaining("REDIS_TLS").hasMessageContaining("'sometimes'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_COMMAND_TIMEOUT_MS", "0")))
        .hasMessageContaining("REDIS_COMMAND_TIMEOUT_MS").hasMessageContaining("'0'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CIRCUIT_BREAKER_THRESHOLD", "0")))
        .hasMessageContaining("CIRCUIT_BREAKER_THRESHOLD").hasMessageContaining("'0'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("LOADER_RATE_LIMIT", "fast")))
        .hasMessageContaining("LOADER_RATE_LIMIT").hasMessageContaining("'fast'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("CACHE_LOADER_THREADS", "2000")))
        .hasMessageContaining("CACHE_LOADER_THREADS").hasMessageContaining("'2000'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("KAFKA_BOOTSTRAP_SERVERS", "kafka")))
        .hasMessageContaining("KAFKA_BOOTSTRAP_SERVERS").hasMessageContaining("'kafka'");
    assertThatThrownBy(() -> CacheClientConfig.builder().redisNodes(List.of("h:1")).loaderRateLimit(0).build())
        .isInstanceOf(ConfigException.class).hasMessage("loaderRateLimit must be at least 1 per second but was '0'");
  }

  @Test
  void replicaAcknowledgementIsOnByDefaultAndConfigurable() {
    CacheClientConfig d = CacheClientConfig.fromEnv(env());
    assertThat(d.replicaAcks()).isEqualTo(1);
    assertThat(d.effectiveReplicaAckTimeout()).isEqualTo(Duration.ofMillis(1000));
    CacheClientConfig c = CacheClientConfig.fromEnv(env("REDIS_REPLICA_ACKS", "0",
        "REDIS_REPLICA_ACK_TIMEOUT_MS", "900"));
    assertThat(c.replicaAcks()).isZero();
    assertThat(c.replicaAckTimeout()).isEqualTo(Duration.ofMillis(900));
    assertThat(c.effectiveReplicaAckTimeout()).as("not capped by the command timeout: WAIT gets its own")
        .isEqualTo(Duration.ofMillis(900));
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_REPLICA_ACKS", "-1")))
        .hasMessageContaining("REDIS_REPLICA_ACKS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("REDIS_REPLICA_ACK_TIMEOUT_MS", "soon")))
        .hasMessageContaining("REDIS_REPLICA_ACK_TIMEOUT_MS").hasMessageContaining("'soon'");
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void theNearCacheSilenceBudgetIsOffByDefault() {
    assertThat(CacheClientConfig.fromEnv(env()).nearCacheSilenceBudget()).isEqualTo(Duration.ZERO);
    CacheClientConfig c = CacheClientConfig.fromEnv(env("NEAR_CACHE_SILENCE_BUDGET_MS", "8000"));
    assertThat(c.nearCacheSilenceBudget()).isEqualTo(Duration.ofSeconds(8));
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_SILENCE_BUDGET_MS", "-5")))
        .hasMessageContaining("NEAR_CACHE_SILENCE_BUDGET_MS").hasMessageContaining("'-5'");
    assertThatThrownBy(() -> CacheClientConfig.builder().redisNodes(List.of("h:1"))
        .nearCacheSilenceBudget(Duration.ofMillis(-1)).build())
        .hasMessageContaining("nearCacheSilenceBudget");
    assertThat(c.toBuilder().build()).isEqualTo(c);
    assertThat(c.toString()).contains("nearCacheSilenceBudget=PT8S");
  }

  @Test
  void nearCacheSamplerSettings() {
    CacheClientConfig d = CacheClientConfig.fromEnv(env());
    assertThat(d.nearCacheSamplePerSecond()).isZero();
    assertThat(d.nearCacheSampleDelay()).isEqualTo(Duration.ofSeconds(10));
    assertThat(d.nearCacheSampleWindows()).containsExactly(Duration.ofMinutes(1), Duration.ofMinutes(5),
        Duration.ofMinutes(10));
    CacheClientConfig c = CacheClientConfig.fromEnv(env("NEAR_CACHE_SAMPLE_PER_S", "20",
        "NEAR_CACHE_SAMPLE_DELAY_MS", "2000", "NEAR_CACHE_SAMPLE_WINDOWS", "30s, 2m,600000"));
    assertThat(c.nearCacheSamplePerSecond()).isEqualTo(20);
    assertThat(c.nearCacheSampleDelay()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.nearCacheSampleWindows()).containsExactly(Duration.ofSeconds(30), Duration.ofMinutes(2),
        Duration.ofMinutes(10));
    assertThat(c.toBuilder().build()).isEqualTo(c);
    assertThat(c.toString()).contains("nearCacheSamplePerSecond=20", "nearCacheSampleDelay=PT2S");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_SAMPLE_PER_S", "-1")))
        .hasMessageContaining("NEAR_CACHE_SAMPLE_PER_S").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_SAMPLE_WINDOWS", "1m,soon")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("NEAR_CACHE_SAMPLE_WINDOWS");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_SAMPLE_WINDOWS", "5m,1m")))
        .hasMessageContaining("nearCacheSampleWindows").hasMessageContaining("increasing");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_SAMPLE_DELAY_MS", "120000",
        "NEAR_CACHE_SAMPLE_WINDOWS", "1m")))
        .hasMessageContaining("longer than nearCacheSampleDelay");
    assertThatThrownBy(() -> CacheClientConfig.builder().redisNodes(List.of(NODES.split(",")))
        .nearCacheSampleWindows(List.of()).build())
        .hasMessageContaining("nearCacheSampleWindows");
  }

  @Test
  void theNoticeWatchdogRunsEvery500MsByDefaultAndCanBeTurnedOff() {
    assertThat(CacheClientConfig.fromEnv(env()).nearCacheNoticeCheck()).isEqualTo(Duration.ofMillis(500));
    CacheClientConfig c = CacheClientConfig.fromEnv(env("NEAR_CACHE_NOTICE_CHECK_MS", "250"));
    assertThat(c.nearCacheNoticeCheck()).isEqualTo(Duration.ofMillis(250));
    assertThat(CacheClientConfig.fromEnv(env("NEAR_CACHE_NOTICE_CHECK_MS", "0")).nearCacheNoticeCheck())
        .isEqualTo(Duration.ZERO);
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_NOTICE_CHECK_MS", "-1")))
        .hasMessageContaining("NEAR_CACHE_NOTICE_CHECK_MS").hasMessageContaining("'-1'");
    assertThatThrownBy(() -> CacheClientConfig.fromEnv(env("NEAR_CACHE_NOTICE_CHECK_MS", "often")))
        .hasMessageContaining("NEAR_CACHE_NOTICE_CHECK_MS").hasMessageContaining("'often'");
    assertThatThrownBy(() -> CacheClientConfig.builder().redisNodes(List.of("h:1"))
        .nearCacheNoticeCheck(Duration.ofMillis(-1)).build())
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
