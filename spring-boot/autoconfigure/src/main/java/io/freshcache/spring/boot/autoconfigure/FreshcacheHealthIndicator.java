package io.freshcache.spring.boot.autoconfigure;

import io.freshcache.client.CacheClient;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * {@code /actuator/health/freshcache}: UP while a Redis node answers {@code PING} and no master's
 * breaker is open, DOWN otherwise, with the breakers' states as details ({@link FreshcacheHealthCheck}).
 * This is Spring Boot 4's health API; on Boot 3.5 the same check is registered by
 * {@code freshcache-spring-boot3-autoconfigure}.
 *
 * <p>It is deliberately not in the {@code readiness} group (Boot's readiness group holds only
 * {@code readinessState} unless configured): with Redis down, freshcache reads go to the loader,
 * so a cache outage must not take the instance out of service. Add it to a group yourself
 * ({@code management.endpoint.health.group.readiness.include=readinessState,freshcache}) only if
 * you want that.
 */
public class FreshcacheHealthIndicator extends AbstractHealthIndicator {
  private final CacheClient client;

  /** @param client the client */
  public FreshcacheHealthIndicator(CacheClient client) {
    super(FreshcacheHealthCheck.FAILURE_MESSAGE);
    this.client = client;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    FreshcacheHealthCheck check = FreshcacheHealthCheck.of(client);
    (check.up() ? builder.up() : builder.down()).withDetails(check.details());
  }
}
