package io.freshcache.bench;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.File;
import java.util.Map;

/** Reads the ACL LOG of dev/stack's TLS cluster (redis-tls) as its admin user. */
final class TopologyAcl {
  private TopologyAcl() {}

  /**
   * @param user an ACL user
   * @return the denials (command, key or channel) ACL LOG holds for {@code user}, summed over
   *     the TLS cluster's nodes
   */
  static long denials(String user) {
    RedisClient raw = RedisClient.create();
    raw.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder()
        .trustManager(new File(DeploymentsEndToEndIT.env("FRESHCACHE_TLS_CA_FILE"))).build()).build());
    long n = 0;
    try {
      for (String node : DeploymentsEndToEndIT.env("FRESHCACHE_REDIS_TLS_NODES").split(",")) {
        String[] hp = node.trim().split(":");
        RedisURI uri = RedisURI.builder().withHost(hp[0]).withPort(Integer.parseInt(hp[1])).withSsl(true)
            .withAuthentication(DeploymentsEndToEndIT.env("FRESHCACHE_REDIS_ADMIN_USER"),
                DeploymentsEndToEndIT.env("FRESHCACHE_REDIS_ADMIN_PASSWORD"))
            .build();
        try (StatefulRedisConnection<String, String> c = raw.connect(uri)) {
          for (Object entry : c.sync().aclLog()) {
            if (entry instanceof Map<?, ?> m && user.equals(m.get("username"))) {
              n += m.get("count") instanceof Number num ? num.longValue() : 1;
            }
          }
        }
      }
    } finally {
      raw.shutdown();
    }
    return n;
  }
}
