package io.freshcache.redis;

import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.protocol.config.RedisConnectionConfig.Mode;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.ReadFrom;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * freshcache's one way to connect to Redis, whatever its topology: Redis Cluster, a standalone
 * server, or a master found through Sentinel, with ACL credentials and TLS as
 * {@link RedisConnectionConfig} says. The client library and cache-writer build every connection
 * through it, and see the deployment as a set of masters, each with its own connection:
 *
 * <ul>
 *   <li>Cluster: the masters that serve slots; keys are routed by slot; node connections are
 *       Lettuce's own (so a {@code WAIT} on one counts the writes routed there).</li>
 *   <li>Standalone and Sentinel: one master, named by its configured address (standalone) or
 *       {@code sentinel:<master name>}; every key is on it; its connection is the main one.
 *       Through Sentinel, Lettuce asks the Sentinels for the master on every (re)connect, and
 *       Sentinel disconnects the clients of a demoted master, so a failover is followed.</li>
 * </ul>
 *
 * <p>{@link #connect()} first asks one address what it is ({@code INFO server}, {@code redis_mode})
 * and fails with a {@link RedisSetupException} naming the address when the kind, the credentials
 * or the TLS handshake do not match the configuration; an unreachable Redis is a plain
 * {@link RedisException}, which callers may retry.
 *
 * <p>Internal API of freshcache's modules; not for applications.
 */
public final class RedisTopology implements AutoCloseable {
  private final RedisConnectionConfig config;
  private final AbstractRedisClient client;
  private final List<Runnable> onTopologyChange = new CopyOnWriteArrayList<>();
  private final reactor.core.Disposable events;
  private volatile StatefulConnection<byte[], byte[]> connection;

  /**
   * Creates the Lettuce client; connects nothing yet.
   *
   * @param config the connection settings
   * @param timeouts the command timeouts ({@code null}: the config's command timeout for all)
   */
  public RedisTopology(RedisConnectionConfig config, TimeoutOptions timeouts) {
    this.config = config;
    TimeoutOptions t = timeouts != null ? timeouts : TimeoutOptions.enabled(config.commandTimeout());
    SocketOptions socket = SocketOptions.builder().connectTimeout(config.connectTimeout()).build();
    SslOptions ssl = config.tls() ? sslOptions(config) : null;
    if (config.mode() == Mode.CLUSTER) {
      List<RedisURI> seeds = new ArrayList<>();
      for (String n : config.nodes()) {
        seeds.add(uri(config, n));
      }
      RedisClusterClient c = RedisClusterClient.create(seeds);
      ClusterClientOptions.Builder o = ClusterClientOptions.builder()
          .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
              .enablePeriodicRefresh(config.topologyRefresh())
              .enableAllAdaptiveRefreshTriggers()
              .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
              .build())
          .socketOptions(socket)
          .timeoutOptions(t);
      if (ssl != null) {
        o.sslOptions(ssl);
      }
      c.setOptions(o.build());
      this.client = c;
    } else {
      RedisClient c = RedisClient.create();
      ClientOptions.Builder o = ClientOptions.builder().socketOptions(socket).timeoutOptions(t);
      if (ssl != null) {
        o.sslOptions(ssl);
      }
      c.setOptions(o.build());
      this.client = c;
    }
    this.events = client.getResources().eventBus().get().subscribe(e -> {
      if (e instanceof ClusterTopologyChangedEvent) {
        for (Runnable r : onTopologyChange) {
          try {
            r.run();
          } catch (RuntimeException ex) {
            // a callback's failure must not stop the others
          }
        }
      }
    });
  }

  /** @return the settings */
  public RedisConnectionConfig config() {
    return config;
  }

  /** @return the Lettuce client (its resources carry the event bus) */
  public AbstractRedisClient client() {
    return client;
  }

  /** @return whether this is Redis Cluster */
  public boolean cluster() {
    return config.mode() == Mode.CLUSTER;
  }

  /**
   * Checks what the configured address is, then opens the main connection (once; later calls
   * return at once).
   *
   * @throws RedisSetupException if Redis answered but does not match the configuration
   * @throws RedisException if no configured address could be reached
   */
  public synchronized void connect() {
    if (connection != null) {
      return;
    }
    verify();
    try {
      StatefulConnection<byte[], byte[]> c = cluster()
          ? ((RedisClusterClient) client).connect(ByteArrayCodec.INSTANCE)
          : ((RedisClient) client).connect(ByteArrayCodec.INSTANCE, mainUri());
      c.setTimeout(config.commandTimeout());
      connection = c;
    } catch (RedisException e) {
      RedisSetupException setup = classify(config.describe(), e);
      if (setup != null) {
        throw setup;
      }
      throw e;
    }
  }

  /**
   * Sends each probe to every master and fails on the first that Redis refuses for lack of an
   * ACL permission ({@code NOPERM}), so that a user missing a command or key pattern is told at
   * start, naming the server, instead of seeing failed reads later. Any other answer (a
   * {@code NOSCRIPT}, a value, an error about the probe's arguments) passes. A master that cannot
   * be connected to (one that died and is still listed until its replica is promoted) is skipped
   * with a warning, so that a part started during a failover starts.
   *
   * @param probes description (e.g. {@code "EVALSHA on {…}:v1"}) to the probe, run on the
   *     master's sync commands
   * @throws RedisSetupException naming the master, the user and the refused probe
   * @throws IllegalStateException if not connected
   */
  public void checkPermissions(java.util.Map<String, java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<byte[], byte[]>>> probes) {
    for (String master : masters()) {
      io.lettuce.core.api.sync.RedisCommands<byte[], byte[]> c;
      try {
        c = node(master).sync();
      } catch (io.lettuce.core.RedisConnectionException e) {
        // a master that died and whose replica is not promoted yet is still listed: starting now
        // must not fail (the others were probed; Redis answers NOPERM on use if one differs)
        org.slf4j.LoggerFactory.getLogger(RedisTopology.class).warn(
            "cannot check the ACL permissions on Redis master {} (unreachable: {}); skipped", master, e.getMessage());
        continue;
      }
      for (java.util.Map.Entry<String, java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<byte[], byte[]>>> p
          : probes.entrySet()) {
        try {
          p.getValue().accept(c);
        } catch (RedisCommandExecutionException e) {
          if (noPermission(e.getMessage())) {
            throw new RedisSetupException("Redis at " + master + " refused " + p.getKey() + " to user '"
                + (config.username() == null ? "default" : config.username()) + "' (" + firstLine(String.valueOf(e.getMessage()))
                + "): grant the permissions listed in docs/redis-acl.md", e);
          }
        }
      }
    }
  }

  /**
   * The permission probes every freshcache part needs: reading and running scripts on cache keys
   * ({@code {…}:v1}), reading a notice counter, and {@code PING}.
   *
   * @return description to probe, for {@link #checkPermissions}
   */
  public static java.util.Map<String, java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<byte[], byte[]>>> basicProbes() {
    java.util.Map<String, java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<byte[], byte[]>>> p =
        new java.util.LinkedHashMap<>();
    String key = "{freshcache-acl-probe:x:0}:v1";
    byte[] k = key.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String seq = io.freshcache.protocol.NoticeChannels.sequenceKey(0);
    p.put("PING", c -> c.ping());
    p.put("GET " + key, c -> c.get(k));
    p.put("GET " + seq, c -> c.get(seq.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    p.put("EVALSHA on " + key, c -> c.evalsha("0000000000000000000000000000000000000000",
        io.lettuce.core.ScriptOutputType.INTEGER, k));
    p.put("EVAL on " + key, c -> c.eval("return 1", io.lettuce.core.ScriptOutputType.INTEGER, k));
    return p;
  }

  /**
   * @param message a Redis error message
   * @return whether it says an ACL permission is missing (a command, a key or a channel, also
   *     from inside a script)
   */
  public static boolean noPermission(String message) {
    return message != null && (message.startsWith("NOPERM") || message.contains("NOPERM")
        || message.contains("can't run this command") || message.contains("No permissions to access"));
  }

  /** @return whether the main connection is open */
  public boolean connected() {
    return connection != null;
  }

  /**
   * @return the main connection: cluster-routed on Cluster, the master's on the others
   * @throws IllegalStateException if not connected
   */
  public StatefulConnection<byte[], byte[]> connection() {
    StatefulConnection<byte[], byte[]> c = connection;
    if (c == null) {
      throw new IllegalStateException("not connected to Redis " + config.describe());
    }
    return c;
  }

  /** @return sync commands of the main connection (routed by key on Cluster) */
  public RedisClusterCommands<byte[], byte[]> sync() {
    return syncOf(connection());
  }

  /** @return async commands of the main connection (routed by key on Cluster) */
  public RedisClusterAsyncCommands<byte[], byte[]> async() {
    return asyncOf(connection());
  }

  /** @return the name of the single master of a standalone or Sentinel deployment */
  private String soleMaster() {
    return config.mode() == Mode.SENTINEL ? "sentinel:" + config.sentinelMaster() : config.nodes().get(0);
  }

  /**
   * The masters that serve keys now: on Cluster those the client's topology lists as upstream,
   * not failed, with an address and slots; otherwise the one master.
   *
   * @return master names, {@code host:port} (or {@code sentinel:<name>}); empty if not connected
   */
  public List<String> masters() {
    StatefulConnection<byte[], byte[]> c = connection;
    List<String> out = new ArrayList<>();
    if (c == null) {
      return out;
    }
    if (c instanceof StatefulRedisClusterConnection<byte[], byte[]> cc) {
      for (RedisClusterNode n : cc.getPartitions()) {
        if (routable(n)) {
          out.add(name(n));
        }
      }
    } else {
      out.add(soleMaster());
    }
    return out;
  }

  /**
   * @param node a cluster node
   * @return whether writes can be routed to it: an upstream with slots, an address, not failed
   */
  public static boolean routable(RedisClusterNode node) {
    return node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.is(RedisClusterNode.NodeFlag.FAIL)
        && !node.is(RedisClusterNode.NodeFlag.NOADDR) && !node.hasNoSlots();
  }

  private static String name(RedisClusterNode n) {
    return n.getUri().getHost() + ":" + n.getUri().getPort();
  }

  /**
   * @param key any physical key
   * @return the master serving its slot, or {@code null} if not connected or the slot has none
   */
  public String masterOf(byte[] key) {
    StatefulConnection<byte[], byte[]> c = connection;
    if (c == null) {
      return null;
    }
    if (c instanceof StatefulRedisClusterConnection<byte[], byte[]> cc) {
      RedisClusterNode m = cc.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
      return m == null ? null : name(m);
    }
    return soleMaster();
  }

  /**
   * @param key any physical key
   * @return as {@link #masterOf(byte[])}
   */
  public String masterOf(String key) {
    return masterOf(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * The connection to one master: on Cluster Lettuce's node connection (the one the routed
   * writes of its slots use), otherwise the main connection.
   *
   * @param master a name from {@link #masters()} or {@link #masterOf}; on Cluster any
   *     {@code host:port}
   * @return the connection
   * @throws IllegalStateException if not connected
   */
  @SuppressWarnings("unchecked")
  public StatefulRedisConnection<byte[], byte[]> node(String master) {
    StatefulConnection<byte[], byte[]> c = connection();
    if (c instanceof StatefulRedisClusterConnection<byte[], byte[]> cc) {
      int colon = master.lastIndexOf(':');
      return cc.getConnection(master.substring(0, colon), Integer.parseInt(master.substring(colon + 1)));
    }
    return (StatefulRedisConnection<byte[], byte[]>) c;
  }

  /**
   * Opens another connection like the main one (its own socket(s), e.g. for health probes that
   * must not queue behind a pipelined batch); the caller closes it.
   *
   * @return the connection
   * @throws RedisException if it cannot open
   */
  public StatefulConnection<byte[], byte[]> connectAnother() {
    StatefulConnection<byte[], byte[]> c = client instanceof RedisClusterClient cc
        ? cc.connect(ByteArrayCodec.INSTANCE)
        : ((RedisClient) client).connect(ByteArrayCodec.INSTANCE, mainUri());
    c.setTimeout(config.commandTimeout());
    return c;
  }

  /**
   * @param c a connection of this class's making
   * @return its sync commands
   */
  @SuppressWarnings("unchecked")
  public static RedisClusterCommands<byte[], byte[]> syncOf(StatefulConnection<byte[], byte[]> c) {
    return c instanceof StatefulRedisClusterConnection<byte[], byte[]> cc ? cc.sync()
        : ((StatefulRedisConnection<byte[], byte[]>) c).sync();
  }

  /**
   * @param c a connection of this class's making
   * @return its async commands
   */
  @SuppressWarnings("unchecked")
  public static RedisClusterAsyncCommands<byte[], byte[]> asyncOf(StatefulConnection<byte[], byte[]> c) {
    return c instanceof StatefulRedisClusterConnection<byte[], byte[]> cc ? cc.async()
        : ((StatefulRedisConnection<byte[], byte[]>) c).async();
  }

  /**
   * Opens a connection whose reads go where {@link RedisConnectionConfig#readFrom()} says
   * (replicas); the caller closes it.
   *
   * @return the connection
   * @throws RedisException if it cannot open
   */
  public StatefulConnection<byte[], byte[]> connectReplicaReads() {
    ReadFrom readFrom = switch (config.readFrom()) {
      case REPLICA -> ReadFrom.REPLICA;
      case LOWEST_LATENCY -> ReadFrom.LOWEST_LATENCY;
      case MASTER -> ReadFrom.UPSTREAM;
      default -> ReadFrom.REPLICA_PREFERRED;
    };
    if (client instanceof RedisClusterClient cc) {
      StatefulRedisClusterConnection<byte[], byte[]> r = cc.connect(ByteArrayCodec.INSTANCE);
      r.setTimeout(config.commandTimeout());
      r.setReadFrom(readFrom);
      return r;
    }
    StatefulRedisMasterReplicaConnection<byte[], byte[]> r =
        MasterReplica.connect((RedisClient) client, ByteArrayCodec.INSTANCE, mainUri());
    r.setTimeout(config.commandTimeout());
    r.setReadFrom(readFrom);
    return r;
  }

  /**
   * Opens a pub/sub connection that hands every sharded message ({@code SMESSAGE}) to
   * {@code onMessage}; the caller subscribes ({@code SSUBSCRIBE}, one channel per call on
   * Cluster: the channels live in different slots) and closes it.
   *
   * @param onMessage called with channel and message, on Lettuce's I/O thread
   * @return the connection
   * @throws RedisException if it cannot open
   */
  public StatefulRedisPubSubConnection<byte[], byte[]> connectShardedPubSub(BiConsumer<byte[], byte[]> onMessage) {
    if (client instanceof RedisClusterClient cc) {
      StatefulRedisClusterPubSubConnection<byte[], byte[]> c = cc.connectPubSub(ByteArrayCodec.INSTANCE);
      c.addListener(new RedisClusterPubSubAdapter<byte[], byte[]>() {
        @Override
        public void smessage(RedisClusterNode node, byte[] channel, byte[] message) {
          onMessage.accept(channel, message);
        }
      });
      return c;
    }
    StatefulRedisPubSubConnection<byte[], byte[]> c =
        ((RedisClient) client).connectPubSub(ByteArrayCodec.INSTANCE, mainUri());
    c.addListener(new RedisPubSubAdapter<byte[], byte[]>() {
      @Override
      public void smessage(byte[] channel, byte[] message) {
        onMessage.accept(channel, message);
      }
    });
    return c;
  }

  /**
   * Registers a callback run on Lettuce's event thread after each cluster topology change (never
   * on standalone or Sentinel, whose failovers show as reconnects); it must not block.
   *
   * @param callback the callback
   */
  public void onTopologyChange(Runnable callback) {
    onTopologyChange.add(callback);
  }

  /** @return the URI of the standalone server, or the Sentinel URI of the master */
  private RedisURI mainUri() {
    if (config.mode() == Mode.STANDALONE) {
      return uri(config, config.nodes().get(0));
    }
    RedisURI.Builder b = null;
    for (String s : config.nodes()) {
      int colon = s.lastIndexOf(':');
      String host = s.substring(0, colon);
      int port = Integer.parseInt(s.substring(colon + 1));
      if (b == null) {
        b = config.sentinelPassword() != null
            ? RedisURI.Builder.sentinel(host, port, config.sentinelMaster(), config.sentinelPassword())
            : RedisURI.Builder.sentinel(host, port, config.sentinelMaster());
      } else if (config.sentinelPassword() != null) {
        b.withSentinel(host, port, config.sentinelPassword());
      } else {
        b.withSentinel(host, port);
      }
    }
    credentials(config, b);
    b.withSsl(config.tls()).withTimeout(config.commandTimeout());
    if (config.tls()) {
      b.withVerifyPeer(config.tlsVerifyHostname() ? SslVerifyMode.FULL : SslVerifyMode.CA);
    }
    return b.build();
  }

  private static RedisURI uri(RedisConnectionConfig config, String node) {
    int colon = node.lastIndexOf(':');
    String host = node.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    RedisURI.Builder b = RedisURI.builder().withHost(host)
        .withPort(Integer.parseInt(node.substring(colon + 1)))
        .withSsl(config.tls())
        .withTimeout(config.commandTimeout());
    if (config.tls()) {
      b.withVerifyPeer(config.tlsVerifyHostname() ? SslVerifyMode.FULL : SslVerifyMode.CA);
    }
    credentials(config, b);
    return b.build();
  }

  private static void credentials(RedisConnectionConfig config, RedisURI.Builder b) {
    if (config.username() != null) {
      b.withAuthentication(config.username(), config.password().toCharArray());
    } else if (config.password() != null) {
      b.withPassword(config.password().toCharArray());
    }
  }

  private static SslOptions sslOptions(RedisConnectionConfig config) {
    SslOptions.Builder b = SslOptions.builder().jdkSslProvider();
    if (config.tlsCaFile() != null) {
      b.trustManager(config.tlsCaFile().toFile());
    } else if (config.tlsTrustStore() != null) {
      b.truststore(config.tlsTrustStore().toFile(), config.tlsTrustStorePassword());
    }
    if (config.tlsCertFile() != null) {
      b.keyManager(config.tlsCertFile().toFile(), config.tlsKeyFile().toFile(), null);
    }
    return b.build();
  }

  /**
   * Asks the configured addresses, one after the other, what they are, until one answers.
   *
   * @throws RedisSetupException at the first that answers with a mismatch or refuses the setup
   * @throws RedisException if none can be reached
   */
  private void verify() {
    RedisException last = null;
    for (String node : config.nodes()) {
      RedisClient probe = RedisClient.create(client.getResources()); // shared threads: not shut down with it
      try {
        ClientOptions.Builder o = ClientOptions.builder()
            .socketOptions(SocketOptions.builder().connectTimeout(config.connectTimeout()).build())
            .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()));
        if (config.tls()) {
          o.sslOptions(sslOptions(config));
        }
        probe.setOptions(o.build());
        RedisURI u = uri(config, node);
        if (config.mode() == Mode.SENTINEL) {
          // Sentinels have their own password (if any), not the data nodes' ACL user
          RedisURI.Builder sb = RedisURI.builder().withHost(u.getHost()).withPort(u.getPort())
              .withSsl(u.isSsl()).withVerifyPeer(u.getVerifyMode()).withTimeout(u.getTimeout());
          if (config.sentinelPassword() != null) {
            sb.withPassword(config.sentinelPassword().toCharArray());
          }
          u = sb.build();
        }
        String mode;
        try (StatefulRedisConnection<String, String> c = probe.connect(StringCodec.UTF8, u)) {
          String info;
          try {
            info = c.sync().info("server");
          } catch (RedisCommandExecutionException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("NOPERM")) {
              return; // the user may not run INFO: the kind is not checked
            }
            throw e;
          }
          mode = field(info, "redis_mode");
        }
        String expected = config.mode().name().toLowerCase(Locale.ROOT);
        if (mode != null && !mode.equals(expected)) {
          throw new RedisSetupException("Redis at " + node + " is " + "a " + mode
              + " server (INFO server: redis_mode:" + mode + ") but REDIS_MODE (redis.mode) is "
              + expected + ": set it to " + mode + (mode.equals("sentinel")
                  ? " and REDIS_SENTINEL_MASTER to the monitored master's name" : "")
              + ", or point REDIS_NODES at " + "a " + expected + " deployment", null);
        }
        return;
      } catch (RedisSetupException e) {
        throw e;
      } catch (RedisException e) {
        RedisSetupException setup = classify(node, e);
        if (setup != null) {
          throw setup;
        }
        last = e;
      } finally {
        probe.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      }
    }
    throw last != null ? last : new RedisException("no Redis address configured");
  }

  private static String field(String info, String name) {
    for (String line : info.split("\r?\n")) {
      if (line.startsWith(name + ":")) {
        return line.substring(name.length() + 1).trim();
      }
    }
    return null;
  }

  /**
   * @param where the address or deployment, for the message
   * @param e a connection failure
   * @return a setup exception if {@code e} shows a configuration mismatch (credentials, TLS,
   *     ACL), or {@code null} if it looks like plain unreachability
   */
  public static RedisSetupException classify(String where, Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (m.startsWith("WRONGPASS") || m.contains("invalid username-password")) {
        return new RedisSetupException("Redis at " + where + " refused the credentials ("
            + firstLine(m) + "): check REDIS_USERNAME and REDIS_PASSWORD", e);
      }
      if (m.startsWith("NOAUTH") || m.contains("Authentication required")) {
        return new RedisSetupException("Redis at " + where + " requires a password (" + firstLine(m)
            + "): set REDIS_PASSWORD (and REDIS_USERNAME for an ACL user)", e);
      }
      if (noPermission(m)) {
        return new RedisSetupException("Redis at " + where + " refused a command for lack of an ACL"
            + " permission (" + firstLine(m) + "): grant the user the permissions in docs/redis-acl.md", e);
      }
      if (t instanceof javax.net.ssl.SSLHandshakeException || t instanceof javax.net.ssl.SSLException
          || t instanceof java.security.cert.CertificateException) {
        String why = m.contains("PKIX") || m.contains("unable to find valid certification path")
            ? "the server's certificate is not signed by a trusted CA: check REDIS_TLS_CA_FILE or REDIS_TLS_TRUSTSTORE"
            : m.contains("No subject alternative") || m.contains("doesn't match")
                ? "the server's certificate does not name the host connected to: connect by a name it"
                  + " lists, or set REDIS_TLS_VERIFY_HOSTNAME=false"
                : m.contains("not an SSL/TLS record") || m.contains("plaintext")
                    ? "the server does not speak TLS on that port: check REDIS_TLS and the port"
                    : "check the TLS settings (REDIS_TLS_*)";
        return new RedisSetupException("TLS handshake with Redis at " + where + " failed ("
            + firstLine(m) + "): " + why, e);
      }
    }
    return null;
  }

  private static String firstLine(String m) {
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  /** Closes the main connection and shuts the client down. */
  @Override
  public synchronized void close() {
    events.dispose();
    StatefulConnection<byte[], byte[]> c = connection;
    connection = null;
    if (c != null) {
      c.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
