package io.freshcache.spring.boot.autoconfigure;

import java.util.Optional;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.util.ClassUtils;

/**
 * Beans of libraries the application may or may not have: looked up by class name, so this
 * module links without them.
 */
final class OptionalBeans {
  private static final String OBJECT_MAPPER = "com.fasterxml.jackson.databind.ObjectMapper";
  private static final String BREAKER_REGISTRY = "io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry";

  private OptionalBeans() {}

  /**
   * @return the application's Jackson 2 {@code ObjectMapper} bean, if it has exactly one (Boot 4
   *     makes one only with {@code spring-boot-jackson2}; its default Jackson 3 {@code JsonMapper}
   *     is not used: the codecs are Jackson 2)
   */
  static Optional<com.fasterxml.jackson.databind.ObjectMapper> jackson2Mapper(BeanFactory beans) {
    if (!ClassUtils.isPresent(OBJECT_MAPPER, OptionalBeans.class.getClassLoader())) {
      return Optional.empty();
    }
    return Optional.ofNullable(beans.getBeanProvider(com.fasterxml.jackson.databind.ObjectMapper.class).getIfUnique());
  }

  /** @return the application's resilience4j {@code CircuitBreakerRegistry} bean, if it has exactly one */
  static Optional<io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry> breakerRegistry(BeanFactory beans) {
    if (!ClassUtils.isPresent(BREAKER_REGISTRY, OptionalBeans.class.getClassLoader())) {
      return Optional.empty();
    }
    return Optional.ofNullable(
        beans.getBeanProvider(io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry.class).getIfUnique());
  }
}
