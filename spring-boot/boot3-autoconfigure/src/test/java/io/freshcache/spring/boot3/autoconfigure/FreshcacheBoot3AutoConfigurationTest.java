package io.freshcache.spring.boot3.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.client.CacheClient;
import io.freshcache.spring.boot.autoconfigure.FreshcacheAutoConfiguration;
import io.freshcache.spring.cache.FreshcacheCacheManager;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.SpringVersion;
import org.springframework.util.ClassUtils;

/**
 * The auto-configuration (compiled against Boot 4 and Framework 7) on Spring Boot 3.5 and
 * Framework 6.2, no server needed: the client points at a closed port (it connects in the
 * background and does not fail the start).
 */
class FreshcacheBoot3AutoConfigurationTest {
  static final String NOWHERE = "127.0.0.1:1";

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class App {}

  final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(FreshcacheAutoConfiguration.class,
          FreshcacheBoot3HealthAutoConfiguration.class, CacheAutoConfiguration.class,
          HealthContributorAutoConfiguration.class, HealthEndpointAutoConfiguration.class))
      .withUserConfiguration(App.class);

  @Test
  void thisTestRunsOnBoot35AndFramework62() {
    assertThat(SpringBootVersion.getVersion()).startsWith("3.5.");
    assertThat(SpringVersion.getVersion()).startsWith("6.2.");
    // Boot 4's health API is absent here, so the Boot 4 indicator's configuration must back off
    assertThat(ClassUtils.isPresent("org.springframework.boot.health.contributor.HealthIndicator", null)).isFalse();
  }

  @Test
  void theOrderingNamesTheBoot35ClassesToo() {
    AutoConfiguration a = FreshcacheAutoConfiguration.class.getAnnotation(AutoConfiguration.class);
    // the names that exist on Boot 3.5's classpath: the cache auto-configuration to run before,
    // the meter registry and Jackson ones to run after
    assertThat(present(a.beforeName())).containsExactly(CacheAutoConfiguration.class.getName());
    assertThat(present(a.afterName())).containsExactlyInAnyOrder(
        "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration");
  }

  static List<String> present(String[] names) {
    return Arrays.stream(names).filter(n -> ClassUtils.isPresent(n, null)).toList();
  }

  @Test
  void theCacheManagerAndTheBoot3HealthIndicatorAndDownWithoutRedis() {
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE,
            "freshcache.client.redis.connect-timeout=100ms")
        .run(ctx -> {
          assertThat(ctx).hasNotFailed().hasSingleBean(CacheClient.class);
          assertThat(ctx.getBean(CacheManager.class)).isInstanceOf(FreshcacheCacheManager.class);
          // one indicator of freshcache, under the name that makes the health component "freshcache"
          assertThat(ctx.getBeansOfType(FreshcacheBoot3HealthIndicator.class)).containsOnlyKeys("freshcacheHealthIndicator");
          assertThat(ctx.getBeansOfType(HealthIndicator.class)).containsKey("freshcacheHealthIndicator");
          FreshcacheBoot3HealthIndicator health = ctx.getBean(FreshcacheBoot3HealthIndicator.class);
          // Redis is unreachable: DOWN, with the same details as on Boot 4, not an exception
          var h = health.getHealth(true);
          assertThat(h.getStatus()).isEqualTo(Status.DOWN);
          assertThat(h.getDetails()).containsEntry("ping", false).containsKeys("circuit", "breakers");
          assertThat(h.getDetails().keySet()).containsExactly("ping", "circuit", "breakers");
        });
  }

  @Test
  void backsOffForTheApplicationsOwnCacheManagerAndWhenDisabled() {
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE)
        .withBean(CacheManager.class, ConcurrentMapCacheManager::new)
        .run(ctx -> assertThat(ctx).hasSingleBean(CacheManager.class)
            .getBean(CacheManager.class).isInstanceOf(ConcurrentMapCacheManager.class));
    runner.withPropertyValues("freshcache.client.redis.nodes=" + NOWHERE, "management.health.freshcache.enabled=false")
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(FreshcacheBoot3HealthIndicator.class)
            .hasSingleBean(CacheClient.class));
    // without the client (the application made none and freshcache's auto-configuration is off)
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(FreshcacheBoot3HealthAutoConfiguration.class))
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(FreshcacheBoot3HealthIndicator.class));
  }
}
