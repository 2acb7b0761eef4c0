package io.freshcache.protocol.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a freshcache part (the client library, cache-writer, the operator tools) connects to Redis:
 * topology, addresses, ACL credentials, TLS, timeouts, topology refresh and replica reads. One
 * model for every module; each module embeds it as its config's Redis part.
 *
 * <p>Immutable; built with {@link #builder()} (or {@link #toBuilder()}), which validates in
 * {@link Builder#build()}, or read from the environment with {@link #fromEnv(EnvSettings, RedisConnectionConfig)}.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>variable</th><th>builder</th><th>default</th></tr>
 *   <tr><td>{@code REDIS_MODE}</td><td>{@link Builder#mode}</td><td>{@code cluster}
 *       ({@code standalone}, {@code sentinel})</td></tr>
 *   <tr><td>{@code REDIS_NODES}</td><td>{@link Builder#nodes}</td><td>required: cluster seed
 *       nodes, the standalone server, or the Sentinels, as {@code host:port,...}</td></tr>
 *   <tr><td>{@code REDIS_SENTINEL_MASTER}</td><td>{@link Builder#sentinelMaster}</td><td>required
 *       in sentinel mode: the master name the Sentinels monitor</td></tr>
 *   <tr><td>{@code REDIS_SENTINEL_PASSWORD}</td><td>{@link Builder#sentinelPassword}</td><td>none
 *       (the Sentinels' own {@code requirepass})</td></tr>
 *   <tr><td>{@code REDIS_USERNAME}</td><td>{@link Builder#username}</td><td>none ({@code default}
 *       user)</td></tr>
 *   <tr><td>{@code REDIS_PASSWORD} / {@code _FILE}</td><td>{@link Builder#password}</td><td>none</td></tr>
 *   <tr><td>{@code REDIS_TLS}</td><td>{@link Builder#tls}</td><td>{@code false}</td></tr>
 *   <tr><td>{@code REDIS_TLS_CA_FILE}</td><td>{@link Builder#tlsCaFile}</td><td>the JVM's trust
 *       store: PEM file of the CA(s) to trust</td></tr>
 *   <tr><td>{@code REDIS_TLS_TRUSTSTORE} / {@code REDIS_TLS_TRUSTSTORE_PASSWORD}</td>
 *       <td>{@link Builder#tlsTrustStore}</td><td>none: a PKCS12/JKS trust store instead of a PEM
 *       CA file</td></tr>
 *   <tr><td>{@code REDIS_TLS_CERT_FILE} / {@code REDIS_TLS_KEY_FILE}</td><td>{@link Builder#tlsClientCert}</td>
 *       <td>none: PEM client certificate and PKCS#8 key, for mutual TLS</td></tr>
 *   <tr><td>{@code REDIS_TLS_VERIFY_HOSTNAME}</td><td>{@link Builder#tlsVerifyHostname}</td><td>{@code true}</td></tr>
 *   <tr><td>{@code REDIS_COMMAND_TIMEOUT_MS}</td><td>{@link Builder#commandTimeout}</td><td>per
 *       module (client 500 ms, writer 2 s)</td></tr>
 *   <tr><td>{@code REDIS_CONNECT_TIMEOUT_MS}</td><td>{@link Builder#connectTimeout}</td><td>{@value #DEFAULT_CONNECT_TIMEOUT_MS} ms</td></tr>
 *   <tr><td>{@code REDIS_TOPOLOGY_REFRESH_MS}</td><td>{@link Builder#topologyRefresh}</td><td>{@value #DEFAULT_TOPOLOGY_REFRESH_MS}
 *       ms (cluster only; plus adaptive refresh on redirects and disconnects)</td></tr>
 *   <tr><td>{@code REDIS_READ_FROM}</td><td>{@link Builder#readFrom}</td><td>{@code replica-preferred}:
 *       where reads of policies that allow replica reads go</td></tr>
 *   <tr><td>{@code REDIS_FAIL_FAST}</td><td>{@link Builder#failFast}</td><td>{@code false}: an
 *       unreachable Redis at start is retried in the background (reads go to the loader); {@code
 *       true}: start fails</td></tr>
 * </table>
 *
 * <p>A wrong topology (a cluster config pointed at a standalone server or the reverse), a refused
 * password and a failed TLS handshake fail at start whatever {@code failFast} says: waiting cannot
 * fix them.
 */
public final class RedisConnectionConfig {
  /** Default connect timeout, ms. */
  public static final long DEFAULT_CONNECT_TIMEOUT_MS = 1000;
  /** Default period of the cluster topology refresh, ms. */
  public static final long DEFAULT_TOPOLOGY_REFRESH_MS = 1000;
  /** Default command timeout (the client's; cache-writer uses 2 s), ms. */
  public static final long DEFAULT_COMMAND_TIMEOUT_MS = 500;

  /** The Redis deployment freshcache talks to. */
  public enum Mode {
    /** Redis Cluster: {@code nodes} are seeds; the topology is discovered and refreshed. */
    CLUSTER,
    /** One Redis server (with or without replicas): {@code nodes} holds exactly that server. */
    STANDALONE,
    /** A master found through Redis Sentinel: {@code nodes} are the Sentinels. */
    SENTINEL
  }

  /** Where reads of policies that allow replica reads go. */
  public enum ReadFrom {
    /** A replica when one is up, else the master. */
    REPLICA_PREFERRED,
    /** Only replicas. */
    REPLICA,
    /** The node with the lowest measured latency, master or replica. */
    LOWEST_LATENCY,
    /** The master (replica reads off). */
    MASTER
  }

  private final Mode mode;
  private final List<String> nodes;
  private final String sentinelMaster;
  private final String sentinelPassword;
  private final String username;
  private final String password;
  private final boolean tls;
  private final Path tlsCaFile;
  private final Path tlsTrustStore;
  private final String tlsTrustStorePassword;
  private final Path tlsCertFile;
  private final Path tlsKeyFile;
  private final boolean tlsVerifyHostname;
  private final Duration commandTimeout;
  private final Duration connectTimeout;
  private final Duration topologyRefresh;
  private final ReadFrom readFrom;
  private final boolean failFast;

  private RedisConnectionConfig(Builder b) {
    this.mode = b.mode;
    this.nodes = List.copyOf(b.nodes);
    this.sentinelMaster = b.sentinelMaster;
    this.sentinelPassword = b.sentinelPassword;
    this.username = b.username;
    this.password = b.password;
    this.tls = b.tls;
    this.tlsCaFile = b.tlsCaFile;
    this.tlsTrustStore = b.tlsTrustStore;
    this.tlsTrustStorePassword = b.tlsTrustStorePassword;
    this.tlsCertFile = b.tlsCertFile;
    this.tlsKeyFile = b.tlsKeyFile;
    this.tlsVerifyHostname = b.tlsVerifyHostname;
    this.commandTimeout = b.commandTimeout;
    this.connectTimeout = b.connectTimeout;
    this.topologyRefresh = b.topologyRefresh;
    this.readFrom = b.readFrom;
    this.failFast = b.failFast;
  }

  /** @return a builder with every setting at its default; {@code nodes} must be set */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder holding this config's settings */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.mode = mode;
    b.nodes = new ArrayList<>(nodes);
    b.sentinelMaster = sentinelMaster;
    b.sentinelPassword = sentinelPassword;
    b.username = username;
    b.password = password;
    b.tls = tls;
    b.tlsCaFile = tlsCaFile;
    b.tlsTrustStore = tlsTrustStore;
    b.tlsTrustStorePassword = tlsTrustStorePassword;
    b.tlsCertFile = tlsCertFile;
    b.tlsKeyFile = tlsKeyFile;
    b.tlsVerifyHostname = tlsVerifyHostname;
    b.commandTimeout = commandTimeout;
    b.connectTimeout = connectTimeout;
    b.topologyRefresh = topologyRefresh;
    b.readFrom = readFrom;
    b.failFast = failFast;
    return b;
  }

  /**
   * Reads the {@code REDIS_*} variables over the builder's defaults ({@code REDIS_NODES} is
   * required).
   *
   * @param env the environment
   * @return the validated config
   * @throws ConfigException naming the variable and its bad value, or the missing variable
   */
  public static RedisConnectionConfig fromEnv(EnvSettings env) {
    return fromEnv(env, builder());
  }

  /**
   * Reads the {@code REDIS_*} variables of the table above over {@code base}: variables that are
   * unset keep {@code base}'s settings (a module passes its own defaults there).
   *
   * @param env the environment
   * @param base the settings of unset variables; {@code null} for {@link #builder()}'s defaults
   *     (then {@code REDIS_NODES} is required)
   * @return the validated config
   * @throws ConfigException naming the variable and its bad value, or the missing variable
   */
  public static RedisConnectionConfig fromEnv(EnvSettings env, RedisConnectionConfig base) {
    return fromEnv(env, base == null ? builder() : base.toBuilder());
  }

  /**
   * Reads the {@code REDIS_*} variables of the table above into {@code defaults} and builds it:
   * for a module whose defaults differ from {@link #builder()}'s (cache-writer's 2 s command
   * timeout) but which has no default for {@code REDIS_NODES}, so that the variable stays
   * required.
   *
   * @param env the environment
   * @param defaults the module's defaults, e.g. {@code builder().commandTimeout(...)}; it is
   *     changed by this call
   * @return the validated config
   * @throws ConfigException naming the variable and its bad value, or the missing variable
   */
  public static RedisConnectionConfig fromEnv(EnvSettings env, Builder defaults) {
    Builder b = Objects.requireNonNull(defaults, "defaults");
    env.enumValue("REDIS_MODE", Mode.class).ifPresent(b::mode);
    env.hostPorts("REDIS_NODES").ifPresent(b::nodes);
    env.string("REDIS_SENTINEL_MASTER").ifPresent(b::sentinelMaster);
    env.secret("REDIS_SENTINEL_PASSWORD").ifPresent(b::sentinelPassword);
    env.string("REDIS_USERNAME").ifPresent(b::username);
    env.secret("REDIS_PASSWORD").ifPresent(b::password);
    env.bool("REDIS_TLS").ifPresent(b::tls);
    env.readableFile("REDIS_TLS_CA_FILE").ifPresent(b::tlsCaFile);
    env.readableFile("REDIS_TLS_TRUSTSTORE").ifPresent(p -> b.tlsTrustStore(p,
        env.secret("REDIS_TLS_TRUSTSTORE_PASSWORD").orElse(null)));
    var cert = env.readableFile("REDIS_TLS_CERT_FILE");
    var key = env.readableFile("REDIS_TLS_KEY_FILE");
    if (cert.isPresent() != key.isPresent()) {
      throw new ConfigException("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together (mutual TLS):"
          + " set both or neither");
    }
    cert.ifPresent(c -> b.tlsClientCert(c, key.get()));
    env.bool("REDIS_TLS_VERIFY_HOSTNAME").ifPresent(b::tlsVerifyHostname);
    env.duration("REDIS_COMMAND_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::commandTimeout);
    env.duration("REDIS_CONNECT_TIMEOUT_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::connectTimeout);
    env.duration("REDIS_TOPOLOGY_REFRESH_MS", ChronoUnit.MILLIS, Duration.ofMillis(100)).ifPresent(b::topologyRefresh);
    env.enumValue("REDIS_READ_FROM", ReadFrom.class).ifPresent(b::readFrom);
    env.bool("REDIS_FAIL_FAST").ifPresent(b::failFast);
    if (b.nodes == null || b.nodes.isEmpty()) {
      throw new ConfigException("REDIS_NODES is not set: give the Redis "
          + (b.mode == Mode.SENTINEL ? "Sentinels" : b.mode == Mode.STANDALONE ? "server" : "Cluster seed nodes")
          + " as host:port[,host:port...] (for the local dev stack: eval \"$(dev/stack env)\")");
    }
    try {
      return b.build();
    } catch (ConfigException e) {
      throw new ConfigException("Redis settings (REDIS_*): " + e.getMessage(), e);
    }
  }

  /** @return the topology */
  public Mode mode() {
    return mode;
  }

  /** @return cluster seeds, the standalone server, or the Sentinels, as {@code host:port} */
  public List<String> nodes() {
    return nodes;
  }

  /** @return the master name the Sentinels monitor; {@code null} unless {@link Mode#SENTINEL} */
  public String sentinelMaster() {
    return sentinelMaster;
  }

  /** @return the Sentinels' password, or {@code null} */
  public String sentinelPassword() {
    return sentinelPassword;
  }

  /** @return the ACL user name, or {@code null} for the {@code default} user */
  public String username() {
    return username;
  }

  /** @return the password (ACL user's or {@code requirepass}), or {@code null} */
  public String password() {
    return password;
  }

  /** @return whether connections use TLS */
  public boolean tls() {
    return tls;
  }

  /** @return PEM file of the CA(s) to trust, or {@code null} */
  public Path tlsCaFile() {
    return tlsCaFile;
  }

  /** @return trust store (PKCS12/JKS), or {@code null} */
  public Path tlsTrustStore() {
    return tlsTrustStore;
  }

  /** @return the trust store's password, or {@code null} */
  public String tlsTrustStorePassword() {
    return tlsTrustStorePassword;
  }

  /** @return PEM client certificate (chain) for mutual TLS, or {@code null} */
  public Path tlsCertFile() {
    return tlsCertFile;
  }

  /** @return PEM (PKCS#8) key of the client certificate, or {@code null} */
  public Path tlsKeyFile() {
    return tlsKeyFile;
  }

  /** @return whether the server's certificate must name the host connected to */
  public boolean tlsVerifyHostname() {
    return tlsVerifyHostname;
  }

  /** @return the command timeout */
  public Duration commandTimeout() {
    return commandTimeout;
  }

  /** @return the connect timeout */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  /** @return the period of the cluster topology refresh */
  public Duration topologyRefresh() {
    return topologyRefresh;
  }

  /** @return where replica reads go */
  public ReadFrom readFrom() {
    return readFrom;
  }

  /** @return whether an unreachable Redis fails the start instead of being retried */
  public boolean failFast() {
    return failFast;
  }

  /** @return a description for errors and logs: mode and addresses, e.g. {@code cluster 127.0.0.1:7000,...} */
  public String describe() {
    return mode.name().toLowerCase(java.util.Locale.ROOT) + (mode == Mode.SENTINEL
        ? " master '" + sentinelMaster + "' via " : " ") + String.join(",", nodes)
        + (tls ? " (TLS)" : "") + (username != null ? " as " + username : "");
  }

  /** @return every setting; secrets masked */
  @Override
  public String toString() {
    return "RedisConnectionConfig[mode=" + mode + ", nodes=" + nodes
        + (sentinelMaster == null ? "" : ", sentinelMaster=" + sentinelMaster)
        + (sentinelPassword == null ? "" : ", sentinelPassword=****")
        + ", username=" + (username == null ? "default" : username)
        + ", password=" + (password == null ? "none" : "****") + ", tls=" + tls
        + (tlsCaFile == null ? "" : ", tlsCaFile=" + tlsCaFile)
        + (tlsTrustStore == null ? "" : ", tlsTrustStore=" + tlsTrustStore)
        + (tlsCertFile == null ? "" : ", tlsCertFile=" + tlsCertFile + ", tlsKeyFile=" + tlsKeyFile)
        + (tls ? ", tlsVerifyHostname=" + tlsVerifyHostname : "")
        + ", commandTimeout=" + commandTimeout + ", connectTimeout=" + connectTimeout
        + ", topologyRefresh=" + topologyRefresh + ", readFrom=" + readFrom + ", failFast=" + failFast + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RedisConnectionConfig c && toString().equals(c.toString())
        && Objects.equals(password, c.password) && Objects.equals(sentinelPassword, c.sentinelPassword)
        && Objects.equals(tlsTrustStorePassword, c.tlsTrustStorePassword);
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /** Builds a {@link RedisConnectionConfig}; setters take any value, {@link #build()} validates. */
  public static final class Builder {
    private Mode mode = Mode.CLUSTER;
    private List<String> nodes = new ArrayList<>();
    private String sentinelMaster;
    private String sentinelPassword;
    private String username;
    private String password;
    private boolean tls;
    private Path tlsCaFile;
    private Path tlsTrustStore;
    private String tlsTrustStorePassword;
    private Path tlsCertFile;
    private Path tlsKeyFile;
    private boolean tlsVerifyHostname = true;
    private Duration commandTimeout = Duration.ofMillis(DEFAULT_COMMAND_TIMEOUT_MS);
    private Duration connectTimeout = Duration.ofMillis(DEFAULT_CONNECT_TIMEOUT_MS);
    private Duration topologyRefresh = Duration.ofMillis(DEFAULT_TOPOLOGY_REFRESH_MS);
    private ReadFrom readFrom = ReadFrom.REPLICA_PREFERRED;
    private boolean failFast;

    private Builder() {}

    /** @param v the topology; default {@link Mode#CLUSTER} @return this */
    public Builder mode(Mode v) {
      this.mode = v;
      return this;
    }

    /** @param v cluster seeds, the standalone server, or the Sentinels, {@code host:port} each @return this */
    public Builder nodes(List<String> v) {
      this.nodes = v == null ? null : new ArrayList<>(v);
      return this;
    }

    /** @param v nodes as {@code host:port} @return this */
    public Builder nodes(String... v) {
      return nodes(List.of(v));
    }

    /** @param v the master name the Sentinels monitor (sentinel mode) @return this */
    public Builder sentinelMaster(String v) {
      this.sentinelMaster = v;
      return this;
    }

    /** @param v the Sentinels' password, or {@code null} @return this */
    public Builder sentinelPassword(String v) {
      this.sentinelPassword = v;
      return this;
    }

    /** @param v ACL user name, or {@code null} for {@code default} @return this */
    public Builder username(String v) {
      this.username = v;
      return this;
    }

    /** @param v password, or {@code null} @return this */
    public Builder password(String v) {
      this.password = v;
      return this;
    }

    /** @param v whether to use TLS @return this */
    public Builder tls(boolean v) {
      this.tls = v;
      return this;
    }

    /** @param v PEM file of the CA(s) to trust (implies nothing about {@link #tls}) @return this */
    public Builder tlsCaFile(Path v) {
      this.tlsCaFile = v;
      return this;
    }

    /**
     * @param store PKCS12 or JKS trust store
     * @param storePassword its password, or {@code null}
     * @return this
     */
    public Builder tlsTrustStore(Path store, String storePassword) {
      this.tlsTrustStore = store;
      this.tlsTrustStorePassword = storePassword;
      return this;
    }

    /**
     * @param certFile PEM client certificate (chain), for mutual TLS
     * @param keyFile its PEM (PKCS#8) private key
     * @return this
     */
    public Builder tlsClientCert(Path certFile, Path keyFile) {
      this.tlsCertFile = certFile;
      this.tlsKeyFile = keyFile;
      return this;
    }

    /** @param v whether the server certificate must name the host; default true @return this */
    public Builder tlsVerifyHostname(boolean v) {
      this.tlsVerifyHostname = v;
      return this;
    }

    /** @param v command timeout, positive @return this */
    public Builder commandTimeout(Duration v) {
      this.commandTimeout = v;
      return this;
    }

    /** @param v connect timeout, positive @return this */
    public Builder connectTimeout(Duration v) {
      this.connectTimeout = v;
      return this;
    }

    /** @param v cluster topology refresh period, positive @return this */
    public Builder topologyRefresh(Duration v) {
      this.topologyRefresh = v;
      return this;
    }

    /** @param v where replica reads go @return this */
    public Builder readFrom(ReadFrom v) {
      this.readFrom = v;
      return this;
    }

    /** @param v fail the start when Redis is unreachable @return this */
    public Builder failFast(boolean v) {
      this.failFast = v;
      return this;
    }

    /**
     * @return the validated config
     * @throws ConfigException naming the setting ({@code redis.*}) and the bad value
     */
    public RedisConnectionConfig build() {
      if (mode == null) {
        throw ConfigException.invalid("redis.mode", null, "cluster, standalone or sentinel");
      }
      if (nodes == null || nodes.isEmpty()) {
        throw ConfigException.invalid("redis.nodes", nodes, "one or more host:port");
      }
      for (String n : nodes) {
        EnvSettings.HostPort.parse("redis.nodes", n);
      }
      if (mode == Mode.STANDALONE && nodes.size() != 1) {
        throw ConfigException.invalid("redis.nodes", String.join(",", nodes),
            "exactly one host:port in standalone mode (replicas are found through the master)");
      }
      if (mode == Mode.SENTINEL && (sentinelMaster == null || sentinelMaster.isBlank())) {
        throw new ConfigException("redis.sentinel-master is not set: sentinel mode needs the master"
            + " name the Sentinels monitor");
      }
      if (mode != Mode.SENTINEL && sentinelMaster != null) {
        throw ConfigException.invalid("redis.sentinel-master", sentinelMaster,
            "unset unless redis.mode is sentinel (mode is " + mode.name().toLowerCase(java.util.Locale.ROOT) + ")");
      }
      if (username != null && username.isBlank()) {
        throw ConfigException.invalid("redis.username", username, "a non-blank ACL user name");
      }
      if (username != null && password == null) {
        throw new ConfigException("redis.username is '" + username + "' but redis.password is not set");
      }
      if (tlsCaFile != null && tlsTrustStore != null) {
        throw new ConfigException("redis.tls-ca-file and redis.tls-truststore are both set; set one");
      }
      if ((tlsCertFile == null) != (tlsKeyFile == null)) {
        throw new ConfigException("redis.tls-cert-file and redis.tls-key-file go together; set both or neither");
      }
      if (!tls && (tlsCaFile != null || tlsTrustStore != null || tlsCertFile != null)) {
        throw new ConfigException("TLS files are set but redis.tls is false; set redis.tls=true");
      }
      positive("redis.command-timeout", commandTimeout);
      positive("redis.connect-timeout", connectTimeout);
      positive("redis.topology-refresh", topologyRefresh);
      if (readFrom == null) {
        throw ConfigException.invalid("redis.read-from", null, "replica-preferred, replica, lowest-latency or master");
      }
      return new RedisConnectionConfig(this);
    }

    private static void positive(String name, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw ConfigException.invalid(name, d, "a positive duration");
      }
    }
  }
}
