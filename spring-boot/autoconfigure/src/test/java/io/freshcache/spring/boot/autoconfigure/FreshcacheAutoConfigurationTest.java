package io.freshcache.spring.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.spring.cache.FreshcacheCache;
import io.freshcache.spring.cache.FreshcacheCacheManager;
import io.freshcache.spring.cache.FreshcacheCachingConfigurer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.mock.env.MockEnvironment;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;

/**
 * Binding and bean wiring, no server needed: the clients point at a closed port (they connect in
 * the background and do not fail the start).
 */
class FreshcacheAutoConfigurationTest {
  static final String NOWHERE = "127.0.0.1:1";

  final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(FreshcacheAutoConfiguration.class));

  /** Binds {@code props} as Boot would and builds the client config from them. */
  static CacheClientConfig bind(String... props) {
    MockEnvironment env = new MockEnvironment();
    for (String p : props) {
      int eq = p.indexOf('=');
      env.setProperty(p.substring(0, eq), p.substring(eq + 1));
    }
    FreshcacheProperties fp = Binder.get(env).bind("freshcache", FreshcacheProperties.class)
        .orElseGet(FreshcacheProperties::new);
    return FreshcacheConfigs.client(fp, FreshcacheConfigs.policies(fp), env);
  }

  static String failure(String... props) {
    return assertThatThrownBy(() -> bind(props)).isInstanceOf(IllegalArgumentException.class)
        .actual().getMessage();
  }

  @Test
  void bindsEveryClientSettingIntoTheBuilders() {
    CacheClientConfig c = bind(
        "freshcache.client.redis.mode=sentinel",
        "freshcache.client.redis.nodes=127.0.0.1:1,127.0.0.1:2",
        "freshcache.client.redis.sentinel.master=mymaster",
        "freshcache.client.redis.sentinel.password=s3ntinel",
        "freshcache.client.redis.username=app",
        "freshcache.client.redis.password=p4ss",
        "freshcache.client.redis.tls.enabled=true",
        "freshcache.client.redis.tls.ca-file=/etc/ca.pem",
        "freshcache.client.redis.tls.cert-file=/etc/client.pem",
        "freshcache.client.redis.tls.key-file=/etc/client.key",
        "freshcache.client.redis.tls.verify-hostname=false",
        "freshcache.client.redis.command-timeout=750ms",
        "freshcache.client.redis.connect-timeout=2s",
        "freshcache.client.redis.topology-refresh=5s",
        "freshcache.client.redis.read-from=lowest-latency",
        "freshcache.client.redis.fail-fast=false",
        "freshcache.client.breaker.threshold=12.5",
        "freshcache.client.breaker.timeout=30s",
        "freshcache.client.breaker.slow-call-threshold=400ms",
        "freshcache.client.loader.rate-limit=50",
        "freshcache.client.loader.rate-limit-wait=0",
        "freshcache.client.loader.threads=3",
        "freshcache.client.near-cache.max-entries=123",
        "freshcache.client.near-cache.notice-check=2s",
        "freshcache.client.near-cache.sample-per-second=7",
        "freshcache.client.near-cache.sample-delay=3s",
        "freshcache.client.near-cache.sample-windows=30s,2m",
        "freshcache.client.replica-acks=0",
        "freshcache.client.default-policy=catalog",
        "freshcache.client.publishing.bootstrap-servers=127.0.0.1:9092",
        "freshcache.client.publishing.topic=my.writes",
        "freshcache.client.publishing.properties[security.protocol]=SASL_SSL",
        "freshcache.client.publishing.properties[sasl.jaas.config]=secret-jaas",
        "freshcache.policies.catalog.ttl=10m",
        "freshcache.policies.catalog.jitter=0.1",
        "freshcache.policies.catalog.schema-version=3",
        "freshcache.policies.catalog.codec=cbor",
        "freshcache.policies.catalog.negative-ttl=30s",
        "freshcache.policies.catalog.near-cache=true",
        "freshcache.policies.catalog.replica-reads=true");
    {
      {
          RedisConnectionConfig r = c.redis();
          assertThat(r.mode()).isEqualTo(RedisConnectionConfig.Mode.SENTINEL);
          assertThat(r.nodes()).containsExactly("127.0.0.1:1", "127.0.0.1:2");
          assertThat(r.sentinelMaster()).isEqualTo("mymaster");
          assertThat(r.sentinelPassword()).isEqualTo("s3ntinel");
          assertThat(r.username()).isEqualTo("app");
          assertThat(r.password()).isEqualTo("p4ss");
          assertThat(r.tls()).isTrue();
          assertThat(r.tlsCaFile()).isEqualTo(Path.of("/etc/ca.pem"));
          assertThat(r.tlsCertFile()).isEqualTo(Path.of("/etc/client.pem"));
          assertThat(r.tlsKeyFile()).isEqualTo(Path.of("/etc/client.key"));
          assertThat(r.tlsVerifyHostname()).isFalse();
          assertThat(r.commandTimeout()).isEqualTo(Duration.ofMillis(750));
          assertThat(r.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
          assertThat(r.topologyRefresh()).isEqualTo(Duration.ofSeconds(5));
          assertThat(r.readFrom()).isEqualTo(RedisConnectionConfig.ReadFrom.LOWEST_LATENCY);
          assertThat(c.circuitBreakerThreshold()).isEqualTo(12.5);
          assertThat(c.circuitBreakerTimeout()).isEqualTo(Duration.ofSeconds(30));
          assertThat(c.slowCallThreshold()).isEqualTo(Duration.ofMillis(400));
          assertThat(c.loaderRateLimit()).isEqualTo(50);
          assertThat(c.loaderRateLimitWait()).isEqualTo(Duration.ZERO);
          assertThat(c.loaderThreads()).isEqualTo(3);
          assertThat(c.nearCacheMaxEntries()).isEqualTo(123);
          assertThat(c.nearCacheNoticeCheck()).isEqualTo(Duration.ofSeconds(2));
          assertThat(c.nearCacheSamplePerSecond()).isEqualTo(7);
          assertThat(c.nearCacheSampleDelay()).isEqualTo(Duration.ofSeconds(3));
          assertThat(c.nearCacheSampleWindows()).containsExactly(Duration.ofSeconds(30), Duration.ofMinutes(2));
          assertThat(c.replicaAcks()).isZero();
          assertThat(c.writesTopic()).isEqualTo("my.writes");
          assertThat(c.kafka().bootstrapServers()).isEqualTo("127.0.0.1:9092");
          assertThat(c.kafka().properties()).containsEntry("security.protocol", "SASL_SSL")
              .containsEntry("sasl.jaas.config", "secret-jaas");
          assertThat(c.defaultPolicy().name()).isEqualTo("catalog");
          assertThat(c.defaultPolicy().ttl()).isEqualTo(Duration.ofMinutes(10));
          assertThat(c.defaultPolicy().schemaVersion()).isEqualTo(3);
          assertThat(c.defaultPolicy().codec()).isEqualTo("cbor");
          assertThat(c.defaultPolicy().negativeTtl()).isEqualTo(Duration.ofSeconds(30));
          assertThat(c.defaultPolicy().nearCache()).isTrue();
          assertThat(c.defaultPolicy().replicaReads()).isTrue();
          assertThat(c.toString()).doesNotContain("p4ss", "s3ntinel", "secret-jaas");
      }
    }
  }

  @Test
  void theConnectionFallsBackToSpringDataRedis() {
    RedisConnectionConfig c = bind("spring.data.redis.cluster.nodes=10.0.0.1:7000,10.0.0.2:7000",
        "spring.data.redis.username=app", "spring.data.redis.password=pw", "spring.data.redis.ssl.enabled=true",
        "spring.data.redis.timeout=3s", "spring.data.redis.connect-timeout=4s").redis();
    assertThat(c.mode()).isEqualTo(RedisConnectionConfig.Mode.CLUSTER);
    assertThat(c.nodes()).containsExactly("10.0.0.1:7000", "10.0.0.2:7000");
    assertThat(c.username()).isEqualTo("app");
    assertThat(c.password()).isEqualTo("pw");
    assertThat(c.tls()).isTrue();
    assertThat(c.commandTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(4));

    c = bind("spring.data.redis.sentinel.master=mymaster",
        "spring.data.redis.sentinel.nodes=10.0.0.1:26379,10.0.0.2:26379").redis();
    assertThat(c.mode()).isEqualTo(RedisConnectionConfig.Mode.SENTINEL);
    assertThat(c.sentinelMaster()).isEqualTo("mymaster");
    assertThat(c.nodes()).containsExactly("10.0.0.1:26379", "10.0.0.2:26379");

    c = bind("spring.data.redis.url=rediss://app:pw@cache.internal:6380").redis();
    assertThat(c.mode()).isEqualTo(RedisConnectionConfig.Mode.STANDALONE);
    assertThat(c.nodes()).containsExactly("cache.internal:6380");
    assertThat(c.tls()).isTrue();
    assertThat(c.username()).isEqualTo("app");
    assertThat(c.password()).isEqualTo("pw");

    assertThat(bind("spring.data.redis.host=cache.internal").redis().nodes()).containsExactly("cache.internal:6379");

    // an SSL bundle turns TLS on (its trust material is not read: freshcache's own CA setting is)
    c = bind("spring.data.redis.host=cache.internal", "spring.data.redis.ssl.bundle=redis",
        "freshcache.client.redis.tls.ca-file=/etc/ca.pem").redis();
    assertThat(c.tls()).isTrue();
    assertThat(bind("spring.data.redis.host=cache.internal", "spring.data.redis.ssl.bundle=redis",
        "freshcache.client.redis.tls.enabled=false").redis().tls()).as("freshcache's own setting wins").isFalse();

    // freshcache's own nodes win, and spring.data.redis is then ignored
    c = bind("spring.data.redis.cluster.nodes=10.0.0.1:7000", "spring.data.redis.password=spring",
        "freshcache.client.redis.nodes=127.0.0.1:7000").redis();
    assertThat(c.nodes()).containsExactly("127.0.0.1:7000");
    assertThat(c.password()).isNull();
  }

  @Test
  void badSettingsFailTheStartNamingThePropertyAndValue() {
    assertThat(failure("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.client.redis.mode=clustr"))
        .contains("freshcache.client.redis.mode").contains("clustr");
    assertThat(failure()).contains("freshcache.client.redis.nodes").contains("spring.data.redis");
    assertThat(failure("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.policies.p.jitter=2"))
        .contains("freshcache.policies.p").contains("jitter");
    assertThat(failure("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.client.default-policy=nope"))
        .contains("freshcache.client.default-policy").contains("nope");
    assertThat(failure("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.client.redis.password=hunter2",
        "freshcache.client.redis.username= ")).doesNotContain("hunter2");
    // and in a context, the start fails with it
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.client.redis.mode=clustr")
        .run(ctx -> assertThat(ctx).getFailure().rootCause().hasMessageContaining("freshcache.client.redis.mode"));
  }

  @Test
  void oneClientWithTheApplicationsMeterRegistryAndACacheManagerAndHealthOutsideReadiness() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    runner.withBean(MeterRegistry.class, () -> registry)
        .withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.client.redis.connect-timeout=100ms",
            "freshcache.policies.catalog.ttl=1h",
            "freshcache.cache.caches.products.key-prefix=catalog:product",
            "freshcache.cache.caches.products.policy=catalog",
            "spring.application.name=Demo App")
        .run(ctx -> {
          assertThat(ctx).hasNotFailed().hasSingleBean(CacheClient.class);
          CacheClient client = ctx.getBean(CacheClient.class);
          assertThat(client.meters()).isSameAs(registry);
          assertThat(registry.find("cache.near.size").gauge()).isNotNull();
          FreshcacheCacheManager m = (FreshcacheCacheManager) ctx.getBean(CacheManager.class);
          FreshcacheCache products = m.getCache("products");
          assertThat(products.keyOf(42L)).isEqualTo("catalog:product:42");
          assertThat(products.policy().name()).isEqualTo("catalog");
          assertThat(m.getCache("orders").keyOf("a b")).isEqualTo("demo-app:orders:a%20b");
          assertThat(ctx).hasSingleBean(FreshcacheCachingConfigurer.class);
          // Redis is unreachable: health is DOWN, with the reason, and not an exception
          assertThat(ctx.getBean(FreshcacheHealthIndicator.class).health(true).getStatus()).isEqualTo(Status.DOWN);
          assertThat(ctx.getBean(FreshcacheEndpoint.class).state()).containsKeys("circuit", "breakers",
              "nearCacheSize", "noticeGaps");
        });
  }

  @Test
  void backsOffForTheApplicationsOwnCacheManagerAndWhenDisabled() {
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE)
        .withBean(CacheManager.class, ConcurrentMapCacheManager::new)
        .run(ctx -> assertThat(ctx).hasSingleBean(CacheManager.class)
            .getBean(CacheManager.class).isInstanceOf(ConcurrentMapCacheManager.class));
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE, "freshcache.cache.enabled=false",
        "management.health.freshcache.enabled=false")
        .run(ctx -> assertThat(ctx).doesNotHaveBean(CacheManager.class).doesNotHaveBean(FreshcacheHealthIndicator.class)
            .hasSingleBean(CacheClient.class));
  }
}
