package io.freshcache.bench.faults;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/** Set-up and clean-up of what a run creates in Kafka, PostgreSQL and Redis. */
final class Topics {
  private Topics() {}

  private static Admin admin(String kafka) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka));
  }

  /** Creates the topics and waits until their offsets can be listed (past KAFKA-15591). */
  static void create(String kafka, List<String> topics, int partitions) throws Exception {
    try (Admin admin = admin(kafka)) {
      List<NewTopic> news = new ArrayList<>();
      for (String t : topics) {
        news.add(new NewTopic(t, partitions, (short) 1));
      }
      admin.createTopics(news).all().get(30, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (String t : topics) {
        for (int p = 0; p < partitions; p++) {
          latest.put(new TopicPartition(t, p), OffsetSpec.latest());
        }
      }
      admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
    }
  }

  /** @return whether the group's committed offsets (as polled) reach the end of every partition */
  static boolean caughtUp(String kafka, String topic, int partitions, long[] committed) throws Exception {
    try (Admin admin = admin(kafka)) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < partitions; p++) {
        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      var ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
      for (int p = 0; p < partitions; p++) {
        if (committed[p] < ends.get(new TopicPartition(topic, p)).offset()) {
          return false;
        }
      }
      return true;
    }
  }

  /** @return the records in {@code topic} (sum of end offsets), or -1 if unknown */
  static long records(String kafka, String topic) {
    try (Admin admin = admin(kafka)) {
      var d = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      d.partitions().forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      long n = 0;
      for (var e : admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values()) {
        n += e.offset();
      }
      return n;
    } catch (Exception e) {
      return -1;
    }
  }

  /** @return the members of consumer group {@code group} */
  static int members(String kafka, String group) throws Exception {
    try (Admin admin = admin(kafka)) {
      return admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group).members().size();
    }
  }

  static void delete(String kafka, List<String> topics, String group) throws Exception {
    try (Admin admin = admin(kafka)) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<String> present = topics.stream().filter(existing::contains).toList();
      if (!present.isEmpty()) {
        admin.deleteTopics(present).all().get(30, TimeUnit.SECONDS);
      }
      try {
        admin.deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
          throw e;
        }
      }
    }
  }

  /** Drops the connector's slot (once its walsender let go of it) and publication. */
  static void dropSlot(SuiteTables tables, String slot) throws SQLException {
    try (Connection c = tables.connect()) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (active(c, slot) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, slot);
        ps.executeQuery().close();
      }
      try (Statement s = c.createStatement()) {
        s.execute("DROP PUBLICATION IF EXISTS " + slot);
      }
    }
  }

  private static boolean active(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /** Deletes the keys matching {@code pattern} on every master. */
  static void deleteRedisKeys(List<Integer> ports, String pattern) {
    for (int port : ports) {
      RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
          .withTimeout(Duration.ofSeconds(5)).build());
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        RedisCommands<String, String> r = c.sync();
        if (!r.info("replication").contains("role:master")) {
          continue;
        }
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
          KeyScanCursor<String> page = r.scan(cursor, ScanArgs.Builder.matches(pattern).limit(1000));
          for (String k : page.getKeys()) {
            r.unlink(k);
          }
          cursor = page;
        } while (!cursor.isFinished());
      } finally {
        client.shutdown();
      }
    }
  }
}
