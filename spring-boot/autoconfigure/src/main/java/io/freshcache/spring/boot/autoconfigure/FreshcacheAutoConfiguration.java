package io.freshcache.spring.boot.autoconfigure;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.spring.cache.FreshcacheCacheManager;
import io.freshcache.spring.cache.FreshcacheCachingConfigurer;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.CachingConfigurer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Auto-configuration of freshcache for Spring Boot: binds {@code freshcache.*} (see
 * {@link FreshcacheProperties}) into the client's config builders, creates one
 * {@link CacheClient} (closed with the context) with the application's {@link MeterRegistry},
 * Jackson 2 {@code ObjectMapper} and resilience4j {@code CircuitBreakerRegistry} when they are
 * beans, a Spring Cache {@link CacheManager} over it, and Actuator health and info.
 *
 * <p>Works on Spring Boot 4.0 and 3.5: everything here uses API that both have in the same
 * packages, except the health indicator, which is Boot 4's here and Boot 3's in
 * {@code freshcache-spring-boot3-autoconfigure} (both in the starter).
 *
 * <p>Every bean backs off when the application defines its own of that type.
 */
@AutoConfiguration(
    // the app's MeterRegistry, ObjectMapper and breaker registry are looked up lazily; the cache
    // manager must be there before Boot's cache auto-configuration picks a provider. By name, each
    // with its Boot 4 and its Boot 3.5 class (Boot 4 moved them; an absent name is ignored).
    beforeName = {
        "org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration",
        "org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration"},
    afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.jackson2.autoconfigure.Jackson2AutoConfiguration",
        "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration"})
@EnableConfigurationProperties(FreshcacheProperties.class)
public class FreshcacheAutoConfiguration {

  /** The policies of {@code freshcache.policies}, by name. */
  public record Policies(Map<String, CachePolicy> byName) {}

  @Bean
  @ConditionalOnMissingBean
  Policies freshcachePolicies(FreshcacheProperties props) {
    return new Policies(FreshcacheConfigs.policies(props));
  }

  @Bean
  @ConditionalOnMissingBean
  CacheClientConfig freshcacheClientConfig(FreshcacheProperties props, Policies policies, Environment env) {
    return FreshcacheConfigs.client(props, policies.byName(), env);
  }

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  CacheClient freshcacheClient(CacheClientConfig config, ObjectProvider<MeterRegistry> meterRegistry,
      org.springframework.beans.factory.BeanFactory beans) {
    CacheClient.Builder b = CacheClient.builder(config);
    meterRegistry.ifUnique(b::meterRegistry);
    OptionalBeans.jackson2Mapper(beans).ifPresent(b::jsonMapper);
    OptionalBeans.breakerRegistry(beans).ifPresent(b::circuitBreakerRegistry);
    return b.build();
  }

  /** The Spring Cache integration. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(CacheManager.class)
  @ConditionalOnProperty(prefix = "freshcache.cache", name = "enabled", matchIfMissing = true)
  static class CacheConfiguration {
    @Bean
    @ConditionalOnMissingBean(CacheManager.class)
    FreshcacheCacheManager cacheManager(CacheClient client, FreshcacheProperties props, Policies policies,
        CacheClientConfig config, Environment env) {
      Map<String, FreshcacheCacheManager.Spec> specs = new LinkedHashMap<>();
      props.getCache().getCaches().forEach((name, s) -> {
        CachePolicy p = null;
        if (s.getPolicy() != null) {
          p = policies.byName().get(s.getPolicy());
          if (p == null) {
            throw new io.freshcache.protocol.config.ConfigException("freshcache.cache.caches." + name
                + ".policy is '" + s.getPolicy() + "' but freshcache.policies has only " + policies.byName().keySet());
          }
        }
        specs.put(name, new FreshcacheCacheManager.Spec(s.getKeyPrefix(), p, s.getValueType(), s.getVersionProperty()));
      });
      String service = props.getCache().getService();
      if (service == null) {
        service = env.getProperty("spring.application.name", "app").toLowerCase(java.util.Locale.ROOT)
            .replaceAll("[^a-z0-9_-]", "-");
      }
      return new FreshcacheCacheManager(client, specs, config.defaultPolicy(), service,
          props.getCache().isAllowNullValues());
    }

    @Bean
    @ConditionalOnMissingBean(CachingConfigurer.class)
    @ConditionalOnBean(FreshcacheCacheManager.class)
    FreshcacheCachingConfigurer freshcacheCachingConfigurer(FreshcacheCacheManager cacheManager) {
      return new FreshcacheCachingConfigurer(cacheManager);
    }
  }

  /**
   * Actuator health on Boot 4: present when spring-boot-health is. (Boot 3.5 has its health API
   * in spring-boot-actuator, org.springframework.boot.actuate.health: freshcache-spring-boot3-autoconfigure
   * registers the indicator there.)
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
  @ConditionalOnProperty(prefix = "management.health.freshcache", name = "enabled", matchIfMissing = true)
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "freshcacheHealthIndicator")
    FreshcacheHealthIndicator freshcacheHealthIndicator(CacheClient client) {
      return new FreshcacheHealthIndicator(client);
    }
  }

  /** Actuator endpoint and info: present when spring-boot-actuator is. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
  static class EndpointConfiguration {
    @Bean
    @ConditionalOnMissingBean
    FreshcacheEndpoint freshcacheEndpoint(CacheClient client) {
      return new FreshcacheEndpoint(client);
    }
  }
}
