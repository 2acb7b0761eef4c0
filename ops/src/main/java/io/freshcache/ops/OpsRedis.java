package io.freshcache.ops;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.redis.RedisSetupException;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
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
 * The one place where the ops tools open Redis: a {@link RedisTopology} (the services' own way to
 * connect: Redis Cluster, a standalone server or a master found through Sentinel, with ACL
 * credentials and TLS) built from the same {@code REDIS_*} variables the services read
 * ({@link RedisConnectionConfig#fromEnv}), plus the few reads the checker and the CLI share: an
 * atomic snapshot of one key's entries, the masters, and a master's own connection for
 * {@code SCAN}. Reads go to masters only (replica reads can be stale).
 *
 * <p>Differences from the services' defaults: {@code REDIS_NODES} defaults to the local stack's
 * cluster, and the command timeout ({@code REDIS_COMMAND_TIMEOUT_MS}) to 2 s (the tools are not
 * on a read path).
 */
public final class OpsRedis implements AutoCloseable {
  /** Default seed nodes, the local stack's. */
  public static final String DEFAULT_NODES =
      "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005";
  /** Default command timeout. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

  private static final String SNAPSHOT = resource("snapshot.lua");

  /**
   * Reads the {@code REDIS_*} variables of {@link RedisConnectionConfig} with the ops defaults
   * ({@link #DEFAULT_NODES}, {@link #DEFAULT_TIMEOUT}).
   *
   * @param env the environment
   * @return the settings; the password never appears in their {@code toString()}
   * @throws io.freshcache.protocol.config.ConfigException naming the variable and its bad value
   */
  public static RedisConnectionConfig settings(Map<String, String> env) {
    return RedisConnectionConfig.fromEnv(EnvSettings.of(env), RedisConnectionConfig.builder()
        .nodes(DEFAULT_NODES.split(",")).commandTimeout(DEFAULT_TIMEOUT).connectTimeout(DEFAULT_TIMEOUT));
  }

  /** Redis could not be reached; the message names the nodes. */
  public static final class UnreachableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final RedisTopology topology;

  private OpsRedis(RedisTopology topology) {
    this.topology = topology;
  }

  /**
   * Connects.
   *
   * @param settings where and how, e.g. {@link #settings(Map)}
   * @return the open connection; close it
   * @throws UnreachableException if no configured address answers
   * @throws RedisSetupException if Redis answered but does not match the settings (kind of
   *     deployment, credentials, TLS), naming the server and the setting to check
   */
  public static OpsRedis connect(RedisConnectionConfig settings) {
    RedisTopology topology = new RedisTopology(settings, null);
    try {
      topology.connect();
      return new OpsRedis(topology);
    } catch (RedisSetupException e) {
      topology.close();
      throw e;
    } catch (RedisException e) {
      topology.close();
      throw new UnreachableException("cannot reach Redis at " + String.join(",", settings.nodes())
          + " (REDIS_NODES): " + rootMessage(e), e);
    }
  }

  /** @return the settings this connection was opened with */
  public RedisConnectionConfig settings() {
    return topology.config();
  }

  /** @return whether Redis is a cluster (else one master: standalone or through Sentinel) */
  public boolean cluster() {
    return topology.cluster();
  }

  /** @return commands of the main connection, routed by key to the slot's master on Cluster */
  public RedisClusterCommands<byte[], byte[]> sync() {
    return topology.sync();
  }

  /**
   * @return the masters that serve keys now, {@code host:port} (on Cluster those with slots and
   *     not flagged failed; otherwise the one master, standalone's address or
   *     {@code sentinel:<name>})
   */
  public List<String> masters() {
    return topology.masters();
  }

  /**
   * @param master a name of {@link #masters()}
   * @return that master's own connection's commands (for {@code SCAN}, {@code RANDOMKEY})
   */
  public RedisCommands<byte[], byte[]> node(String master) {
    return topology.node(master).sync();
  }

  /**
   * @param master a name of {@link #masters()}
   * @return that master's own connection's asynchronous commands (to pipeline a page of reads)
   */
  public RedisAsyncCommands<byte[], byte[]> nodeAsync(String master) {
    return topology.node(master).async();
  }

  /**
   * @param key a logical key
   * @return the master that serves the key
   * @throws IllegalStateException if no master serves the key's slot
   */
  public String masterOf(CacheKey key) {
    String m = topology.masterOf(key.hashTag());
    if (m == null) {
      throw new IllegalStateException("no Redis master serves slot " + SlotHash.getSlot(key.hashTag()) + " of " + key);
    }
    return m;
  }

  /**
   * The schema versions of every value key of {@code key} that exists now: on Cluster from the
   * key's slot ({@code CLUSTER GETKEYSINSLOT} on its master, at most 10,000 keys of that slot),
   * otherwise by {@code SCAN MATCH} of the key's prefix.
   *
   * @param key a logical key
   * @return schema versions, e.g. {@code [1, 2]}
   */
  public List<Integer> valueSchemas(CacheKey key) {
    String prefix = key.valueKeyPrefix();
    List<byte[]> candidates = new ArrayList<>();
    RedisCommands<byte[], byte[]> node = node(masterOf(key));
    if (cluster()) {
      candidates.addAll(node.clusterGetKeysInSlot(SlotHash.getSlot(key.hashTag()), 10_000));
    } else {
      ScanArgs match = ScanArgs.Builder.matches(globEscape(prefix) + "*").limit(1000);
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<byte[]> page = node.scan(cursor, match);
        candidates.addAll(page.getKeys());
        cursor = page;
      } while (!cursor.isFinished());
    }
    List<Integer> out = new ArrayList<>();
    for (byte[] raw : candidates) {
      String k = new String(raw, StandardCharsets.UTF_8);
      if (k.startsWith(prefix) && k.substring(prefix.length()).matches("\\d{1,9}")) {
        out.add(Integer.parseInt(k.substring(prefix.length())));
      }
    }
    return out;
  }

  /** @return {@code text} with Redis glob characters escaped */
  static String globEscape(String text) {
    StringBuilder b = new StringBuilder(text.length() + 8);
    for (char c : text.toCharArray()) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
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
    List<Object> out = topology.sync().eval(SNAPSHOT, ScriptOutputType.MULTI,
        new byte[][] {bytes(key.fenceKey()), bytes(key.leaseKey())}, args.toArray(new byte[0][]));
    return KeySnapshot.of(key, out);
  }

  @Override
  public void close() {
    topology.close();
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
