package io.freshcache.protocol.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RedisConnectionConfigTest {
  @TempDir
  Path dir;

  private static RedisConnectionConfig fromEnv(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return RedisConnectionConfig.fromEnv(EnvSettings.of(m), (RedisConnectionConfig) null);
  }

  @Test
  void nodesAreRequired() {
    assertThatThrownBy(() -> fromEnv()).isInstanceOf(ConfigException.class)
        .hasMessageContaining("REDIS_NODES is not set");
    assertThatThrownBy(() -> fromEnv("REDIS_MODE", "sentinel")).hasMessageContaining("Sentinels");
  }

  @Test
  void everyVariableIsRead() throws IOException {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    Path cert = Files.writeString(dir.resolve("c.pem"), "x");
    Path key = Files.writeString(dir.resolve("k.pem"), "x");
    Path pw = Files.writeString(dir.resolve("pw"), "s3cret\n");
    RedisConnectionConfig c = fromEnv("REDIS_MODE", "sentinel", "REDIS_NODES", "s1:26379,s2:26379",
        "REDIS_SENTINEL_MASTER", "mymaster", "REDIS_SENTINEL_PASSWORD", "sp", "REDIS_USERNAME", "app",
        "REDIS_PASSWORD_FILE", pw.toString(), "REDIS_TLS", "true", "REDIS_TLS_CA_FILE", ca.toString(),
        "REDIS_TLS_CERT_FILE", cert.toString(), "REDIS_TLS_KEY_FILE", key.toString(),
        "REDIS_TLS_VERIFY_HOSTNAME", "false", "REDIS_COMMAND_TIMEOUT_MS", "2s",
        "REDIS_CONNECT_TIMEOUT_MS", "1500", "REDIS_TOPOLOGY_REFRESH_MS", "PT5S",
        "REDIS_READ_FROM", "lowest-latency", "REDIS_FAIL_FAST", "yes");
    assertThat(c.mode()).isEqualTo(RedisConnectionConfig.Mode.SENTINEL);
    assertThat(c.nodes()).containsExactly("s1:26379", "s2:26379");
    assertThat(c.sentinelMaster()).isEqualTo("mymaster");
    assertThat(c.sentinelPassword()).isEqualTo("sp");
    assertThat(c.username()).isEqualTo("app");
    assertThat(c.password()).isEqualTo("s3cret");
    assertThat(c.tls()).isTrue();
    assertThat(c.tlsCaFile()).isEqualTo(ca);
    assertThat(c.tlsCertFile()).isEqualTo(cert);
    assertThat(c.tlsKeyFile()).isEqualTo(key);
    assertThat(c.tlsVerifyHostname()).isFalse();
    assertThat(c.commandTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.topologyRefresh()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.readFrom()).isEqualTo(RedisConnectionConfig.ReadFrom.LOWEST_LATENCY);
    assertThat(c.failFast()).isTrue();
    assertThat(c.toString()).doesNotContain("s3cret").doesNotContain("sp,").contains("password=****")
        .contains("sentinelPassword=****");
    assertThat(c.describe()).isEqualTo("sentinel master 'mymaster' via s1:26379,s2:26379 (TLS) as app");
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @Test
  void trustStore() throws IOException {
    Path ts = Files.writeString(dir.resolve("ts.p12"), "x");
    RedisConnectionConfig c = fromEnv("REDIS_NODES", "h:1", "REDIS_TLS", "true", "REDIS_TLS_TRUSTSTORE",
        ts.toString(), "REDIS_TLS_TRUSTSTORE_PASSWORD", "tsp");
    assertThat(c.tlsTrustStore()).isEqualTo(ts);
    assertThat(c.tlsTrustStorePassword()).isEqualTo("tsp");
    assertThat(c.toString()).doesNotContain("tsp");
  }

  @Test
  void moduleDefaultsApplyUnlessSetAndNodesStayRequired() {
    EnvSettings none = EnvSettings.of(Map.of());
    assertThatThrownBy(() -> RedisConnectionConfig.fromEnv(none,
        RedisConnectionConfig.builder().commandTimeout(Duration.ofSeconds(2))))
        .hasMessageContaining("REDIS_NODES is not set");
    RedisConnectionConfig c = RedisConnectionConfig.fromEnv(EnvSettings.of(Map.of("REDIS_NODES", "h:1")),
        RedisConnectionConfig.builder().commandTimeout(Duration.ofSeconds(2)));
    assertThat(c.commandTimeout()).isEqualTo(Duration.ofSeconds(2));
    RedisConnectionConfig base = RedisConnectionConfig.builder().nodes("b:1").build();
    assertThat(RedisConnectionConfig.fromEnv(none, base).nodes()).containsExactly("b:1");
  }

  @Test
  void badValuesNameTheVariableAndValue() {
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_MODE", "ring"))
        .hasMessage("REDIS_MODE must be one of cluster, standalone, sentinel but was 'ring'");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h"))
        .hasMessage("REDIS_NODES must be host:port but was 'h'");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_COMMAND_TIMEOUT_MS", "0"))
        .hasMessageContaining("REDIS_COMMAND_TIMEOUT_MS").hasMessageContaining("'0'");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_TLS_CA_FILE", "/no/such.pem"))
        .hasMessage("REDIS_TLS_CA_FILE must be a readable file but was '/no/such.pem'");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_PASSWORD", "p", "REDIS_PASSWORD_FILE", "/x"))
        .hasMessageContaining("REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set");
  }

  @Test
  void combinationsAreChecked() throws IOException {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_TLS_CA_FILE", ca.toString()))
        .hasMessageContaining("redis.tls is false");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1,h:2", "REDIS_MODE", "standalone"))
        .hasMessageContaining("exactly one host:port").hasMessageContaining("h:1,h:2");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_MODE", "sentinel"))
        .hasMessageContaining("sentinel-master");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_SENTINEL_MASTER", "m"))
        .hasMessageContaining("'m'");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_USERNAME", "app"))
        .hasMessageContaining("redis.password is not set");
    assertThatThrownBy(() -> fromEnv("REDIS_NODES", "h:1", "REDIS_TLS", "true", "REDIS_TLS_CERT_FILE", ca.toString()))
        .hasMessageContaining("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together");
  }
}
