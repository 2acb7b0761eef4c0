package io.freshcache.client.internal;

import io.freshcache.client.CacheClientConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.freshcache.redis.RedisSetupException;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's link to Redis (Cluster, standalone or Sentinel, through {@link RedisTopology}): the
 * connections, a circuit breaker per master over every call, and reconnection when Redis was
 * unreachable at start.
 *
 * <p>Why it looks like this:
 * <ul>
 *   <li>Lettuce's default command timeout is 60 s and its default topology refresh is lazy; both
 *       are set explicitly, with periodic plus all adaptive refresh triggers (measured here to
 *       halve the recovery after a master failure).</li>
 *   <li>Commands on a disconnected node are queued until the command timeout (Lettuce's default):
 *       rejecting them at once also rejects the first command on a node connection that Lettuce
 *       opens lazily, so the command timeout and the breaker bound the cost instead.</li>
 *   <li>A client created while Redis is down still starts; it connects in the background with
 *       capped backoff and reads go to the loader meanwhile. An application must not fail to
 *       boot because its cache is down.</li>
 *   <li>One breaker (resilience4j) per master ({@link NodeBreakers}): each judges the calls to
 *       its node over the last 10 s once there are 50: it opens on the configured failure rate
 *       of real failures (connection errors, timeouts), or when 80% of the calls are slow;
 *       calls during which this JVM was stalled do not count. While open, calls of that node's
 *       slots are refused without touching the network and bypass Redis; other shards are not
 *       affected. A reconnected node's open breaker turns half-open at once.</li>
 * </ul>
 */
public final class RedisLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
  /**
   * Floor of the automatic slow-call threshold. Twice the idle round trip (about 0.2 ms on
   * loopback) is exceeded by ordinary queueing in a burst of concurrent reads, and a breaker that
   * opens in a burst sends the burst to the database: the opposite of its purpose. 100 ms was
   * still reached by 80% of the calls of a client on a saturated 2-core machine with no fault.
   */
  private static final Duration MIN_SLOW_CALL = Duration.ofMillis(250);
  /** The breaker judges the calls of the last 10 s, once there are at least 50. */
  private static final int WINDOW_SECONDS = 10;
  private static final int MIN_CALLS = 50;
  /** Share of slow calls that opens the breaker: a sustained slowdown, not a burst's tail. */
  private static final float SLOW_CALL_RATE_PERCENT = 80;
  /** Period of the probes of breakers that are not closed. */
  private static final long PROBE_MS = 200;

  /** Redis is not usable now: disconnected, or the breaker is open. */
  public static final class Unavailable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unavailable(String message) {
      super(message, null, false, false);
    }
  }

  private final CacheClientConfig config;
  private final RedisTopology topology;
  private final ScheduledExecutorService reconnector;
  private final ScheduledExecutorService prober;
  private final List<Consumer<RedisLink>> onConnect = new ArrayList<>();
  private final List<Runnable> onTopologyChange = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile boolean connected;
  private volatile StatefulConnection<byte[], byte[]> replicaConnection;
  private final NodeBreakers breakers;
  private final reactor.core.Disposable events;
  private volatile boolean closed;

  /**
   * Creates the Lettuce client and tries to connect once; if that fails, keeps trying in the
   * background.
   *
   * @param config the client's settings
   */
  public RedisLink(CacheClientConfig config) {
    this(config, null);
  }

  /**
   * As {@link #RedisLink(CacheClientConfig)}, with the breakers created in {@code registry}.
   *
   * @param config the client's settings
   * @param registry the application's breaker registry, or {@code null}
   */
  public RedisLink(CacheClientConfig config, io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry registry) {
    this.config = config;
    this.topology = new RedisTopology(config.redis(), timeouts(config));
    this.breakers = new NodeBreakers(breakerConfig(config.slowCallThreshold() != null
        ? config.slowCallThreshold() : MIN_SLOW_CALL), registry);
    this.events = topology.client().getResources().eventBus().get().subscribe(e -> {
      if (e instanceof io.lettuce.core.event.connection.ConnectionActivatedEvent a
          && a.remoteAddress() instanceof java.net.InetSocketAddress isa) {
        breakers.nodeConnected(topology.cluster() ? isa.getHostString() + ":" + isa.getPort()
            : topology.masters().isEmpty() ? "" : topology.masters().get(0));
      }
    });
    topology.onTopologyChange(() -> {
      breakers.probeOpenBreakers();
      for (Runnable r : onTopologyChange) {
        try {
          r.run();
        } catch (RuntimeException ex) {
          log.warn("topology-change callback failed: {}", ex.toString());
        }
      }
    });
    this.reconnector = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freshcache-redis-connect");
      t.setDaemon(true);
      return t;
    });
    this.prober = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freshcache-breaker-probe");
      t.setDaemon(true);
      return t;
    });
    prober.scheduleWithFixedDelay(this::probeBreakers, PROBE_MS, PROBE_MS, TimeUnit.MILLISECONDS);
    RedisException unreachable;
    try {
      unreachable = tryConnect();
    } catch (RedisSetupException e) {
      close();
      throw e;
    }
    if (unreachable != null) {
      if (config.redis().failFast()) {
        close();
        throw new RedisException("Redis " + config.redis().describe() + " is unreachable and"
            + " REDIS_FAIL_FAST (redis.failFast) is set: " + unreachable.getMessage(), unreachable);
      }
      scheduleReconnect(Duration.ofMillis(200));
    }
  }

  /**
   * A breaker that is not closed needs calls to close again, and the reads of its slots may be
   * few (or none while they are served elsewhere): so every {@value #PROBE_MS} ms each current
   * master whose breaker is not closed gets a {@code PING} under its breaker when the breaker
   * permits one (half-open, or open past its wait). Five good probes close it within about a
   * second of the node answering again; a failed probe opens it again.
   */
  private void probeBreakers() {
    if (!connected || closed) {
      return;
    }
    try {
      for (String node : topology.masters()) {
        CircuitBreaker b = breakers.of(node);
        if (b.getState() == CircuitBreaker.State.CLOSED || !b.tryAcquirePermission()) {
          continue;
        }
        long t0 = System.nanoTime();
        try {
          topology.node(node).async().ping()
              .get(config.redis().commandTimeout().toMillis(), TimeUnit.MILLISECONDS);
          breakers.success(b, t0, System.nanoTime());
        } catch (java.util.concurrent.ExecutionException e) {
          breakers.failure(b, t0, System.nanoTime(), e.getCause() == null ? e : e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
          breakers.failure(b, t0, System.nanoTime(),
              new io.lettuce.core.RedisCommandTimeoutException("probe of " + node + " timed out"));
        } catch (RedisException e) {
          breakers.failure(b, t0, System.nanoTime(), e);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.debug("breaker probe failed: {}", e.toString());
    }
  }

  /** @return the topology, e.g. for pub/sub connections */
  public RedisTopology topology() {
    return topology;
  }

  /** @return the worst state of the current masters' breakers (see {@link NodeBreakers#worst}) */
  public CircuitBreaker.State circuitState() {
    return breakers.worst(masters());
  }

  /** @return each current master's breaker state, by {@code host:port} */
  public java.util.Map<String, CircuitBreaker.State> circuitStates() {
    return breakers.states(masters());
  }

  /** @return the current masters ({@link RedisTopology#masters()}); empty if not connected */
  public List<String> masters() {
    return topology.masters();
  }

  /** @return the breakers, one per master */
  public NodeBreakers breakers() {
    return breakers;
  }

  /** @return whether a connection is established */
  public boolean connected() {
    return connected;
  }

  /**
   * Registers a callback run after each successful (re)connection of the command connection.
   *
   * @param callback the callback; run at once as well if already connected
   */
  public synchronized void onConnect(Consumer<RedisLink> callback) {
    onConnect.add(callback);
    if (connected) {
      callback.accept(this);
    }
  }

  /**
   * Registers a callback run on Lettuce's event-bus thread after each cluster topology change
   * the client sees ({@code ClusterTopologyChangedEvent}); it must not block. Lettuce may publish
   * the event before the connection's partitions are updated (lettuce #2860), so a callback that
   * reads the topology should look again shortly after.
   *
   * @param callback the callback
   */
  public void onTopologyChange(Runnable callback) {
    onTopologyChange.add(callback);
  }

  /**
   * A breaker permit for one call on the node serving a slot, with the commands to make it on;
   * report the outcome with exactly one of {@link #success()} or {@link #failure(Throwable)}.
   */
  public final class Permit {
    private final StatefulConnection<byte[], byte[]> conn;
    private final CircuitBreaker breaker;
    private final long start = System.nanoTime();

    private Permit(StatefulConnection<byte[], byte[]> conn, CircuitBreaker breaker) {
      this.conn = conn;
      this.breaker = breaker;
    }

    /** @return the sync commands */
    public RedisClusterCommands<byte[], byte[]> sync() {
      return syncOf(conn);
    }

    /** @return the async commands */
    public RedisClusterAsyncCommands<byte[], byte[]> async() {
      return asyncOf(conn);
    }

    /** Reports that the call succeeded. */
    public void success() {
      breakers.success(breaker, start, System.nanoTime());
    }

    /**
     * Reports that the call failed.
     *
     * @param t the failure
     */
    public void failure(Throwable t) {
      breakers.failure(breaker, start, System.nanoTime(), t);
    }
  }

  /**
   * Takes a permit of the breaker of the master serving {@code slotKey}'s slot.
   *
   * @param slotKey any physical key of the entry (they share one slot)
   * @param replica read from a replica where possible (hits of policies that allow it only; the
   *     connection is possibly stale by the replication lag, so never for leases or fences)
   * @return the permit; on the master connection if the replica connection cannot open
   * @throws Unavailable if not connected or that breaker is open
   */
  public Permit acquire(String slotKey, boolean replica) {
    if (!connected) {
      throw new Unavailable("not connected to Redis " + config.redis().describe());
    }
    StatefulConnection<byte[], byte[]> c = topology.connection();
    CircuitBreaker b = breakers.of(masterOf(slotKey));
    if (!b.tryAcquirePermission()) {
      throw new Unavailable("circuit breaker of " + b.getName() + " is " + b.getState());
    }
    return new Permit(replica ? replicaOr(c) : c, b);
  }

  private String masterOf(String slotKey) {
    String m = topology.masterOf(slotKey);
    return m == null ? "unassigned" : m;
  }

  static RedisClusterCommands<byte[], byte[]> syncOf(StatefulConnection<byte[], byte[]> c) {
    return RedisTopology.syncOf(c);
  }

  static RedisClusterAsyncCommands<byte[], byte[]> asyncOf(StatefulConnection<byte[], byte[]> c) {
    return RedisTopology.asyncOf(c);
  }

  /**
   * Reports a call made without a permit (a write that must not be skipped) to the breaker of
   * the master serving {@code slotKey}.
   *
   * @param slotKey any physical key of the entry
   * @param startNanos the call's start, {@link System#nanoTime()}
   * @param failure the failure, or {@code null} if it succeeded
   */
  public void report(String slotKey, long startNanos, Throwable failure) {
    if (!connected) {
      return;
    }
    CircuitBreaker b = breakers.of(masterOf(slotKey));
    if (failure == null) {
      breakers.success(b, startNanos, System.nanoTime());
    } else {
      breakers.failure(b, startNanos, System.nanoTime(), failure);
    }
  }

  /** @return the replica-reading connection, opened on first use, or {@code master} if it cannot open */
  private StatefulConnection<byte[], byte[]> replicaOr(StatefulConnection<byte[], byte[]> master) {
    StatefulConnection<byte[], byte[]> r = replicaConnection;
    if (r == null) {
      synchronized (this) {
        r = replicaConnection;
        if (r == null) {
          try {
            r = topology.connectReplicaReads();
            replicaConnection = r;
          } catch (RedisException e) {
            return master;
          }
        }
      }
    }
    return r;
  }

  /** @return the sync commands without a breaker permit, for calls that must not be skipped */
  public RedisClusterCommands<byte[], byte[]> commandsOrThrow() {
    if (!connected) {
      throw new Unavailable("not connected to Redis " + config.redis().describe());
    }
    return syncOf(topology.connection());
  }

  /** @return the async commands without a breaker permit, for calls that must not be skipped */
  public RedisClusterAsyncCommands<byte[], byte[]> asyncCommandsOrThrow() {
    if (!connected) {
      throw new Unavailable("not connected to Redis " + config.redis().describe());
    }
    return asyncOf(topology.connection());
  }

  /**
   * Runs one synchronous command under the breaker of the master serving {@code slotKey}: takes
   * a permit, times the command and reports its outcome, so that no call site can forget to.
   *
   * @param slotKey any physical key of the entry (they share one slot)
   * @param replica read from a replica where possible (hits of policies that allow it only)
   * @param command the command to run on the commands it is given
   * @param <R> the command's result type
   * @return the command's result
   * @throws Unavailable if not connected or the breaker is open (nothing was sent)
   * @throws RedisException if the command failed; already reported to the breaker
   */
  public <R> R call(String slotKey, boolean replica,
      Function<RedisClusterCommands<byte[], byte[]>, R> command) {
    Permit p = acquire(slotKey, replica);
    try {
      R r = command.apply(p.sync());
      p.success();
      return r;
    } catch (RedisException e) {
      p.failure(e);
      throw e;
    }
  }

  /**
   * As {@link #call(String, boolean, Function)} on the master connection.
   *
   * @param slotKey any physical key of the entry
   * @param command the command to run on the commands it is given
   * @param <R> the command's result type
   * @return the command's result
   * @throws Unavailable if not connected or the breaker is open (nothing was sent)
   * @throws RedisException if the command failed; already reported to the breaker
   */
  public <R> R call(String slotKey, Function<RedisClusterCommands<byte[], byte[]>, R> command) {
    return call(slotKey, false, command);
  }

  /**
   * What a write on a slot's master produced.
   *
   * @param <T> the write's result type
   * @param result the write's result
   * @param acks replicas that acknowledged it ({@code WAIT}), or {@link Long#MAX_VALUE} if none
   *     were asked for
   * @param node the master that executed it, {@code host:port}
   * @param wanted replicas waited for: the replicas asked for, at most the master's attached
   *     ones (0: no {@code WAIT} was sent)
   */
  public record MasterWrite<T>(T result, long acks, String node, int wanted) {}

  /** How long a master's count of attached replicas is reused. */
  static final long REPLICA_COUNT_TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

  private record ReplicaCount(int online, long atNanos) {}

  private final java.util.concurrent.ConcurrentHashMap<String, ReplicaCount> replicaCounts =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The replicas that could acknowledge a write on a master now: those attached to it and in
   * sync ({@code state=online} in its {@code INFO replication}), read at most once a second
   * per master.
   *
   * <p>Why the master's own view and not the cluster's failure flags: a replica that is killed
   * or disconnected drops off this list at once, while one that is only frozen (stopped,
   * overloaded) stays attached, may still hold the write in its receive buffer and may still be
   * promoted; the cluster flags both failed after its node timeout. Waiting for the frozen one
   * (and reporting the write unacknowledged) keeps the guarantee; waiting for a detached one
   * cannot succeed.
   *
   * @param node the master, {@code host:port}
   * @param commands that master's node connection
   * @return its attached, in-sync replicas; {@link Integer#MAX_VALUE} if they cannot be read
   *     (the caller then waits as configured)
   */
  int liveReplicas(String node, RedisCommands<byte[], byte[]> commands) {
    long now = System.nanoTime();
    ReplicaCount c = replicaCounts.get(node);
    if (c != null && now - c.atNanos() < REPLICA_COUNT_TTL_NANOS) {
      return c.online();
    }
    try {
      int online = 0;
      for (String line : commands.info("replication").split("\r?\n")) {
        if (line.startsWith("slave") && line.contains("state=online")) {
          online++;
        }
      }
      replicaCounts.put(node, new ReplicaCount(online, now));
      return online;
    } catch (RedisException e) {
      return Integer.MAX_VALUE;
    }
  }

  /**
   * Runs {@code write} on the master of {@code slotKey}'s slot over that node's own connection,
   * then, if {@code replicas} gives more than 0 for that node and the replicas attached to it
   * now ({@link #liveReplicas}), {@code WAIT} for the smaller number on the same connection.
   *
   * <p>Why the node connection: {@code WAIT} counts the writes of the connection it is sent on.
   * Routed through the cluster connection without a key it would go to any node and report that
   * node's replicas. Lettuce's cluster connection sends a slot's writes over the node connection
   * keyed by the master's host and port with intent WRITE ({@code PooledClusterConnectionProvider
   * .getWriteConnection}), which is the connection {@code getConnection(host, port)} returns, so
   * this shares it rather than opening another. A node connection does not follow {@code MOVED}:
   * a redirect (a failover or resharding the client has not seen yet) is followed here, to at most
   * three nodes.
   *
   * @param <T> the write's result type
   * @param slotKey any physical key of the entry (they share one slot)
   * @param write the write, given the node's sync commands
   * @param replicas replicas to wait for, 0 for none; fewer if the master has fewer attached
   * @param waitMs the {@code WAIT} timeout for a node ({@code host:port}), ms, positive
   * @return the result, the replicas that acknowledged it, and the node
   * @throws Unavailable if not connected
   * @throws RedisException if the write or the {@code WAIT} failed
   */
  public <T> MasterWrite<T> writeOnMaster(String slotKey,
      Function<RedisCommands<byte[], byte[]>, T> write, int replicas, ToLongFunction<String> waitMs) {
    if (!connected) {
      throw new Unavailable("not connected to Redis " + config.redis().describe());
    }
    String name = topology.masterOf(slotKey);
    if (name == null) {
      throw new RedisException("no master known for the slot of " + slotKey);
    }
    for (int hop = 0; ; hop++) {
      RedisCommands<byte[], byte[]> node = topology.node(name).sync();
      T result;
      try {
        result = write.apply(node);
      } catch (RedisCommandExecutionException e) {
        String m = e.getMessage();
        if (hop < 2 && m != null && m.startsWith("MOVED ")) {
          name = m.substring(m.lastIndexOf(' ') + 1);
          continue;
        }
        throw e;
      }
      int wanted = replicas > 0 ? Math.min(replicas, liveReplicas(name, node)) : 0;
      long acks = wanted > 0 ? node.waitForReplication(wanted, waitMs.applyAsLong(name)) : Long.MAX_VALUE;
      return new MasterWrite<>(result, acks, name, wanted);
    }
  }

  /**
   * Command timeouts: every command gets the connection's command timeout, except {@code WAIT},
   * which blocks on the server for up to the replica-acknowledgement timeout by design and so
   * gets that plus the command timeout (otherwise a {@code WAIT} longer than the command timeout
   * would fail as a timeout instead of answering how many replicas acknowledged).
   */
  private static TimeoutOptions timeouts(CacheClientConfig config) {
    long waitMs = config.effectiveReplicaAckTimeout().toMillis() + config.redis().commandTimeout().toMillis();
    return TimeoutOptions.builder().timeoutCommands().timeoutSource(new TimeoutOptions.TimeoutSource() {
      @Override
      public long getTimeout(io.lettuce.core.protocol.RedisCommand<?, ?, ?> command) {
        // negative: the connection's own timeout (the command timeout)
        return command.getType() == io.lettuce.core.protocol.CommandType.WAIT ? waitMs : -1;
      }
    }).build();
  }

  /**
   * @return {@code null} if connected (or closed), else why Redis could not be reached
   * @throws RedisSetupException if Redis answered but does not match the configuration
   */
  private synchronized RedisException tryConnect() {
    if (closed || connected) {
      return null;
    }
    try {
      topology.connect();
      topology.checkPermissions(RedisTopology.basicProbes());
      if (config.slowCallThreshold() == null) {
        breakers.reconfigure(breakerConfig(measureSlowCallThreshold(topology.sync())));
      }
      connected = true;
      log.info("connected to Redis {}; slow calls above {} ms", config.redis().describe(),
          breakers.config().getSlowCallDurationThreshold().toMillis());
      for (Consumer<RedisLink> cb : onConnect) {
        try {
          cb.accept(this);
        } catch (RuntimeException e) {
          log.warn("on-connect callback failed: {}", e.toString());
        }
      }
      return null;
    } catch (RedisSetupException e) {
      throw e;
    } catch (RedisException e) {
      log.warn("cannot connect to Redis {} (reads go to the loader meanwhile): {}",
          config.redis().describe(), e.getMessage());
      return e;
    }
  }

  private void scheduleReconnect(Duration delay) {
    if (closed) {
      return;
    }
    reconnector.schedule(() -> {
      RedisException unreachable;
      try {
        unreachable = tryConnect();
      } catch (RedisSetupException e) {
        log.error("Redis answered but cannot be used; retrying: {}", e.getMessage());
        unreachable = new RedisException(e.getMessage(), e);
      }
      if (unreachable != null) {
        long next = Math.min(delay.toMillis() * 2, 5_000);
        scheduleReconnect(Duration.ofMillis(next));
      }
    }, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static Duration measureSlowCallThreshold(RedisClusterCommands<byte[], byte[]> c) {
    long[] samples = new long[21];
    try {
      for (int i = 0; i < samples.length; i++) {
        long t = System.nanoTime();
        c.ping();
        samples[i] = System.nanoTime() - t;
      }
    } catch (RedisException e) {
      return MIN_SLOW_CALL;
    }
    Arrays.sort(samples);
    // twice the slowest of 21 idle round trips (about the p95)
    Duration twice = Duration.ofNanos(samples[samples.length - 1] * 2);
    return twice.compareTo(MIN_SLOW_CALL) < 0 ? MIN_SLOW_CALL : twice;
  }

  private CircuitBreakerConfig breakerConfig(Duration slowCall) {
    return CircuitBreakerConfig.custom()
        .failureRateThreshold((float) config.circuitBreakerThreshold())
        .slowCallRateThreshold(SLOW_CALL_RATE_PERCENT)
        .slowCallDurationThreshold(slowCall)
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED)
        .slidingWindowSize(WINDOW_SECONDS)
        .minimumNumberOfCalls(MIN_CALLS)
        .waitDurationInOpenState(config.circuitBreakerTimeout())
        .permittedNumberOfCallsInHalfOpenState(5)
        .recordException(t -> t instanceof RedisException)
        .build();
  }

  @Override
  public void close() {
    closed = true;
    events.dispose();
    prober.shutdownNow();
    reconnector.shutdownNow();
    StatefulConnection<byte[], byte[]> r = replicaConnection;
    if (r != null) {
      r.close();
    }
    connected = false;
    topology.close();
  }
}
