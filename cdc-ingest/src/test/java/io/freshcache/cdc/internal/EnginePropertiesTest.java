package io.freshcache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.KafkaClientConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class EnginePropertiesTest {
  private final CdcIngestConfig config = CdcIngestConfig.builder()
      .dbHost("127.0.0.1").dbPort(5433).database("shop").user("freshcache").password("pw")
      .slotName("fc_slot").publicationName("fc_pub").connectorName("pg-it")
      .offsetFile(Path.of("/tmp/x/offsets.dat"))
      .rules(TableRule.parseAll("public.products=catalog:product:{id};shop.order_lines=shop:line:{order_id}:{line_no}"))
      .pollInterval(Duration.ofMillis(20)).maxBatchSize(4096)
      .build();

  @Test
  void configuresThePostgresConnectorForFilteredPgoutputStreamingWithoutSnapshot() {
    Properties p = EngineProperties.of(config);

    assertThat(p.getProperty("connector.class")).isEqualTo("io.debezium.connector.postgresql.PostgresConnector");
    assertThat(p.getProperty("name")).isEqualTo("pg-it");
    assertThat(p.getProperty("topic.prefix")).isEqualTo("pg-it");
    assertThat(p.getProperty("plugin.name")).isEqualTo("pgoutput");
    assertThat(p.getProperty("publication.autocreate.mode")).isEqualTo("filtered");
    assertThat(p.getProperty("snapshot.mode")).isEqualTo("no_data");
    assertThat(p.getProperty("slot.name")).isEqualTo("fc_slot");
    assertThat(p.getProperty("publication.name")).isEqualTo("fc_pub");
    assertThat(p.getProperty("database.hostname")).isEqualTo("127.0.0.1");
    assertThat(p.getProperty("database.port")).isEqualTo("5433");
    assertThat(p.getProperty("database.dbname")).isEqualTo("shop");
    assertThat(p.getProperty("offset.storage.file.filename")).isEqualTo("/tmp/x/offsets.dat");
    assertThat(p.getProperty("offset.flush.interval.ms")).isEqualTo("1000");
    assertThat(p.getProperty("poll.interval.ms")).isEqualTo("20");
    assertThat(p.getProperty("max.batch.size")).isEqualTo("4096");
    assertThat(Integer.parseInt(p.getProperty("max.queue.size"))).isGreaterThan(4096);
  }

  @Test
  void theIncludeListMatchesExactlyTheRuleTables() {
    String[] patterns = EngineProperties.of(config).getProperty("table.include.list").split(",");

    assertThat(patterns).hasSize(2);
    assertThat(Pattern.matches(patterns[0], "public.products")).isTrue();
    assertThat(Pattern.matches(patterns[0], "publicXproducts")).isFalse();
    assertThat(Pattern.matches(patterns[1], "shop.order_lines")).isTrue();
    assertThat(EngineProperties.exactTableRegex("s.t$1")).isEqualTo("s\\.t\\$1");
  }

  @Test
  void offsetsGoToAKafkaTopicByDefault() {
    Properties p = EngineProperties.of(config.toBuilder()
        .offsetStorage(CdcIngestConfig.OffsetStorage.KAFKA).offsetTopic("fc.offsets").build());

    assertThat(p.getProperty("offset.storage")).isEqualTo("org.apache.kafka.connect.storage.KafkaOffsetBackingStore");
    assertThat(p.getProperty("offset.storage.topic")).isEqualTo("fc.offsets");
    assertThat(p.getProperty("offset.storage.partitions")).isEqualTo("1");
    assertThat(p.getProperty("bootstrap.servers")).isEqualTo(config.kafka().bootstrapServers());
    assertThat(p.getProperty("offset.storage.file.filename")).isNull();
  }

  @Test
  void truncatesAreSeenHeartbeatsKeepTheSlotConfirmedAndRetriesAreQuick() {
    Properties p = EngineProperties.of(config);

    assertThat(p.getProperty("skipped.operations")).isEqualTo("none");
    assertThat(p.getProperty("tombstones.on.delete")).isEqualTo("false");
    assertThat(p.getProperty("heartbeat.interval.ms")).isEqualTo("1000");
    assertThat(p.getProperty("retriable.restart.connector.wait.ms")).isEqualTo("2000");
    assertThat(p.getProperty("decimal.handling.mode")).isEqualTo("string");
  }

  @Test
  void kafkaPassThroughPropertiesReachTheOffsetStoreAndTheProducerButNotTheReservedOnes() {
    CdcIngestConfig c = config.toBuilder().offsetStorage(CdcIngestConfig.OffsetStorage.KAFKA)
        .kafka(KafkaClientConfig.builder().bootstrapServers("k1:9093").property("security.protocol", "SASL_SSL")
            .property("sasl.jaas.config", "x required;").property("linger.ms", "20").build()).build();

    Properties engine = EngineProperties.of(c);
    assertThat(engine.getProperty("bootstrap.servers")).isEqualTo("k1:9093");
    assertThat(engine.getProperty("security.protocol")).isEqualTo("SASL_SSL");
    assertThat(engine.getProperty("sasl.jaas.config")).isEqualTo("x required;");

    Map<String, Object> producer = DebeziumKafkaPipeline.producerProperties(c);
    assertThat(producer).containsEntry("bootstrap.servers", "k1:9093").containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("linger.ms", "20").containsEntry("acks", "all").containsEntry("enable.idempotence", "true");
    assertThat(Preflight.adminProperties(c)).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("bootstrap.servers", "k1:9093");

    assertThatThrownBy(() -> c.toBuilder().kafka(c.kafka().toBuilder().property("acks", "1").build()).build())
        .as("refused when the config is built, at start").isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_ACKS");
    assertThatThrownBy(() -> c.toBuilder().kafka(c.kafka().toBuilder().property("max.request.size", "1").build())
        .build()).hasMessageContaining("KAFKA_MAX_REQUEST_SIZE");
  }

  @Test
  void debeziumPropertiesOverrideTheDefaults() {
    Properties p = EngineProperties.of(config.toBuilder().debeziumProperty("database.sslmode", "verify-full")
        .debeziumProperty("heartbeat.interval.ms", "5000").build());
    assertThat(p.getProperty("database.sslmode")).isEqualTo("verify-full");
    assertThat(p.getProperty("heartbeat.interval.ms")).isEqualTo("5000");
    assertThatThrownBy(() -> config.toBuilder().debeziumProperty("slot.name", "x").build())
        .isInstanceOf(ConfigException.class).hasMessageContaining("CDC_DEBEZIUM_SLOT_NAME")
        .hasMessageContaining("CDC_SLOT_NAME");
  }
}
