package io.freshcache.spring.boot.autoconfigure;

import io.freshcache.client.CacheClient;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code /actuator/health/freshcache} reports, apart from Spring Boot's health API (which
 * Boot 4 moved to {@code org.springframework.boot.health.contributor}): {@link
 * FreshcacheHealthIndicator} on Boot 4 and the Boot 3 indicator of
 * {@code freshcache-spring-boot3-autoconfigure} both build their {@code Health} from it, so both
 * versions report the same status and details.
 *
 * @param up true while a Redis node answers {@code PING} and no master's breaker is open
 * @param details {@code ping} (boolean), {@code circuit} (the worst breaker state) and
 *     {@code breakers} (the state per Redis master), in that order
 */
public record FreshcacheHealthCheck(boolean up, Map<String, Object> details) {
  /** The message of a health check that threw (Boot reports it DOWN with the exception). */
  public static final String FAILURE_MESSAGE = "freshcache health check failed";

  /**
   * @param up the status
   * @param details the details (copied, order kept)
   */
  public FreshcacheHealthCheck {
    details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
  }

  /**
   * Checks the client now: one {@code PING} and the breakers' states.
   *
   * @param client the client
   * @return the status and details
   */
  public static FreshcacheHealthCheck of(CacheClient client) {
    boolean ping = client.ping();
    CircuitBreaker.State state = client.circuitState();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("ping", ping);
    details.put("circuit", state.name());
    details.put("breakers", client.circuitStates());
    return new FreshcacheHealthCheck(ping && state != CircuitBreaker.State.OPEN, details);
  }
}
