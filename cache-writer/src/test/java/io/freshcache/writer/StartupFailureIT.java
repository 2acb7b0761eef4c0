package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.Test;

/** A writer that fails to start leaves nothing open behind (Redis connects first). */
class StartupFailureIT {

  private static final Pattern LETTUCE_THREAD = Pattern.compile("(lettuce-[A-Za-z]+-\\d+)-\\d+");

  /**
   * @return the thread groups of live Lettuce threads ({@code lettuce-nioEventLoop-4-1} is thread
   *     1 of group {@code lettuce-nioEventLoop-4}); every client has its own groups, and a client
   *     may start more threads of its groups later (the shared test client does, lazily)
   */
  private static Set<String> lettuceThreadGroups() {
    Set<String> groups = new TreeSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      Matcher m = LETTUCE_THREAD.matcher(t.getName());
      if (t.isAlive() && m.matches()) {
        groups.add(m.group(1));
      }
    }
    return groups;
  }

  /** Regression: the Redis client and its threads stayed open when the Kafka clients failed. */
  @Test
  void aKafkaClientThatCannotBeBuiltClosesTheRedisClient() {
    CacheWriterConfig bad = ItSupport.BASE.toBuilder()
        .kafkaBootstrapServers("no-such-host.invalid:9092").build();
    ItSupport.conn.sync().ping(); // the shared test client's own threads exist before counting
    Set<String> before = lettuceThreadGroups();
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> CacheWriter.start(bad)).isInstanceOf(KafkaException.class);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(lettuceThreadGroups()).as("Lettuce threads of the failed writers left running")
            .isSubsetOf(before));
  }

  private static long sinkSessions() throws Exception {
    try (java.sql.Connection c = WriteBehindSinkIT.connect(); java.sql.Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity"
            + " WHERE application_name = 'freshcache-writer-sink'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Regression: the sink's database connection stayed open when its Kafka clients failed. */
  @Test
  void aSinkWhoseKafkaClientCannotBeBuiltClosesItsDatabaseConnection() throws Exception {
    String table = "sink_startfail_" + ItSupport.RUN;
    CacheWriterConfig withSink = WriteBehindSinkIT.withSink("startfail",
        ItSupport.freshTopics("sink-startfail"), table);
    long before = sinkSessions();
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> WriteBehindSink.start(withSink.sink(),
          io.freshcache.protocol.config.KafkaClientConfig.builder().bootstrapServers("no-such-host.invalid:9092").build(),
          withSink.groupId(), withSink.dlqTopic(), withSink.sessionTimeout(),
          new io.micrometer.core.instrument.simple.SimpleMeterRegistry()))
          .isInstanceOf(KafkaException.class);
    }
    // closed at once, not whenever a garbage collection lets the driver's cleaner find them
    await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).untilAsserted(
        () -> assertThat(sinkSessions()).as("sink database sessions left open").isLessThanOrEqualTo(before));
    try (java.sql.Connection c = WriteBehindSinkIT.connect(); java.sql.Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + table);
    }
  }

  /**
   * WRITER_SINK_JDBC_* properties reach the sink's database connection: sslmode=verify-full with a
   * CA that did not sign the server's certificate (dev/stack's wrong-ca.crt) fails the sink's start
   * naming the database, and the URL's password parameter is masked in that message.
   */
  @Test
  void theSinksJdbcTlsSettingsReachItsConnection() throws Exception {
    String table = "sink_tls_" + ItSupport.RUN;
    CacheWriterConfig withSink = WriteBehindSinkIT.withSink("tls", ItSupport.freshTopics("sink-tls"), table);
    WriteBehindConfig tls = withSink.sink().toBuilder().jdbcProperty("sslmode", "verify-full")
        .jdbcProperty("sslrootcert", System.getenv("FRESHCACHE_TLS_WRONG_CA_FILE"))
        .jdbcUrl(withSink.sink().jdbcUrl() + (withSink.sink().jdbcUrl().contains("?") ? "&" : "?") + "password=urlsecret")
        .build();
    try {
      assertThatThrownBy(() -> WriteBehindSink.start(tls, withSink.kafka(), withSink.groupId(), withSink.dlqTopic(),
          withSink.sessionTimeout(), new io.micrometer.core.instrument.simple.SimpleMeterRegistry()))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("unreachable at start")
          .hasMessageContaining("SSL").hasMessageContaining("password=****").hasMessageNotContaining("urlsecret");
    } finally {
      try (java.sql.Connection c = WriteBehindSinkIT.connect(); java.sql.Statement st = c.createStatement()) {
        st.execute("DROP TABLE IF EXISTS " + table);
      }
    }
  }

  /** KAFKA_* pass-through properties reach the writer's Kafka clients. */
  @Test
  void kafkaPassThroughPropertiesReachTheWritersClients() {
    CacheWriterConfig sasl = ItSupport.BASE.toBuilder().kafka(ItSupport.BASE.kafka().toBuilder()
        .property("security.protocol", "SASL_PLAINTEXT").property("sasl.mechanism", "PLAIN").build()).build();
    assertThatThrownBy(() -> CacheWriter.start(sasl)).isInstanceOf(KafkaException.class)
        .hasStackTraceContaining("JAAS");
  }

  @org.junit.jupiter.api.AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }
}
