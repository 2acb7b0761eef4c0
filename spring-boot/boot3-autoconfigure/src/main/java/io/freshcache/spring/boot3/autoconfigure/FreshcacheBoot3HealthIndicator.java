package io.freshcache.spring.boot3.autoconfigure;

import io.freshcache.client.CacheClient;
import io.freshcache.spring.boot.autoconfigure.FreshcacheHealthCheck;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@code /actuator/health/freshcache} on Spring Boot 3.5: the same check, status and details as
 * {@code FreshcacheHealthIndicator} on Boot 4 ({@link FreshcacheHealthCheck}): UP while a Redis
 * node answers {@code PING} and no master's breaker is open, DOWN otherwise, with {@code ping},
 * {@code circuit} and {@code breakers} as details.
 *
 * <p>Not in the {@code readiness} group, as on Boot 4: with Redis down, freshcache reads go to the
 * loader, so a cache outage must not take the instance out of service.
 */
public class FreshcacheBoot3HealthIndicator extends AbstractHealthIndicator {
  private final CacheClient client;

  /** @param client the client */
  public FreshcacheBoot3HealthIndicator(CacheClient client) {
    super(FreshcacheHealthCheck.FAILURE_MESSAGE);
    this.client = client;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    FreshcacheHealthCheck check = FreshcacheHealthCheck.of(client);
    (check.up() ? builder.up() : builder.down()).withDetails(check.details());
  }
}
