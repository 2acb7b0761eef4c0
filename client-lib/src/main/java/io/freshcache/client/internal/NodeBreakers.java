package io.freshcache.client.internal;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One circuit breaker per Redis master ({@code host:port}), so that a failed master bypasses only
 * the slots it serves.
 *
 * <p>Why it is built this way:
 * <ul>
 *   <li>Per master, not per cluster: with one breaker a single dead master opened it for every
 *       shard and the reads of the healthy shards went to the loader budget.</li>
 *   <li>Keyed by the node that serves the slot now: once a replica is promoted and the client's
 *       topology shows it, the slot maps to that node's breaker (closed), so reads return to
 *       Redis within the topology refresh period, not after the old breaker's open time.
 *       {@link #nodeConnected} also moves an open breaker to half-open when its node's
 *       connection comes back, so a restarted master is probed at once.</li>
 *   <li>Only failures that say something about the node count: connection errors and timeouts,
 *       and {@code CLUSTERDOWN}, {@code LOADING}, {@code MASTERDOWN}, {@code TRYAGAIN} answers.
 *       Other error replies prove the node is alive and count as successes.</li>
 *   <li>A timeout or slow call during which this JVM itself was stalled for at least a quarter
 *       of the call ({@link PauseDetector}) is not counted at all: CPU starvation of the client
 *       must not send its reads to the database.</li>
 * </ul>
 */
public final class NodeBreakers {
  /** A call is excused when the JVM was stalled for at least this share of it... */
  private static final double EXCUSED_SHARE = 0.25;
  /** ...and at least this long. */
  private static final long EXCUSED_MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final ConcurrentHashMap<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();
  private final PauseDetector pauses = PauseDetector.get();
  private volatile CircuitBreakerConfig config;

  private final io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry;

  /** @param config the breakers' settings */
  public NodeBreakers(CircuitBreakerConfig config) {
    this(config, null);
  }

  /**
   * @param config the breakers' settings
   * @param registry where the breakers are created and registered (so the application's
   *     resilience4j metrics and endpoints show them), or {@code null} for private breakers
   */
  public NodeBreakers(CircuitBreakerConfig config, io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  /**
   * Replaces the settings of breakers created from now on (the slow-call threshold measured at
   * connect) and resets the existing ones.
   *
   * @param config the new settings
   */
  public void reconfigure(CircuitBreakerConfig config) {
    this.config = config;
    if (registry != null) {
      breakers.values().forEach(b -> registry.remove(b.getName()));
    }
    breakers.clear();
  }

  /** @return the current settings */
  public CircuitBreakerConfig config() {
    return config;
  }

  /**
   * @param node {@code host:port} of a master
   * @return its breaker, created closed on first use
   */
  public CircuitBreaker of(String node) {
    CircuitBreaker b = breakers.get(node);
    return b != null ? b : breakers.computeIfAbsent(node, n -> registry == null
        ? CircuitBreaker.of("redis-" + n, config)
        : registry.circuitBreaker("freshcache-redis-" + n, config));
  }

  /**
   * Called when a connection to {@code node} is (re)established: an open breaker lets probes
   * through at once instead of waiting out its open time.
   *
   * @param node {@code host:port}
   */
  public void nodeConnected(String node) {
    CircuitBreaker b = breakers.get(node);
    if (b != null && b.getState() == CircuitBreaker.State.OPEN) {
      b.transitionToHalfOpenState();
    }
  }

  /** Moves every open breaker to half-open (after a topology change). */
  public void probeOpenBreakers() {
    for (CircuitBreaker b : breakers.values()) {
      if (b.getState() == CircuitBreaker.State.OPEN) {
        b.transitionToHalfOpenState();
      }
    }
  }

  /**
   * Reports a call that succeeded.
   *
   * @param b the breaker the permit came from
   * @param startNanos the call's start, {@link System#nanoTime()}
   * @param endNanos its end
   */
  public void success(CircuitBreaker b, long startNanos, long endNanos) {
    long nanos = endNanos - startNanos;
    if (nanos > b.getCircuitBreakerConfig().getSlowCallDurationThreshold().toNanos()
        && excused(startNanos, endNanos)) {
      nanos = 0; // slow because this JVM did not run, not because of Redis
    }
    b.onSuccess(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Reports a call that failed.
   *
   * @param b the breaker the permit came from
   * @param startNanos the call's start
   * @param endNanos its end
   * @param t the failure
   */
  public void failure(CircuitBreaker b, long startNanos, long endNanos, Throwable t) {
    long nanos = endNanos - startNanos;
    if (!countsAgainstTheNode(t)) {
      b.onSuccess(nanos, TimeUnit.NANOSECONDS); // the node answered
    } else if (t instanceof RedisCommandTimeoutException && excused(startNanos, endNanos)) {
      b.releasePermission(); // timed out because this JVM did not run: says nothing about Redis
    } else {
      b.onError(nanos, TimeUnit.NANOSECONDS, t);
    }
  }

  private boolean excused(long startNanos, long endNanos) {
    long stalled = pauses.stalledDuring(startNanos, endNanos);
    return stalled >= EXCUSED_MIN_NANOS && stalled >= EXCUSED_SHARE * (endNanos - startNanos);
  }

  /** @return whether {@code t} says the node is unreachable, failing or not serving */
  static boolean countsAgainstTheNode(Throwable t) {
    if (t instanceof RedisCommandExecutionException) {
      String m = t.getMessage() == null ? "" : t.getMessage();
      return m.startsWith("CLUSTERDOWN") || m.startsWith("LOADING") || m.startsWith("MASTERDOWN")
          || m.startsWith("TRYAGAIN");
    }
    if (t instanceof RedisCommandTimeoutException || t instanceof RedisConnectionException) {
      return true;
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof IOException || c instanceof ClosedChannelException) {
        return true;
      }
    }
    return t instanceof RedisException;
  }

  /**
   * @param masters the current masters, {@code host:port}
   * @return the worst state among their breakers: open if any is open, else half-open if any is,
   *     else closed (a master without a breaker yet counts as closed)
   */
  public CircuitBreaker.State worst(Collection<String> masters) {
    CircuitBreaker.State worst = CircuitBreaker.State.CLOSED;
    for (String m : masters) {
      CircuitBreaker b = breakers.get(m);
      if (b == null) {
        continue;
      }
      CircuitBreaker.State s = b.getState();
      if (s == CircuitBreaker.State.OPEN || s == CircuitBreaker.State.FORCED_OPEN) {
        return CircuitBreaker.State.OPEN;
      }
      if (s == CircuitBreaker.State.HALF_OPEN) {
        worst = CircuitBreaker.State.HALF_OPEN;
      }
    }
    return worst;
  }

  /**
   * @param masters the current masters, {@code host:port}
   * @return each one's breaker state, in the given order
   */
  public Map<String, CircuitBreaker.State> states(Collection<String> masters) {
    Map<String, CircuitBreaker.State> m = new LinkedHashMap<>();
    for (String node : masters) {
      CircuitBreaker b = breakers.get(node);
      m.put(node, b == null ? CircuitBreaker.State.CLOSED : b.getState());
    }
    return m;
  }
}
