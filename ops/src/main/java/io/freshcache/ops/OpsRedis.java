package io.freshcache.ops;

import io.freshcache.protocol.CacheKey;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The one place where the ops tools open Redis: a Lettuce cluster connection (byte-array codec)
 * built from the same environment variables the services read ({@code REDIS_NODES},
 * {@code REDIS_USERNAME}, {@code REDIS_PASSWORD}, {@code REDIS_TLS}, {@code REDIS_COMMAND_TIMEOUT_MS}),
 * Redis Cluster only (standalone, Sentinel, TLS files and {@code _FILE} secrets are for the shared
 * configuration model to bring here), plus the few
 * reads the checker and the CLI share: an atomic snapshot of one key's entries, the masters that
 * serve slots, and a master's own connection for {@code SCAN}. Reads go to masters only (replica
 * reads can be stale).
 */
public final class OpsRedis implements AutoCloseable {
  /** Default seed nodes, the local stack's. */
  public static final String DEFAULT_NODES =
      "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005";
  /** Default command timeout. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

  private static final String SNAPSHOT = resource("snapshot.lua");

  /**
   * Where Redis is. The password never appears in {@link #toString()}.
   *
   * @param nodes seed nodes, {@code host:port}
   * @param username the ACL user, or {@code null} for the default user
   * @param password the password, or {@code null}
   * @param tls connect with TLS
   * @param timeout command and connect timeout
   */
  public record Settings(List<String> nodes, String username, String password, boolean tls, Duration timeout) {
    /**
     * Reads {@code REDIS_NODES}, {@code REDIS_USERNAME}, {@code REDIS_PASSWORD}, {@code REDIS_TLS} and
     * {@code REDIS_COMMAND_TIMEOUT_MS} (here default 2000: the tools are not on a read path).
     *
     * @param env the environment
     * @return the settings
     * @throws IllegalArgumentException naming the variable and its bad value
     */
    public static Settings fromEnv(Map<String, String> env) {
      String raw = env.getOrDefault("REDIS_NODES", DEFAULT_NODES);
      List<String> nodes = new ArrayList<>();
      for (String n : raw.split(",")) {
        String node = n.trim();
        int colon = node.lastIndexOf(':');
        if (colon <= 0 || !node.substring(colon + 1).matches("\\d{1,5}")) {
          throw new IllegalArgumentException("REDIS_NODES must be comma-separated host:port but had '"
              + node + "' in '" + raw + "'");
        }
        nodes.add(node);
      }
      String tls = env.getOrDefault("REDIS_TLS", "false").trim();
      if (!tls.equals("true") && !tls.equals("false")) {
        throw new IllegalArgumentException("REDIS_TLS must be true or false but was '" + tls + "'");
      }
      Duration timeout = DEFAULT_TIMEOUT;
      String t = env.get("REDIS_COMMAND_TIMEOUT_MS");
      if (t != null && !t.isBlank()) {
        try {
          timeout = Duration.ofMillis(Long.parseLong(t.trim()));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("REDIS_COMMAND_TIMEOUT_MS must be milliseconds but was '" + t + "'");
        }
        if (timeout.toMillis() < 1) {
          throw new IllegalArgumentException("REDIS_COMMAND_TIMEOUT_MS must be >= 1 but was " + t);
        }
      }
      String password = env.get("REDIS_PASSWORD");
      String username = env.get("REDIS_USERNAME");
      return new Settings(List.copyOf(nodes), username == null || username.isBlank() ? null : username.trim(),
          password == null || password.isEmpty() ? null : password,
          Boolean.parseBoolean(tls), timeout);
    }

    @Override
    public String toString() {
      return "redis " + String.join(",", nodes) + (tls ? " (tls)" : "") + (username == null ? "" : " as " + username)
          + (password == null ? "" : " (password set)") + ", timeout " + timeout.toMillis() + " ms";
    }
  }

  /** Redis could not be reached; the message names the nodes. */
  public static final class UnreachableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Settings settings;
  private final RedisClusterClient client;
  private final StatefulRedisClusterConnection<byte[], byte[]> connection;

  private OpsRedis(Settings settings, RedisClusterClient client,
      StatefulRedisClusterConnection<byte[], byte[]> connection) {
    this.settings = settings;
    this.client = client;
    this.connection = connection;
  }

