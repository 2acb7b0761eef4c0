package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.RetriableCacheException;
import io.freshcache.writer.internal.ClusterClients;
import io.freshcache.writer.internal.FencedApplier;
import io.freshcache.writer.internal.ReplicaAcks;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Replica acknowledgement of applies ({@code WAIT}) on the real cluster: it is asked on the
 * connection that carried the applies, a master whose replica died does not stall the writer, and
 * an invalidation acknowledged by a master that dies before its replica got it is applied again
 * on the promoted replica instead of being lost. Replicas are frozen with {@code SIGSTOP} (pids
 * from {@code $FRESHCACHE_STATE_DIR/run}) and always thawed; killed nodes are restarted
 * ({@code dev/stack up redis}) at the end of each test.
 */
class ReplicaAckIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  /**
   * The node connection {@code getConnection(host, port)} returns is the one slot-routed applies
   * travel on (the master's {@code CLIENT LIST} shows that connection's last command was the
   * apply's {@code EVALSHA}; {@code getConnection(nodeId)} is another one); and with the replica
   * frozen, an apply acknowledged by the master alone goes through without replica
   * acknowledgement and fails with it.
   */
  @Test
  void theAcknowledgementIsAskedOnTheConnectionThatCarriedTheApplies() throws Exception {
    try (io.freshcache.redis.RedisTopology conn = ItSupport.topology()) {
      CacheKey k = CacheKey.of("it", "ack", ItSupport.RUN + "-conn");
      RedisClusterNode master = masterOf(k);
      RedisClusterNode replica = replicaOf(master);
      FencedApplier acked = new FencedApplier(conn, Duration.ofSeconds(5), Duration.ofHours(1),
          new ReplicaAcks(conn, 1, Duration.ofMillis(500), Duration.ofSeconds(5)));
      FencedApplier unacked = new FencedApplier(conn, Duration.ofSeconds(5), Duration.ofHours(1));
      long byHostPort = conn.node(master.getUri().getHost() + ":" + master.getUri().getPort()).sync().clientId();
      long byNodeId = ((StatefulRedisClusterConnection<byte[], byte[]>) conn.connection())
          .getConnection(master.getNodeId()).sync().clientId();
      RedisClient direct = RedisClient.create(uri(master));
      try (StatefulRedisConnection<String, String> m = direct.connect()) {
        assertThat(unacked.apply(List.of(CacheEvent.invalidate(k, 1, 0))).applied()).isEqualTo(1);
        String clients = m.sync().clientList();
        assertThat(lastCommandOf(clients, byHostPort)).as("connection %s in %s", byHostPort, clients)
            .isEqualTo("evalsha");
        assertThat(acked.apply(List.of(CacheEvent.invalidate(k, 1, 0))).applied()).isEqualTo(1);
        clients = m.sync().clientList();
        assertThat(lastCommandOf(clients, byHostPort)).as("connection %s in %s", byHostPort, clients)
            .isEqualTo("wait");
        assertThat(byNodeId).isNotEqualTo(byHostPort);
        assertThat(lastCommandOf(clients, byNodeId)).isEqualTo("client|id");
      } finally {
        direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
      signal("STOP", replica);
      try {
        assertThat(unacked.apply(List.of(CacheEvent.invalidate(k, 2, 0))).applied())
            .as("the master alone acknowledges").isEqualTo(1);
        assertThatThrownBy(() -> acked.apply(List.of(CacheEvent.invalidate(k, 3, 0))))
            .isInstanceOf(RetriableCacheException.class).hasMessageContaining("replica acknowledgement missing")
            .hasMessageContaining("0 of 1 replicas");
      } finally {
        signal("CONT", replica);
      }
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
          .until(() -> acked.apply(List.of(CacheEvent.invalidate(k, 4, 0))).applied() == 1);
    }
  }

  /** A master whose replica died answers {@code WAIT} with 0: the writer must go on. */
  @Test
  void aMasterWhoseReplicaDiedDoesNotStallTheWriter() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("ack-noreplica").toBuilder()
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).build();
    String topic = config.topics().get(0);
    CacheKey first = CacheKey.of("it", "ack", ItSupport.RUN + "-noreplica-0");
    RedisClusterNode master = masterOf(first);
    List<CacheKey> keys = keysOn(master, "noreplica", 20);
    try (CacheWriter w = CacheWriter.start(config)) {
      for (CacheKey k : keys) {
        ItSupport.sendAsync(topic, ItSupport.upsert(k, 1, "v1"));
      }
      ItSupport.producer.flush();
      ItSupport.awaitDrained(config.groupId(), topic, Duration.ofSeconds(60));
      ItSupport.devStack("kill", "redis:" + replicaOf(master).getUri().getPort());
      try {
        for (CacheKey k : keys) {
          ItSupport.sendAsync(topic, ItSupport.upsert(k, 2, "v2"));
        }
        ItSupport.producer.flush();
        ItSupport.awaitDrained(config.groupId(), topic, Duration.ofSeconds(60));
        for (CacheKey k : keys) {
          assertThat(ItSupport.stored(k)).isEqualTo("\"v2\"");
        }
        assertThat(w.isRunning()).isTrue();
      } finally {
        ItSupport.devStack("up", "redis");
      }
    }
  }

  /**
   * The loss: an invalidation acknowledged by a master whose replica never got it, the
   * master killed, the replica promoted. Its replication stream is held up first (replica frozen,
   * then enough data written that the invalidation waits in the master's own output buffer, not
   * in a socket buffer the thawed replica would still read), so the replica cannot get it from
   * the master. Without replica acknowledgement the offset is committed and the promoted replica
   * keeps the old value; with it the writer applies the invalidation again on the promoted node.
   */
  @Test
  void anInvalidationAcknowledgedByAMasterThatDiesIsNotLost() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("ack-failover").toBuilder()
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).build();
    String topic = config.topics().get(0);
    CacheKey k = CacheKey.of("it", "ack", ItSupport.RUN + "-failover");
    RedisClusterNode master = masterOf(k);
    RedisClusterNode replica = replicaOf(master);
    byte[] valueKey = k.valueKey(1).getBytes(StandardCharsets.UTF_8);
    List<byte[]> junk = new ArrayList<>();
    RedisClient direct = RedisClient.create();
    boolean thawed = false;
    try (CacheWriter w = CacheWriter.start(config);
        StatefulRedisConnection<byte[], byte[]> m = direct.connect(ByteArrayCodec.INSTANCE, uri(master));
        StatefulRedisConnection<byte[], byte[]> r = direct.connect(ByteArrayCodec.INSTANCE, uri(replica))) {
      r.sync().readOnly();
      ItSupport.send(topic, k.toString(), io.freshcache.protocol.CacheEventJson.write(ItSupport.upsert(k, 1, "old")));
      await().atMost(Duration.ofSeconds(30)).until(() -> r.sync().get(valueKey) != null);
      try {
        signal("STOP", replica);
        holdUpReplication(m.sync(), master, junk);
        ItSupport.send(topic, k.toString(), io.freshcache.protocol.CacheEventJson.write(CacheEvent.invalidate(k, 2,
            System.currentTimeMillis())));
        // the master applied it; then either the batch was committed (no acknowledgement asked)
        // or it is being retried for want of one
        await().atMost(Duration.ofSeconds(30)).until(() -> m.sync().get(valueKey) == null
            && (w.retries() > 0 || ItSupport.committed(config.groupId(), topic) == ItSupport.endOffsets(topic)));
        ItSupport.devStack("kill", "redis:" + master.getUri().getPort());
      } finally {
        signal("CONT", replica);
        thawed = true;
      }
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
        if (isMaster(r.sync())) {
          return true;
        }
        r.sync().clusterFailover(false, true); // TAKEOVER: no agreement of the dead master needed
        return isMaster(r.sync());
      });
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        assertThat(r.sync().get(valueKey)).as("value on the promoted replica").isNull();
        assertThat(ItSupport.committed(config.groupId(), topic)).isEqualTo(ItSupport.endOffsets(topic));
      });
      assertThat(w.isRunning()).isTrue();
    } finally {
      if (!thawed) {
        signal("CONT", replica);
      }
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      ItSupport.devStack("up", "redis");
      for (byte[] j : junk) {
        try {
          ItSupport.conn.sync().del(j);
        } catch (RuntimeException e) {
          System.err.println("could not delete " + new String(j, StandardCharsets.UTF_8) + ": " + e);
        }
      }
    }
  }

  /** @return the {@code cmd} field of client {@code id} in a {@code CLIENT LIST} answer */
  private static String lastCommandOf(String clientList, long id) {
    for (String line : clientList.split("\n")) {
      if (line.startsWith("id=" + id + " ")) {
        Matcher m = Pattern.compile(" cmd=(\\S+)").matcher(line);
        return m.find() ? m.group(1) : null;
      }
    }
    return null;
  }

  private static boolean isMaster(RedisCommands<byte[], byte[]> node) {
    List<Object> role = node.role();
    Object first = role.get(0);
    return "master".equals(first instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(first));
  }

  /**
   * Writes 4 MB values to keys of {@code master} until its output buffer towards the frozen
   * replica holds at least 8 MB: whatever is written after that waits in the master's memory and
   * dies with it.
   */
  private static void holdUpReplication(RedisCommands<byte[], byte[]> m, RedisClusterNode master, List<byte[]> junk) {
    byte[] big = new byte[4 << 20];
    Pattern omem = Pattern.compile("flags=S .*?omem=(\\d+)");
    int i = 0;
    while (true) {
      byte[] key = ("{ackjunk-" + ItSupport.RUN + "-" + i++ + "}").getBytes(StandardCharsets.UTF_8);
      if (!master.hasSlot(SlotHash.getSlot(key))) {
        continue;
      }
      m.set(key, big);
      junk.add(key);
      long held = 0;
      for (String line : m.clientList().split("\n")) {
        Matcher x = omem.matcher(line);
        if (x.find()) {
          held = Math.max(held, Long.parseLong(x.group(1)));
        }
      }
      if (held >= 8 << 20) {
        return;
      }
      assertThat(junk.size()).as("replication to a frozen replica backs up in the master").isLessThan(40);
    }
  }

  private static RedisURI uri(RedisClusterNode n) {
    return RedisURI.create(n.getUri().getHost(), n.getUri().getPort());
  }

  static void signal(String signal, RedisClusterNode node) throws Exception {
    String dir = System.getenv().getOrDefault("FRESHCACHE_STATE_DIR", Path.of("..", ".stack").toString());
    String pid = Files.readString(Path.of(dir, "run", "redis-" + node.getUri().getPort() + ".pid")).trim();
    Process p = new ProcessBuilder("kill", "-" + signal, pid).inheritIO().start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("kill -%s %s", signal, pid).isZero();
  }

  static RedisClusterNode masterOf(CacheKey k) {
    ItSupport.redis.refreshPartitions();
    return ItSupport.conn.getPartitions().getMasterBySlot(SlotHash.getSlot(k.fenceKey().getBytes(StandardCharsets.UTF_8)));
  }

  static RedisClusterNode replicaOf(RedisClusterNode master) {
    for (RedisClusterNode n : ItSupport.conn.getPartitions()) {
      if (master.getNodeId().equals(n.getSlaveOf()) && !n.is(RedisClusterNode.NodeFlag.FAIL)) {
        return n;
      }
    }
    throw new IllegalStateException("no live replica of " + master.getUri() + " in " + ItSupport.conn.getPartitions());
  }

  static List<CacheKey> keysOn(RedisClusterNode master, String tag, int n) {
    List<CacheKey> keys = new ArrayList<>();
    for (int i = 0; keys.size() < n; i++) {
      CacheKey k = CacheKey.of("it", "ack", ItSupport.RUN + "-" + tag + "-" + i);
      if (master.hasSlot(SlotHash.getSlot(k.fenceKey().getBytes(StandardCharsets.UTF_8)))) {
        keys.add(k);
      }
    }
    return keys;
  }
}
