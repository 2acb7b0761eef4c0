package io.freshcache.writer.internal;

import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Test support: a Redis Cluster client of the plain dev stack for tests that inspect or set up
 * keys directly (the writer itself connects through RedisTopology).
 *
 * The settings are the ones measured
 * to matter on failover: an explicit command timeout (Lettuce's default is 60 s), a connect
 * timeout, periodic topology refresh every second and every adaptive trigger, which together let
 * a worker reach the promoted replica about 3 s after a master dies instead of 9-10 s.
 */
public final class ClusterClients {
  private ClusterClients() {}

  /**
   * @param nodes seed nodes as {@code host:port}
   * @param password the password, or {@code null}
   * @param timeout command timeout
   * @return a client; the caller shuts it down
   */
  public static RedisClusterClient create(List<String> nodes, String password, Duration timeout) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String n : nodes) {
      int colon = n.lastIndexOf(':');
      RedisURI.Builder b = RedisURI.builder().withHost(n.substring(0, colon))
          .withPort(Integer.parseInt(n.substring(colon + 1))).withTimeout(timeout);
      if (password != null) {
        b.withPassword(password.toCharArray());
      }
      seeds.add(b.build());
    }
    RedisClusterClient client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(Duration.ofSeconds(1))
            .enableAllAdaptiveRefreshTriggers()
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
            .build())
        .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).build())
        .timeoutOptions(TimeoutOptions.enabled(timeout))
        .build());
    return client;
  }
}
