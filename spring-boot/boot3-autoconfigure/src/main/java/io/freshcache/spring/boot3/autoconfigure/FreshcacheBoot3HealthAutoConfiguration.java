package io.freshcache.spring.boot3.autoconfigure;

import io.freshcache.client.CacheClient;
import io.freshcache.spring.boot.autoconfigure.FreshcacheAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * Actuator health of freshcache on Spring Boot 3.5, whose health API is
 * {@code org.springframework.boot.actuate.health} in spring-boot-actuator (Boot 4 moved it to
 * spring-boot-health, where {@link FreshcacheAutoConfiguration} registers the Boot 4 indicator).
 * Present when that package is, so it does nothing on Boot 4; like the Boot 4 one, the bean is
 * {@code freshcacheHealthIndicator} (health component {@code freshcache}), turned off with
 * {@code management.health.freshcache.enabled=false}, and backs off for a bean of that name.
 */
@AutoConfiguration(after = FreshcacheAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.actuate.health.AbstractHealthIndicator")
@ConditionalOnBean(CacheClient.class)
@ConditionalOnProperty(prefix = "management.health.freshcache", name = "enabled", matchIfMissing = true)
public class FreshcacheBoot3HealthAutoConfiguration {
  /** Made by Boot. */
  public FreshcacheBoot3HealthAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(name = "freshcacheHealthIndicator")
  FreshcacheBoot3HealthIndicator freshcacheHealthIndicator(CacheClient client) {
    return new FreshcacheBoot3HealthIndicator(client);
  }
}