  /**
   * Connects to the cluster.
   *
   * @param settings where
   * @return the open connection; close it
   * @throws UnreachableException if no seed node answers
   */
  public static OpsRedis connect(Settings settings) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String n : settings.nodes()) {
      int colon = n.lastIndexOf(':');
      RedisURI.Builder b = RedisURI.builder().withHost(n.substring(0, colon))
          .withPort(Integer.parseInt(n.substring(colon + 1))).withTimeout(settings.timeout())
          .withSsl(settings.tls());
      if (settings.password() != null && settings.username() != null) {
        b.withAuthentication(settings.username(), settings.password().toCharArray());
      } else if (settings.password() != null) {
        b.withPassword(settings.password().toCharArray());
      }
      seeds.add(b.build());
    }
    RedisClusterClient client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(Duration.ofSeconds(5))
            .enableAllAdaptiveRefreshTriggers()
            .build())
        .socketOptions(SocketOptions.builder().connectTimeout(settings.timeout()).build())
        .timeoutOptions(TimeoutOptions.enabled(settings.timeout()))
        .build());
    try {
      return new OpsRedis(settings, client, client.connect(ByteArrayCodec.INSTANCE));
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      throw new UnreachableException("cannot reach Redis at " + String.join(",", settings.nodes())
          + " (REDIS_NODES): " + rootMessage(e), e);
    }
  }

  /** @return the settings this connection was opened with */
  public Settings settings() {
    return settings;
  }

  /** @return cluster commands, routed by key to the slot's master */
  public RedisAdvancedClusterCommands<byte[], byte[]> sync() {
    return connection.sync();
  }

  /**
   * @return the masters that serve slots and are not flagged failed, from the current topology
   */
  public List<RedisClusterNode> masters() {
    List<RedisClusterNode> out = new ArrayList<>();
    for (RedisClusterNode n : connection.getPartitions()) {
      if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.is(RedisClusterNode.NodeFlag.FAIL)
          && !n.getSlots().isEmpty()) {
        out.add(n);
      }
    }
    return out;
  }

  /**
   * @param node a node of {@link #masters()}
   * @return that node's own connection's commands (for {@code SCAN}, {@code RANDOMKEY})
   */
  public RedisCommands<byte[], byte[]> node(RedisClusterNode node) {
    return connection.getConnection(node.getNodeId()).sync();
  }

  /**
   * @param node a node of {@link #masters()}
   * @return that node's own connection's asynchronous commands (to pipeline a page of reads)
   */
  public io.lettuce.core.api.async.RedisAsyncCommands<byte[], byte[]> nodeAsync(RedisClusterNode node) {
    return connection.getConnection(node.getNodeId()).async();
  }

  /**
   * @param key a logical key
   * @return the master that serves the key's slot
   */
  public RedisClusterNode masterOf(CacheKey key) {
    int slot = SlotHash.getSlot(key.hashTag());
    RedisClusterNode n = connection.getPartitions().getPartitionBySlot(slot);
    if (n == null) {
      throw new IllegalStateException("no Redis node serves slot " + slot + " of " + key);
    }
    return n;
  }

  /**
   * The schema versions of every value key of {@code key} that exists now, from the key's slot
   * ({@code CLUSTER GETKEYSINSLOT} on its master; at most 10,000 keys of that slot are listed).
   *
   * @param key a logical key
   * @return schema versions, e.g. {@code [1, 2]}
   */
  public List<Integer> valueSchemas(CacheKey key) {
    int slot = SlotHash.getSlot(key.hashTag());
    String prefix = key.valueKeyPrefix();
    List<Integer> out = new ArrayList<>();
    for (byte[] raw : node(masterOf(key)).clusterGetKeysInSlot(slot, 10_000)) {
      String k = new String(raw, StandardCharsets.UTF_8);
      if (k.startsWith(prefix) && k.substring(prefix.length()).matches("\\d{1,9}")) {
        out.add(Integer.parseInt(k.substring(prefix.length())));
      }
    }
    return out;
  }

  /**
   * Reads everything Redis holds for one key in one atomic script: the fence hash and its TTL,
   * the lease and its TTL, and the value (with TTL) of every schema the fence lists and of the
   * schemas given.
   *
   * @param key a logical key, not a namespace wildcard
   * @param schemas schema versions to read besides those the fence lists
   * @return the snapshot
   */
  public KeySnapshot snapshot(CacheKey key, Iterable<Integer> schemas) {
    List<byte[]> args = new ArrayList<>();
    args.add(bytes(key.valueKeyPrefix()));
    for (Integer s : schemas) {
      args.add(bytes(Integer.toString(s)));
    }
    List<Object> out = connection.sync().eval(SNAPSHOT, ScriptOutputType.MULTI,
        new byte[][] {bytes(key.fenceKey()), bytes(key.leaseKey())}, args.toArray(new byte[0][]));
    return KeySnapshot.of(key, out);
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  /** @return whether {@code e} or a cause is a Redis connection or timeout failure */
  public static boolean isUnreachable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnreachableException || t instanceof io.lettuce.core.RedisConnectionException
          || t instanceof io.lettuce.core.RedisCommandTimeoutException) {
        return true;
      }
    }
    return false;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return Objects.toString(t.getMessage(), t.getClass().getSimpleName());
  }

  private static String resource(String name) {
    try (InputStream in = OpsRedis.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
