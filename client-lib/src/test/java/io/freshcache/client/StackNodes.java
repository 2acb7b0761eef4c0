package io.freshcache.client;

import io.freshcache.protocol.config.EnvSettings;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.ClusterPartitionParser;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The test stack's Redis nodes as they are now: which master and replica hold a key's slot,
 * standalone connections to one node (for {@code CLIENT PAUSE}, {@code CLUSTER FAILOVER}), and
 * signals to a node's process (pid files under {@code $FRESHCACHE_STATE_DIR/run}).
 */
final class StackNodes {
  private StackNodes() {}

  /** A shard: its master's and first replica's ports. */
  record Shard(int master, int replica) {}

  /** @return the topology as {@code CLUSTER NODES} on the first reachable seed node says */
  static Partitions partitions(CacheClientConfig config) {
    RuntimeException last = null;
    for (String node : config.redis().nodes()) {
      try (Node n = Node.connect(EnvSettings.HostPort.parse("REDIS_NODES", node).port())) {
        return ClusterPartitionParser.parse(n.conn.sync().clusterNodes());
      } catch (RuntimeException e) {
        last = e;
      }
    }
    throw new IllegalStateException("no seed node answered CLUSTER NODES", last);
  }

  /** @return the master and a connected replica of {@code logicalKey}'s slot */
  static Shard shardOf(CacheClientConfig config, String logicalKey) {
    return shardOfSlot(config, SlotHash.getSlot("{" + logicalKey + "}"));
  }

  static Shard shardOfSlot(CacheClientConfig config, int slot) {
    Partitions p = partitions(config);
    RedisClusterNode master = null;
    for (RedisClusterNode n : p) {
      if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && n.hasSlot(slot) && !n.is(RedisClusterNode.NodeFlag.FAIL)) {
        master = n;
      }
    }
    if (master == null) {
      throw new IllegalStateException("no live master for slot " + slot);
    }
    for (RedisClusterNode n : p) {
      if (master.getNodeId().equals(n.getSlaveOf()) && !n.is(RedisClusterNode.NodeFlag.FAIL)
          && !n.is(RedisClusterNode.NodeFlag.EVENTUAL_FAIL)) {
        return new Shard(master.getUri().getPort(), n.getUri().getPort());
      }
    }
    throw new IllegalStateException("master " + master.getUri() + " has no live replica");
  }

  /** @return the live masters' ports */
  static List<Integer> masters(CacheClientConfig config) {
    List<Integer> ports = new ArrayList<>();
    for (RedisClusterNode n : partitions(config)) {
      if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.is(RedisClusterNode.NodeFlag.FAIL) && !n.getSlots().isEmpty()) {
        ports.add(n.getUri().getPort());
      }
    }
    return ports;
  }

  /** A standalone connection to one node. */
  static final class Node implements AutoCloseable {
    final RedisClient client;
    final StatefulRedisConnection<String, String> conn;

    private Node(RedisClient client, StatefulRedisConnection<String, String> conn) {
      this.client = client;
      this.conn = conn;
    }

    static Node connect(int port) {
      RedisClient c = RedisClient.create(RedisURI.create("127.0.0.1", port));
      try {
        return new Node(c, c.connect());
      } catch (RuntimeException e) {
        c.shutdown();
        throw e;
      }
    }

    /** @return {@code GET key} on this node, as a replica may answer it ({@code READONLY}) */
    String readOnlyGet(String physicalKey) {
      conn.sync().readOnly();
      return conn.sync().get(physicalKey);
    }

    @Override
    public void close() {
      conn.close();
      client.shutdown();
    }
  }

  /** @return the pid of the Redis node on {@code port}, from {@code $FRESHCACHE_STATE_DIR/run} */
  static long pid(int port) throws IOException {
    String dir = System.getenv("FRESHCACHE_STATE_DIR");
    Path root = dir != null ? Path.of(dir) : DegradationIT.repoRoot().resolve(".stack");
    return Long.parseLong(Files.readString(root.resolve("run/redis-" + port + ".pid"), StandardCharsets.UTF_8).trim());
  }

  /** Sends {@code signal} (e.g. {@code STOP}, {@code CONT}) to the node on {@code port}. */
  static void signal(int port, String signal) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid(port))).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("kill -" + signal + " of redis:" + port + " failed: " + out);
    }
  }
}
