package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.protocol.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CdcIngestConfigTest {

  private static Map<String, String> minimalEnv() {
    return new HashMap<>();
  }

  @Test
  void fromEnvDefaultsToTheLocalStack() {
    CdcIngestConfig c = CdcIngestConfig.fromEnv(minimalEnv());

    assertThat(c.dbHost()).isEqualTo("127.0.0.1");
    assertThat(c.dbPort()).isEqualTo(5433);
    assertThat(c.database()).isEqualTo("shop");
    assertThat(c.user()).isEqualTo("freshcache");
    assertThat(c.password()).isEqualTo("freshcache");
    assertThat(c.kafka().bootstrapServers()).isEqualTo("127.0.0.1:9092");
    assertThat(c.offsetStorage()).isEqualTo(CdcIngestConfig.OffsetStorage.KAFKA);
    assertThat(c.offsetTopic()).isEqualTo("freshcache.cdc-offsets");
    assertThat(c.httpPort()).isEqualTo(8082);
    assertThat(c.connectorName()).isEqualTo("pg-main");
    assertThat(c.slotName()).isEqualTo("freshcache");
    assertThat(c.publicationName()).isEqualTo("freshcache");
    assertThat(c.offsetFile()).isEqualTo(Path.of("./cdc-offsets.dat"));
    assertThat(c.topic()).isEqualTo("freshcache.changes");
    assertThat(c.rules()).containsExactly(TableRule.parse("public.products=catalog:product:{id}"));
    assertThat(c.pollInterval()).isEqualTo(CdcIngestConfig.DEFAULT_POLL_INTERVAL);
    assertThat(c.maxBatchSize()).isEqualTo(CdcIngestConfig.DEFAULT_MAX_BATCH_SIZE);
    assertThat(c.maxEventBytes()).isEqualTo(900_000);
    assertThat(c.offsetFlushInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.startupTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.jdbcUrl()).isEqualTo("jdbc:postgresql://127.0.0.1:5433/shop");
  }

  @Test
  void fromEnvReadsEveryVariable() {
    Map<String, String> env = new HashMap<>();
    env.put("PG_HOST", "127.0.0.1");
    env.put("PG_PORT", "5433");
    env.put("PG_DB", "shop");
    env.put("PG_USER", "freshcache");
    env.put("PG_PASSWORD", "secret");
    env.put("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092,127.0.0.2:9093");
    env.put("CDC_CONNECTOR_NAME", "pg-eu.1");
    env.put("CDC_SLOT_NAME", "fc_slot_1");
    env.put("CDC_PUBLICATION_NAME", "fc_pub");
    env.put("CDC_OFFSET_FILE", "/var/lib/fc/offsets.dat");
    env.put("CDC_TOPIC", "fc.changes");
    env.put("CDC_RULES", "public.products=catalog:product:{id};shop.lines=shop:line:{order_id}:{line_no}");
    env.put("CDC_POLL_INTERVAL_MS", "25");
    env.put("CDC_MAX_BATCH_SIZE", "512");
    env.put("CDC_OFFSET_FLUSH_INTERVAL_MS", "0");
    env.put("CDC_STARTUP_TIMEOUT_MS", "5000");
    env.put("CDC_HTTP_PORT", "0");
    env.put("CDC_OFFSET_TOPIC", "fc.offsets");
    env.put("CDC_MAX_EVENT_BYTES", "4096");

    CdcIngestConfig c = CdcIngestConfig.fromEnv(env);

    assertThat(c.databaseAddress()).isEqualTo("127.0.0.1:5433/shop");
    assertThat(c.password()).isEqualTo("secret");
    assertThat(c.kafka().bootstrapServers()).isEqualTo("127.0.0.1:9092,127.0.0.2:9093");
    assertThat(c.connectorName()).isEqualTo("pg-eu.1");
    assertThat(c.slotName()).isEqualTo("fc_slot_1");
    assertThat(c.publicationName()).isEqualTo("fc_pub");
    assertThat(c.offsetFile()).isEqualTo(Path.of("/var/lib/fc/offsets.dat"));
    assertThat(c.offsetStorage()).as("CDC_OFFSET_FILE alone selects the file")
        .isEqualTo(CdcIngestConfig.OffsetStorage.FILE);
    assertThat(c.offsetTopic()).isEqualTo("fc.offsets");
    assertThat(c.httpPort()).isZero();
    assertThat(c.maxEventBytes()).isEqualTo(4096);
    assertThat(c.topic()).isEqualTo("fc.changes");
    assertThat(c.tables()).containsExactly("public.products", "shop.lines");
    assertThat(c.pollInterval()).isEqualTo(Duration.ofMillis(25));
    assertThat(c.maxBatchSize()).isEqualTo(512);
    assertThat(c.offsetFlushInterval()).isZero();
    assertThat(c.startupTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
      "PG_HOST              | my host                  | must be a host name without blanks",
      "PG_PORT              | abc                      | must be an integer in 1..65535",
      "PG_PORT              | 70000                    | must be an integer in 1..65535",
      "KAFKA_BOOTSTRAP_SERVERS | localhost             | must be host:port",
      "CDC_CONNECTOR_NAME   | pg main                  | must match",
      "CDC_SLOT_NAME        | Fresh-Cache              | must match [a-z0-9_]{1,63}",
      "CDC_PUBLICATION_NAME | 1pub                     | must match",
      "CDC_TOPIC            | fresh/cache              | must match",
      "CDC_RULES            | public.products          | rule must look like schema.table=keyTemplate",
      "CDC_RULES            | public.products=catalog:product:id | no {column} placeholder",
      "CDC_POLL_INTERVAL_MS | 0                        | must be a duration of at least 1 ms",
      "CDC_POLL_INTERVAL_MS | 70000                    | must be 1..60000 ms",
      "CDC_POLL_INTERVAL_MS | fast                     | must be a duration",
      "CDC_MAX_BATCH_SIZE   | 0                        | must be an integer in 1..65536",
      "CDC_OFFSET_FLUSH_INTERVAL_MS | -1               | must be a duration of at least 0 ms",
      "CDC_STARTUP_TIMEOUT_MS | 0                      | must be a duration of at least 1 ms",
      "CDC_HTTP_PORT        | -1                       | must be an integer in 0..65535",
      "CDC_MAX_EVENT_BYTES  | 100                      | must be an integer in 1024..67108864 but was '100'",
      "CDC_OFFSET_STORAGE   | redis                    | must be one of kafka, file",
      "CDC_OFFSET_TOPIC     | a topic                  | must match",
  })
  void aBadVariableNamesItselfAndItsValue(String name, String value, String problem) {
    Map<String, String> env = minimalEnv();
    env.put(name, value);

    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(name)
        .hasMessageContaining(problem)
        .hasMessageContaining("but was '");
    if (!name.equals("CDC_RULES")) {
      assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env)).hasMessageContaining("'" + value + "'");
    }
  }

  @Test
  void aBadRuleQuotesTheValue() {
    Map<String, String> env = minimalEnv();
    env.put("CDC_RULES", "public.products=catalog:product:{id};nodot=a:b:{id}");

    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env))
        .hasMessage("CDC_RULES: table must be schema.table (e.g. public.products) but was 'nodot'"
            + " in rule 'nodot=a:b:{id}'");
  }

  @Test
  void offsetStorageCanBeChosenExplicitly() {
    Map<String, String> env = minimalEnv();
    env.put("CDC_OFFSET_FILE", "/tmp/o.dat");
    env.put("CDC_OFFSET_STORAGE", "KAFKA");
    assertThat(CdcIngestConfig.fromEnv(env).offsetStorage()).isEqualTo(CdcIngestConfig.OffsetStorage.KAFKA);

    env.remove("CDC_OFFSET_FILE");
    env.put("CDC_OFFSET_STORAGE", "file");
    assertThat(CdcIngestConfig.fromEnv(env).offsetFile()).isEqualTo(CdcIngestConfig.DEFAULT_OFFSET_FILE);
  }

  @Test
  void theOffsetTopicMustNotBeTheEventTopic() {
    Map<String, String> env = minimalEnv();
    env.put("CDC_OFFSET_TOPIC", "freshcache.changes");
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env))
        .hasMessage("offsetTopic must differ from topic but both were 'freshcache.changes'");
  }

  @Test
  void rulesComeFromAFileOrTheShortcutButNotBoth(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.yaml");
    java.nio.file.Files.writeString(file, "tables:\n  public.p:\n    key: a:b:{id}\n");
    Map<String, String> env = minimalEnv();
    env.put("CDC_RULES_FILE", file.toString());
    assertThat(CdcIngestConfig.fromEnv(env).tables()).containsExactly("public.p");

    env.put("CDC_RULES", "public.q=a:c:{id}");
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env))
        .hasMessage("CDC_RULES_FILE and CDC_RULES are both set; set one of them");

    env.remove("CDC_RULES");
    env.put("CDC_RULES_FILE", dir.resolve("missing.yaml").toString());
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env))
        .hasMessageStartingWith("CDC_RULES_FILE: rules file " + dir.resolve("missing.yaml") + ": cannot be read");
  }

  @Test
  void blankVariablesTakeTheDefaultButAnEmptyPasswordIsKept() {
    Map<String, String> env = minimalEnv();
    env.put("PG_HOST", "");
    env.put("CDC_TOPIC", "  ");
    env.put("PG_PASSWORD", "");

    CdcIngestConfig c = CdcIngestConfig.fromEnv(env);

    assertThat(c.dbHost()).isEqualTo("127.0.0.1");
    assertThat(c.topic()).isEqualTo("freshcache.changes");
    assertThat(c.password()).isEmpty();
  }

  @Test
  void thePasswordIsNeverPrinted() {
    Map<String, String> env = minimalEnv();
    env.put("PG_PASSWORD", "s3cret");

    assertThat(CdcIngestConfig.fromEnv(env).toString()).doesNotContain("s3cret").contains("password=****");
  }

  @Test
  void builderValidatesEachSettingAsItIsSet() {
    assertThatThrownBy(() -> CdcIngestConfig.builder().slotName("Bad-Slot"))
        .hasMessage("slotName must match [a-z0-9_]{1,63} but was 'Bad-Slot'");
    assertThatThrownBy(() -> CdcIngestConfig.builder().maxBatchSize(0))
        .hasMessage("maxBatchSize must be in 1..65536 but was '0'");
    assertThatThrownBy(() -> CdcIngestConfig.builder().pollInterval(Duration.ZERO))
        .hasMessage("pollInterval must be 1..60000 ms but was '0'");
  }

  @Test
  void builderRejectsABlankDatabaseOrUser() {
    assertThatThrownBy(() -> CdcIngestConfig.builder().database(" "))
        .hasMessage("database must be set but was ' '");
    assertThatThrownBy(() -> CdcIngestConfig.builder().user(null))
        .hasMessage("user must be set but was unset");
    assertThat(CdcIngestConfig.builder().build().databaseAddress()).isEqualTo("127.0.0.1:5433/shop");
  }

  @Test
  void anOffsetFileSelectsTheFileStore() {
    CdcIngestConfig c = CdcIngestConfig.builder().offsetFile(Path.of("x.dat")).build();
    assertThat(c.offsetStorage()).isEqualTo(CdcIngestConfig.OffsetStorage.FILE);
    assertThat(c.toBuilder().offsetStorage(CdcIngestConfig.OffsetStorage.KAFKA).build().offsetStorage())
        .isEqualTo(CdcIngestConfig.OffsetStorage.KAFKA);
  }

  @Test
  void builderUsesTheDefaultRuleUntilOneIsGiven() {
    CdcIngestConfig defaults = CdcIngestConfig.builder().database("d").user("u").build();
    assertThat(defaults.rules()).containsExactly(TableRule.parse(CdcIngestConfig.DEFAULT_RULES));

    CdcIngestConfig own = defaults.toBuilder().rules(java.util.List.of())
        .rule(TableRule.invalidate("shop.lines", "shop:line:{order_id}:{line_no}")).build();
    assertThat(own.tables()).containsExactly("shop.lines");
    CdcIngestConfig other = own.toBuilder().slotName("other").build();
    assertThat(other.slotName()).isEqualTo("other");
    assertThat(other).isNotEqualTo(own).isEqualTo(own.toBuilder().slotName("other").build());
    assertThat(other.toBuilder().slotName(own.slotName()).build()).isEqualTo(own).hasSameHashCodeAs(own);
  }

  @Test
  void everyCdcDebeziumVariableIsAnEnginePropertyAndItsTlsSettingsReachOurOwnJdbcConnections(
      @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path keyPassword = java.nio.file.Files.writeString(dir.resolve("kp"), "keysecret\n");
    Map<String, String> env = minimalEnv();
    env.put("CDC_DEBEZIUM_DATABASE_SSLMODE", "verify-full");
    env.put("CDC_DEBEZIUM_DATABASE_SSLROOTCERT", "/etc/pg/ca.pem");
    env.put("CDC_DEBEZIUM_DATABASE_SSLPASSWORD_FILE", keyPassword.toString());
    env.put("CDC_DEBEZIUM_SNAPSHOT_MODE", "never");
    env.put("CDC_DEBEZIUM_HEARTBEAT_INTERVAL_MS", "5000");

    CdcIngestConfig c = CdcIngestConfig.fromEnv(env);

    assertThat(c.debeziumProperties()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "database.sslmode", "verify-full", "database.sslrootcert", "/etc/pg/ca.pem",
        "database.sslpassword", "keysecret", "snapshot.mode", "never", "heartbeat.interval.ms", "5000"));
    assertThat(c.jdbcProperties()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "sslmode", "verify-full", "sslrootcert", "/etc/pg/ca.pem", "sslpassword", "keysecret"));
    assertThat(c.toString()).doesNotContain("keysecret").contains("database.sslmode=verify-full");
    assertThat(c.toBuilder().build()).isEqualTo(c);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "CDC_DEBEZIUM_SLOT_NAME                | slot.name | CDC_SLOT_NAME",
      "CDC_DEBEZIUM_DATABASE_PASSWORD        | database.password | PG_PASSWORD",
      "CDC_DEBEZIUM_CONNECTOR_CLASS          | connector.class | freshcache sets it",
      "CDC_DEBEZIUM_OFFSET_STORAGE_FILE_FILENAME | offset.storage.file.filename | CDC_OFFSET_FILE",
      "CDC_DEBEZIUM_PLUGIN_NAME              | plugin.name | freshcache sets it",
      "CDC_DEBEZIUM_TABLE_INCLUDE_LIST       | table.include.list | CDC_RULES",
  })
  void reservedDebeziumPropertiesAreRefusedNamingWhatSetsThem(String variable, String property, String by) {
    Map<String, String> env = minimalEnv();
    env.put(variable, "x");
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(variable).hasMessageContaining(property).hasMessageContaining(by);
  }

  @Test
  void aPasswordFromAFileAndKafkaSecretsAreMasked(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path pw = java.nio.file.Files.writeString(dir.resolve("pw"), "pgsecret\n");
    Map<String, String> env = minimalEnv();
    env.put("PG_PASSWORD_FILE", pw.toString());
    env.put("KAFKA_SASL_JAAS_CONFIG", "x required password=\"kafkasecret\";");
    CdcIngestConfig c = CdcIngestConfig.fromEnv(env);
    assertThat(c.password()).isEqualTo("pgsecret");
    assertThat(c.kafka().properties()).containsKey("sasl.jaas.config");
    assertThat(c.toString()).doesNotContain("pgsecret").doesNotContain("kafkasecret");
    env.put("PG_PASSWORD", "other");
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env)).hasMessageContaining("PG_PASSWORD and PG_PASSWORD_FILE")
        .hasMessageNotContaining("other");
  }

  @Test
  void aReservedKafkaPropertyIsRefusedAtStart() {
    Map<String, String> env = minimalEnv();
    env.put("KAFKA_ENABLE_IDEMPOTENCE", "false");
    assertThatThrownBy(() -> CdcIngestConfig.fromEnv(env)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_ENABLE_IDEMPOTENCE").hasMessageContaining("enable.idempotence");
  }

  @Test
  void theRecordRejectsDuplicateTables() {
    CdcIngestConfig.Builder b = CdcIngestConfig.builder().database("d").user("u")
        .rule(TableRule.invalidate("public.p", "a:b:{id}"))
        .rule(TableRule.invalidate("public.p", "a:c:{id}"));

    assertThatThrownBy(b::build).hasMessage("rules: each table may have one rule but public.p has more than one");
  }
}
