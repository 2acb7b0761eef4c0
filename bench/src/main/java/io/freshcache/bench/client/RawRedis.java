package io.freshcache.bench.client;

import io.freshcache.client.CacheClientConfig;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The baseline: a plain Lettuce cluster client of its own (separate connections from any
 * {@code CacheClient}), set up the way client-lib sets up its own — same seeds, command and
 * connect timeouts, periodic and adaptive topology refresh — so the two differ only in what
 * client-lib does on top of {@code GET}.
 */
final class RawRedis implements AutoCloseable {
  private final RedisClusterClient client;
  private final StatefulRedisClusterConnection<byte[], byte[]> connection;

  // enableAllAdaptiveRefreshTriggers is deprecated in Lettuce 7.7; client-lib's RedisLink uses it,
  // and the baseline must be set up the same way
  @SuppressWarnings("deprecation")
  RawRedis(CacheClientConfig config) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String node : config.redis().nodes()) {
      int colon = node.lastIndexOf(':');
      RedisURI.Builder b = RedisURI.builder().withHost(node.substring(0, colon))
          .withPort(Integer.parseInt(node.substring(colon + 1))).withSsl(config.redis().tls())
          .withTimeout(config.redis().commandTimeout());
      if (config.redis().password() != null) {
        b.withPassword(config.redis().password().toCharArray());
      }
      seeds.add(b.build());
    }
    client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(config.redis().topologyRefresh())
            .enableAllAdaptiveRefreshTriggers()
            .build())
        .socketOptions(SocketOptions.builder().connectTimeout(config.redis().connectTimeout()).build())
        .timeoutOptions(TimeoutOptions.enabled(config.redis().commandTimeout()))
        .build());
    connection = connectWithRetry(client, Duration.ofSeconds(30));
    connection.setTimeout(config.redis().commandTimeout());
  }

  /** The stack is shared: another engineer's test may be restarting a node right now. */
  private static StatefulRedisClusterConnection<byte[], byte[]> connectWithRetry(RedisClusterClient client,
      Duration patience) {
    long deadline = System.nanoTime() + patience.toNanos();
    while (true) {
      try {
        return client.connect(ByteArrayCodec.INSTANCE);
      } catch (RedisException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      }
    }
  }

  StatefulRedisClusterConnection<byte[], byte[]> connection() {
    return connection;
  }

  /**
   * @return the cluster's current epoch as a node reports it, or -1; it rises with every failover,
   *     so a change during a benchmark says that someone failed over a shard meanwhile
   */
  long clusterEpoch() {
    try {
      for (String line : connection.sync().clusterInfo().split("\r?\n")) {
        if (line.startsWith("cluster_current_epoch:")) {
          return Long.parseLong(line.substring("cluster_current_epoch:".length()).trim());
        }
      }
    } catch (RuntimeException e) {
      // unknown
    }
    return -1;
  }

  /** @return the Redis version of the node that answers {@code INFO server}, or "?" */
  String redisVersion() {
    try {
      for (String line : connection.sync().info("server").split("\r?\n")) {
        if (line.startsWith("redis_version:")) {
          return line.substring("redis_version:".length()).trim();
        }
      }
    } catch (RuntimeException e) {
      // reported as unknown
    }
    return "?";
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
