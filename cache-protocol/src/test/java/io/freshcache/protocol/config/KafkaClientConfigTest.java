package io.freshcache.protocol.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KafkaClientConfigTest {
  @Test
  void defaultsToTheLocalBroker() {
    KafkaClientConfig k = KafkaClientConfig.fromEnv(EnvSettings.of(Map.of()), null);
    assertThat(k.bootstrapServers()).isEqualTo(KafkaClientConfig.DEFAULT_BOOTSTRAP_SERVERS);
    assertThat(k.properties()).isEmpty();
    assertThat(k.secured()).isFalse();
  }

  @Test
  void passThroughPropertiesReachTheClientAndScriptVariablesDoNot() {
    KafkaClientConfig k = KafkaClientConfig.fromEnv(EnvSettings.of(Map.of(
        "KAFKA_BOOTSTRAP_SERVERS", "k1:9093,k2:9093",
        "KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
        "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
        "KAFKA_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"u\" password=\"s3cret\";",
        "KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/ca.p12",
        "KAFKA_HEAP_OPTS", "-Xmx1g",
        "KAFKA_OPTS", "-Dx",
        "KAFKA_LINGER_MS", "20")), null);
    assertThat(k.secured()).isTrue();
    Map<String, Object> props = k.apply(Map.of("acks", "all", "linger.ms", "1"), Set.of("acks"));
    assertThat(props).containsEntry("bootstrap.servers", "k1:9093,k2:9093")
        .containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry("ssl.truststore.location", "/etc/ca.p12")
        .containsEntry("acks", "all")
        .containsEntry("linger.ms", "20") // the user's value wins over a module default that is not reserved
        .doesNotContainKeys("heap.opts", "opts");
    assertThat(k.toString()).doesNotContain("s3cret").contains("sasl.jaas.config=****")
        .contains("security.protocol=SASL_SSL");
  }

  @Test
  void reservedPropertyIsAnErrorNamingTheVariable() {
    KafkaClientConfig k = KafkaClientConfig.fromEnv(EnvSettings.of(Map.of("KAFKA_ENABLE_AUTO_COMMIT", "true")), null);
    assertThatThrownBy(() -> k.apply(Map.of("enable.auto.commit", "false"), Set.of("enable.auto.commit")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_ENABLE_AUTO_COMMIT").hasMessageContaining("enable.auto.commit")
        .hasMessageContaining("false");
  }

  @Test
  void badBootstrapServersNameTheVariableAndValue() {
    assertThatThrownBy(() -> KafkaClientConfig.fromEnv(EnvSettings.of(Map.of("KAFKA_BOOTSTRAP_SERVERS", "kafka")), null))
        .isInstanceOf(ConfigException.class)
        .hasMessage("KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port...] but was 'kafka'");
    assertThatThrownBy(() -> KafkaClientConfig.builder().property("bootstrap.servers", "x:1").build())
        .hasMessageContaining("bootstrap.servers");
  }

  @Test
  void baseSettingsStayForUnsetVariablesAndToBuilderRoundTrips() {
    KafkaClientConfig base = KafkaClientConfig.builder().bootstrapServers("b:1").property("client.id", "x").build();
    KafkaClientConfig k = KafkaClientConfig.fromEnv(EnvSettings.of(Map.of("KAFKA_ACKS", "1")), base);
    assertThat(k.bootstrapServers()).isEqualTo("b:1");
    assertThat(k.properties()).containsEntry("client.id", "x").containsEntry("acks", "1");
    assertThat(k.toBuilder().build()).isEqualTo(k).hasSameHashCodeAs(k);
    assertThat(KafkaClientConfig.variableOf("sasl.jaas.config")).isEqualTo("KAFKA_SASL_JAAS_CONFIG");
  }
}
