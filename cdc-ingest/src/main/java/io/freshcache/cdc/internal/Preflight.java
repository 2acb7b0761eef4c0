package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.CdcStartupException;
import io.freshcache.cdc.TableRule;
import io.freshcache.cdc.WalLevelException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks, before the engine starts, everything whose failure Debezium would only report later,
 * asynchronously and wrapped in several layers: that PostgreSQL answers, can decode its WAL
 * ({@code wal_level=logical}), has the captured tables, lets the user replicate, and that the
 * replication slot is not held by someone else; and that the Kafka topic exists and answers.
 * Each failure is a {@link CdcStartupException} that says what to change.
 *
 * <p>The Kafka check also lists the topic's latest offsets: Kafka 4.4 can reject the first
 * idempotent batches sent right after a topic was created (KAFKA-15591, fixed in 4.5), and a topic
 * whose offsets answer is past that window.
 */
final class Preflight {
  private static final Logger LOG = LoggerFactory.getLogger(Preflight.class);
  private static final Duration SLOT_RECHECK = Duration.ofMillis(100);

  private Preflight() {}

  /** Opens a plain JDBC connection to the captured database, with the connector's TLS settings. */
  static Connection connect(CdcIngestConfig c) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", c.user());
    p.setProperty("password", c.password());
    String seconds = Long.toString(Math.max(1, c.startupTimeout().toSeconds()));
    p.setProperty("connectTimeout", seconds);
    p.setProperty("loginTimeout", seconds);
    p.setProperty("socketTimeout", seconds);
    p.setProperty("ApplicationName", "freshcache-cdc-" + c.connectorName());
    p.putAll(c.jdbcProperties()); // the connector's TLS settings (CDC_DEBEZIUM_DATABASE_SSL*)
    Connection conn = new org.postgresql.Driver().connect(c.jdbcUrl(), p);
    if (conn == null) {
      throw new SQLException("the PostgreSQL driver does not accept " + c.jdbcUrl());
    }
    return conn;
  }

  static void checkDatabase(CdcIngestConfig c) {
    Connection conn;
    try {
      conn = connect(c);
    } catch (SQLException e) {
      throw new CdcStartupException("cannot connect to PostgreSQL at " + c.databaseAddress()
          + " as " + c.user() + ": " + e.getMessage() + " (SQLState " + e.getSQLState() + ")", e);
    }
    try (conn) {
      String walLevel = single(conn, "SHOW wal_level");
      if (!"logical".equals(walLevel)) {
        throw new WalLevelException(walLevel, c.databaseAddress());
      }
      checkReplicationRole(conn, c);
      for (TableRule rule : c.rules()) {
        RuleCheck.check(conn, c, rule);
      }
      String slot = checkSlot(conn, c);
      LOG.info("PostgreSQL {} ({}): wal_level=logical, slot {} {}", c.databaseAddress(),
          single(conn, "SHOW server_version"), c.slotName(), slot);
    } catch (SQLException e) {
      throw new CdcStartupException("cannot check PostgreSQL at " + c.databaseAddress() + ": "
          + e.getMessage() + " (SQLState " + e.getSQLState() + ")", e);
    }
  }

  private static void checkReplicationRole(Connection conn, CdcIngestConfig c) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")) {
      if (rs.next() && !rs.getBoolean(1)) {
        throw new CdcStartupException("PostgreSQL user " + c.user() + " at " + c.databaseAddress()
            + " may not replicate; run ALTER ROLE " + c.user() + " REPLICATION", null);
      }
    }
  }

  /**
   * A slot stays active for a moment after its previous user disconnected (the walsender exits
   * asynchronously), so an active slot is given up to the startup timeout to become free.
   *
   * @return how the slot stands, for the log line
   */
  private static String checkSlot(Connection conn, CdcIngestConfig c) throws SQLException {
    long deadline = System.nanoTime() + c.startupTimeout().toNanos();
    try (PreparedStatement ps = conn.prepareStatement("SELECT active, active_pid, plugin, database"
        + " FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, c.slotName());
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return "will be created";
          }
          if (!c.database().equals(rs.getString("database"))
              || !"pgoutput".equals(rs.getString("plugin"))) {
            throw new CdcStartupException("replication slot " + c.slotName() + " exists for database "
                + rs.getString("database") + " with plugin " + rs.getString("plugin")
                + " but cdc-ingest needs database " + c.database()
                + " with pgoutput; choose another slot name", null);
          }
          if (!rs.getBoolean("active")) {
            return "exists";
          }
          if (System.nanoTime() >= deadline) {
            throw new CdcStartupException("replication slot " + c.slotName() + " at "
                + c.databaseAddress() + " is in use by PID " + rs.getInt("active_pid")
                + "; is another cdc-ingest running with this slot?", null);
          }
        }
        pause(SLOT_RECHECK);
      }
    }
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CdcStartupException("interrupted while waiting for a replication slot", e);
    }
  }

  /**
   * The event topic as the broker describes it.
   *
   * @param partitions its partition count
   * @param maxMessageBytes its {@code max.message.bytes}, the largest record batch it accepts
   */
  record TopicInfo(int partitions, int maxMessageBytes) {}

  /** @return the topic's partition count and record size limit, once its offsets answer */
  static TopicInfo checkTopic(CdcIngestConfig c) {
    Duration timeout = c.startupTimeout();
    Admin admin = Admin.create(adminProperties(c));
    try {
      TopicDescription topic = admin.describeTopics(List.of(c.topic())).allTopicNames()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(c.topic());
      Map<TopicPartition, OffsetSpec> latest = topic.partitions().stream()
          .collect(Collectors.toMap(tp -> new TopicPartition(c.topic(), tp.partition()),
              tp -> OffsetSpec.latest()));
      admin.listOffsets(latest).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, c.topic());
      ConfigEntry maxMessage = admin.describeConfigs(List.of(resource)).all()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(resource)
          .get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
      int maxMessageBytes = maxMessage == null || maxMessage.value() == null ? Integer.MAX_VALUE
          : Integer.parseInt(maxMessage.value());
      LOG.info("Kafka {}: topic {} has {} partitions, max.message.bytes {}",
          c.kafka().bootstrapServers(), c.topic(), topic.partitions().size(), maxMessageBytes);
      return new TopicInfo(topic.partitions().size(), maxMessageBytes);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        throw new CdcStartupException("Kafka topic " + c.topic() + " does not exist on "
            + c.kafka().bootstrapServers() + "; create it first (cdc-ingest does not create topics)",
            e.getCause());
      }
      throw new CdcStartupException("cannot use Kafka at " + c.kafka().bootstrapServers() + ": "
          + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException | InterruptedException e) {
      throw kafkaUnanswered(c, timeout, e);
    } finally {
      admin.close(Duration.ofSeconds(2));
    }
  }

  private static String single(Connection conn, String sql) throws SQLException {
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /**
   * Creates the compacted offset topic if it is missing (one partition, the broker's replication
   * factor), then waits until its offsets answer, past the window of KAFKA-15591.
   *
   * @throws CdcStartupException if Kafka refuses or does not answer
   */
  static void ensureOffsetTopic(CdcIngestConfig c) {
    Duration timeout = c.startupTimeout();
    String topic = c.offsetTopic();
    Admin admin = Admin.create(adminProperties(c));
    try {
      try {
        admin.describeTopics(List.of(topic)).allTopicNames()
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw e;
        }
        NewTopic t = new NewTopic(topic, Optional.of(1), Optional.empty())
            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
        try {
          admin.createTopics(List.of(t)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
          LOG.info("Kafka {}: created offset topic {} (compacted)", c.kafka().bootstrapServers(), topic);
        } catch (ExecutionException ce) {
          if (!(ce.getCause() instanceof TopicExistsException)) {
            throw ce;
          }
        }
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        try {
          admin.listOffsets(Map.of(new TopicPartition(topic, 0), OffsetSpec.latest())).all()
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
          return;
        } catch (ExecutionException e) {
          if (System.nanoTime() > deadline) {
            throw e;
          }
          pause(SLOT_RECHECK);
        }
      }
    } catch (ExecutionException e) {
      throw new CdcStartupException("cannot use the offset topic " + topic + " on "
          + c.kafka().bootstrapServers() + ": " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException | InterruptedException e) {
      throw kafkaUnanswered(c, timeout, e);
    } finally {
      admin.close(Duration.ofSeconds(2));
    }
  }

  /** Kafka did not answer in time, or the wait was interrupted (the flag is set again). */
  private static CdcStartupException kafkaUnanswered(CdcIngestConfig c, Duration timeout,
      Exception e) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
      return new CdcStartupException("interrupted while checking Kafka at "
          + c.kafka().bootstrapServers(), e);
    }
    return new CdcStartupException("Kafka at " + c.kafka().bootstrapServers()
        + " did not answer within " + timeout.toMillis() + " ms", e);
  }

  /** The admin client's properties: freshcache's, then the {@code KAFKA_*} pass-through ones. */
  static Map<String, Object> adminProperties(CdcIngestConfig c) {
    Map<String, Object> p = new HashMap<>();
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "freshcache-cdc-preflight-" + c.connectorName());
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(c.startupTimeout().toMillis()));
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
        Long.toString(Math.min(c.startupTimeout().toMillis(), 10_000)));
    return c.kafka().apply(p, Set.of());
  }
}
