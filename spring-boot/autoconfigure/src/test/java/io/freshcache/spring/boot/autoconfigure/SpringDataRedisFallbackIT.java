package io.freshcache.spring.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.config.RedisConnectionConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;

/**
 * An application that configures Redis only the Spring way ({@code spring.data.redis.*}, no
 * {@code freshcache.client.redis.nodes}) gets a client on that Redis: Sentinel, a TLS Redis
 * Cluster with ACL users, and a standalone server by URL, each the dev stack's optional component
 * ({@code dev/stack up} with them, as {@code dev/test} does). Two application contexts per case:
 * the second one's first read is a hit on what the first one's loader stored, so both really used
 * the one Redis named by the Spring properties.
 */
class SpringDataRedisFallbackIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  @Configuration(proxyBeanMethods = false)
  @ImportAutoConfiguration(FreshcacheAutoConfiguration.class)
  static class App {}

  static String env(String name) {
    String v = System.getenv(name);
    assumeTrue(v != null && !v.isBlank(), name + " is unset: run with the dev stack's optional components (eval \"$(dev/stack env)\")");
    return v;
  }

  static ConfigurableApplicationContext start(List<String> props) {
    List<String> all = new ArrayList<>(props);
    all.add("freshcache.client.redis.command-timeout=5s");
    all.add("freshcache.client.breaker.slow-call-threshold=5s");
    return new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).properties(all.toArray(String[]::new)).run();
  }

  /** Two instances: the first loads, the second hits; @return the first one's Redis settings */
  static RedisConnectionConfig loadOnOneHitOnTheOther(List<String> props, String key) {
    AtomicInteger loads = new AtomicInteger();
    try (ConfigurableApplicationContext a = start(props); ConfigurableApplicationContext b = start(props)) {
      CacheClient ca = a.getBean(CacheClient.class);
      CacheClient cb = b.getBean(CacheClient.class);
      assertThat(ca.getOrLoad(key, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return "from-db";
      })).isEqualTo("from-db");
      assertThat(cb.getOrLoad(key, String.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return "loaded again";
      })).as("the second instance reads what the first stored").isEqualTo("from-db");
      assertThat(loads).hasValue(1);
      return a.getBean(io.freshcache.client.CacheClientConfig.class).redis();
    }
  }

  @Test
  void sentinelFromSpringDataRedis() {
    String sentinels = env("FRESHCACHE_REDIS_SENTINELS");
    String master = env("FRESHCACHE_REDIS_SENTINEL_MASTER");
    RedisConnectionConfig r = loadOnOneHitOnTheOther(List.of(
        "spring.data.redis.sentinel.master=" + master,
        "spring.data.redis.sentinel.nodes=" + sentinels), "it:spring-sentinel:" + RUN);
    assertThat(r.mode()).isEqualTo(RedisConnectionConfig.Mode.SENTINEL);
    assertThat(r.sentinelMaster()).isEqualTo(master);
  }

  @Test
  void tlsClusterWithAclUserFromSpringDataRedis() {
    String nodes = env("FRESHCACHE_REDIS_TLS_NODES");
    RedisConnectionConfig r = loadOnOneHitOnTheOther(List.of(
        "spring.data.redis.cluster.nodes=" + nodes,
        "spring.data.redis.username=" + env("FRESHCACHE_REDIS_CLIENT_USER"),
        "spring.data.redis.password=" + env("FRESHCACHE_REDIS_CLIENT_PASSWORD"),
        "spring.data.redis.ssl.enabled=true",
        // Spring's SSL bundles are not read: the CA comes from freshcache's own setting
        "freshcache.client.redis.tls.ca-file=" + env("FRESHCACHE_TLS_CA_FILE")), "it:spring-tls:" + RUN);
    assertThat(r.mode()).isEqualTo(RedisConnectionConfig.Mode.CLUSTER);
    assertThat(r.tls()).isTrue();
    assertThat(r.username()).isEqualTo(System.getenv("FRESHCACHE_REDIS_CLIENT_USER"));
  }

  @Test
  void standaloneByUrlFromSpringDataRedis() {
    String node = env("FRESHCACHE_REDIS_STANDALONE_NODE");
    RedisConnectionConfig r = loadOnOneHitOnTheOther(List.of("spring.data.redis.url=redis://" + node),
        "it:spring-standalone:" + RUN);
    assertThat(r.mode()).isEqualTo(RedisConnectionConfig.Mode.STANDALONE);
    assertThat(r.nodes()).containsExactly(node);
  }
}
