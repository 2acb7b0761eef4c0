package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What cdc-ingest refuses before it starts the engine, against the real stack. */
class StartupChecksIT {
  @TempDir Path dir;

  @BeforeAll
  static void createTable() throws Exception {
    StackSettings.createTables();
  }

  @Test
  void aMissingTableIsNamed() {
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .rules(TableRule.parseAll("public.no_such_table=catalog:x:{id}")).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("rule for public.no_such_table ('public.no_such_table=catalog:x:{id}')")
        .hasMessageContaining("table public.no_such_table does not exist in " + StackSettings.PG_HOST);
  }

  @Test
  void aMissingColumnIsNamed() {
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .rules(TableRule.parseAll("public.cdc_it_products=cdcit:product:{product_id}")).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("table public.cdc_it_products has no column 'product_id' (columns: [id, name,");
  }

  @Test
  void aTemplateThatIsNotThePrimaryKeyIsRefused() {
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .rules(TableRule.parseAll("public.cdc_it_lines=cdcit:line:{order_id}")).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("key template 'cdcit:line:{order_id}' uses columns [order_id] but the"
            + " primary key of public.cdc_it_lines is [order_id, line_no]");
  }

  @Test
  void aVersionColumnMustBeAnIntegerColumn() {
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .rules(java.util.List.of(TableRule.builder("public.cdc_it_products", "cdcit:product:{id}")
            .versionColumn("name").build())).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("version column 'name' of public.cdc_it_products is text but must be"
            + " smallint, integer or bigint");
  }

  @Test
  void aMissingTopicIsNamed() {
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .topic("freshcache.no-such-topic").build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("Kafka topic freshcache.no-such-topic does not exist on " + StackSettings.KAFKA);
  }

  /**
   * The connector's TLS settings ({@code CDC_DEBEZIUM_DATABASE_SSLMODE}) also reach the JDBC
   * connections of the start-up checks: {@code verify-full} against a CA that did not sign the
   * server's certificate (dev/stack's {@code wrong-ca.crt}) fails the start at once, naming the
   * server (without them, the checks passed and only the engine failed later, asynchronously).
   */
  @Test
  void theConnectorsTlsModeReachesTheStartupChecks() {
    String wrongCa = System.getenv("FRESHCACHE_TLS_WRONG_CA_FILE");
    assertThat(wrongCa).as("FRESHCACHE_TLS_WRONG_CA_FILE from dev/stack env").isNotBlank();
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .debeziumProperty("database.sslmode", "verify-full").debeziumProperty("database.sslrootcert", wrongCa).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("cannot connect to PostgreSQL at " + StackSettings.PG_HOST)
        .hasMessageContaining("SSL");
  }

  /** KAFKA_* pass-through properties reach the start-up checks' admin client. */
  @Test
  void kafkaPassThroughPropertiesReachTheStartupChecks() {
    CdcIngestConfig base = StackSettings.config(StackSettings.uniqueSuffix(), dir).build();
    CdcIngestConfig config = base.toBuilder().kafka(base.kafka().toBuilder()
        .property("security.protocol", "SASL_PLAINTEXT").property("sasl.mechanism", "PLAIN").build()).build();

    assertThatThrownBy(() -> CdcIngest.start(config)).hasStackTraceContaining("JAAS");
  }

  @Test
  void anUnreachableKafkaIsNamed() {
    // the startup timeout also bounds the database checks that come first (connect, login and
    // socket timeouts), so it must leave a slow machine room to pass them and reach Kafka
    CdcIngestConfig config = StackSettings.config(StackSettings.uniqueSuffix(), dir)
        .kafkaBootstrapServers("127.0.0.1:1").startupTimeout(java.time.Duration.ofSeconds(10)).build();

    assertThatThrownBy(() -> CdcIngest.start(config))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageContaining("Kafka at 127.0.0.1:1");
  }

  @Test
  void aUserWithoutReplicationIsTold() throws Exception {
    String suffix = StackSettings.uniqueSuffix();
    String role = "fc_it_norepl_" + suffix;
    try (Connection c = StackSettings.connect()) {
      c.createStatement().execute("CREATE ROLE " + role + " LOGIN PASSWORD 'pw' NOREPLICATION");
    }
    try {
      CdcIngestConfig config = StackSettings.config(suffix, dir).user(role).password("pw").build();

      assertThatThrownBy(() -> CdcIngest.start(config))
          .isExactlyInstanceOf(CdcStartupException.class)
          .hasMessageContaining("may not replicate; run ALTER ROLE " + role + " REPLICATION");
    } finally {
      try (Connection c = StackSettings.connect()) {
        c.createStatement().execute("DROP ROLE " + role);
      }
    }
  }
}
