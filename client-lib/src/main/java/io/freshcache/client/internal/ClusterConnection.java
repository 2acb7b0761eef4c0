package io.freshcache.client.internal;

import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CacheUnavailableException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One Lettuce cluster client and connection with the settings measured to matter on failover:
 * an explicit command timeout (Lettuce's default is 60 s), a connect timeout, periodic topology
 * refresh and every adaptive refresh trigger (without them recovery after a master failure takes
 * twice as long).
 */
public final class ClusterConnection implements AutoCloseable {
  private final RedisClusterClient client;
  private final StatefulRedisClusterConnection<byte[], byte[]> connection;

  private ClusterConnection(RedisClusterClient client, StatefulRedisClusterConnection<byte[], byte[]> connection) {
    this.client = client;
    this.connection = connection;
  }

  /**
   * Connects to the cluster described by {@code config}.
   *
   * @throws CacheUnavailableException if no seed node answers
   */
  public static ClusterConnection open(CacheClientConfig config) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String node : config.redisNodes()) {
      int colon = node.lastIndexOf(':');
      RedisURI.Builder b = RedisURI.builder()
          .withHost(node.substring(0, colon))
          .withPort(Integer.parseInt(node.substring(colon + 1)))
          .withSsl(config.tls())
          .withTimeout(config.commandTimeout());
      if (config.redisPassword() != null) {
        b.withPassword(config.redisPassword().toCharArray());
      }
      seeds.add(b.build());
    }
    RedisClusterClient client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(config.topologyRefreshPeriod())
            .enableAllAdaptiveRefreshTriggers()
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
            .build())
        .socketOptions(SocketOptions.builder().connectTimeout(config.connectTimeout()).build())
        .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
        .build());
    try {
      StatefulRedisClusterConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE);
      c.setTimeout(config.commandTimeout());
      return new ClusterConnection(client, c);
    } catch (RedisException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw new CacheUnavailableException(null, "cannot connect to Redis Cluster at "
          + config.redisNodes() + ": " + e.getMessage(), e);
    }
  }

  /** @return the sync command API of the connection */
  public RedisAdvancedClusterCommands<byte[], byte[]> sync() {
    return connection.sync();
  }

  /** @return the underlying connection */
  public StatefulRedisClusterConnection<byte[], byte[]> connection() {
    return connection;
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
