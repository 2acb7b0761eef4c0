package io.freshcache.client;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link CacheClient}. Build one with {@link #builder()} or read it from the
 * environment with {@link #fromEnv()}; either way every setting is validated and a bad one fails
 * at build time naming the setting and the value.
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code REDIS_NODES}</td><td>comma-separated {@code host:port} seed nodes</td>
 *       <td>{@value #DEFAULT_REDIS_NODES}</td></tr>
 *   <tr><td>{@code REDIS_PASSWORD}</td><td>Redis password (never logged)</td><td>none</td></tr>
 *   <tr><td>{@code REDIS_TLS}</td><td>{@code true} to connect with TLS</td><td>false</td></tr>
 *   <tr><td>{@code CACHE_DEFAULT_TTL}</td><td>TTL of {@link #defaultPolicy()}: seconds, or an
 *       ISO-8601 duration such as {@code PT10M}</td><td>3600</td></tr>
 *   <tr><td>{@code CACHE_JITTER_RANGE}</td><td>relative TTL jitter of {@link #defaultPolicy()},
 *       {@code 0.2} or {@code 20%}</td><td>0.2</td></tr>
 *   <tr><td>{@code REDIS_COMMAND_TIMEOUT_MS}</td><td>command timeout, ms</td><td>500</td></tr>
 *   <tr><td>{@code REDIS_CONNECT_TIMEOUT_MS}</td><td>connect timeout, ms</td><td>1000</td></tr>
 *   <tr><td>{@code REDIS_TOPOLOGY_REFRESH_MS}</td><td>periodic cluster topology refresh, ms</td>
 *       <td>1000</td></tr>
 * </table>
 *
 * @param redisNodes seed nodes as {@code host:port}, at least one
 * @param redisPassword the password, or {@code null}
 * @param tls whether to use TLS
 * @param defaultPolicy the policy {@link CacheClient#getOrLoad(String, Class, Loader)} uses
 * @param commandTimeout how long a Redis command may take before the read falls back
 * @param connectTimeout how long connecting to a node may take
 * @param topologyRefreshPeriod how often the cluster topology is refreshed; adaptive refresh on
 *     {@code MOVED}, {@code ASK} and reconnects is always on
 */
public record CacheClientConfig(List<String> redisNodes, String redisPassword, boolean tls,
    CachePolicy defaultPolicy, Duration commandTimeout, Duration connectTimeout,
    Duration topologyRefreshPeriod) {

  /** Default seed nodes: the local stack that {@code dev/stack} starts. */
  public static final String DEFAULT_REDIS_NODES =
      "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005";
  /** Default command timeout: 500 ms. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(500);
  /** Default connect timeout: 1 s. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(1);
  /** Default periodic topology refresh: 1 s (measured to halve failover recovery). */
  public static final Duration DEFAULT_TOPOLOGY_REFRESH = Duration.ofSeconds(1);
  /** Default policy: {@link CachePolicy#PRODUCT_CATALOG} named {@code default}. */
  public static final CachePolicy DEFAULT_POLICY = CachePolicy.of("default", Duration.ofSeconds(3600));

  /**
   * Validates the settings.
   *
   * @throws IllegalArgumentException naming the setting and the bad value
   */
  public CacheClientConfig {
    Objects.requireNonNull(redisNodes, "redisNodes");
    Objects.requireNonNull(defaultPolicy, "defaultPolicy");
    Objects.requireNonNull(commandTimeout, "commandTimeout");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(topologyRefreshPeriod, "topologyRefreshPeriod");
    if (redisNodes.isEmpty()) {
      throw new IllegalArgumentException("redisNodes must name at least one host:port");
    }
    redisNodes = List.copyOf(redisNodes);
    for (String node : redisNodes) {
      parseNode(node);
    }
    positive("commandTimeout", commandTimeout);
    positive("connectTimeout", connectTimeout);
    positive("topologyRefreshPeriod", topologyRefreshPeriod);
  }

  /** @return a builder with every setting at its default */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads the settings from the process environment; see the table above.
   *
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CacheClientConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /**
   * Reads the settings from {@code env}, as {@link #fromEnv()} does from the process environment.
   *
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CacheClientConfig fromEnv(Map<String, String> env) {
    Builder b = builder();
    String nodes = env.get("REDIS_NODES");
    if (nodes != null && !nodes.isBlank()) {
      List<String> list = new ArrayList<>();
      for (String n : nodes.split(",")) {
        String t = n.trim();
        if (!t.isEmpty()) {
          try {
            parseNode(t);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("REDIS_NODES: " + e.getMessage(), e);
          }
          list.add(t);
        }
      }
      b.redisNodes(list);
    }
    String pw = env.get("REDIS_PASSWORD");
    if (pw != null && !pw.isEmpty()) {
      b.redisPassword(pw);
    }
    String tls = env.get("REDIS_TLS");
    if (tls != null && !tls.isBlank()) {
      if (!tls.equalsIgnoreCase("true") && !tls.equalsIgnoreCase("false")) {
        throw new IllegalArgumentException("REDIS_TLS must be true or false but was '" + tls + "'");
      }
      b.tls(Boolean.parseBoolean(tls));
    }
    CachePolicy policy = DEFAULT_POLICY;
    String ttl = env.get("CACHE_DEFAULT_TTL");
    if (ttl != null && !ttl.isBlank()) {
      policy = policy.withTtl(parseDuration("CACHE_DEFAULT_TTL", ttl, true));
    }
    String jitter = env.get("CACHE_JITTER_RANGE");
    if (jitter != null && !jitter.isBlank()) {
      try {
        String t = jitter.trim();
        double j = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1)) / 100
            : Double.parseDouble(t);
        policy = policy.withJitter(j);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("CACHE_JITTER_RANGE must be a fraction in [0, 0.9] such"
            + " as 0.2 or 20% but was '" + jitter + "'", e);
      }
    }
    b.defaultPolicy(policy);
    b.commandTimeout(envMillis(env, "REDIS_COMMAND_TIMEOUT_MS", DEFAULT_COMMAND_TIMEOUT));
    b.connectTimeout(envMillis(env, "REDIS_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT));
    b.topologyRefreshPeriod(envMillis(env, "REDIS_TOPOLOGY_REFRESH_MS", DEFAULT_TOPOLOGY_REFRESH));
    return b.build();
  }

  /** @return the password masked, so the record can be logged */
  @Override
  public String toString() {
    return "CacheClientConfig[redisNodes=" + redisNodes + ", redisPassword="
        + (redisPassword == null ? "none" : "****") + ", tls=" + tls + ", defaultPolicy="
        + defaultPolicy + ", commandTimeout=" + commandTimeout + ", connectTimeout="
        + connectTimeout + ", topologyRefreshPeriod=" + topologyRefreshPeriod + "]";
  }

  static String[] parseNode(String node) {
    int colon = node == null ? -1 : node.lastIndexOf(':');
    if (colon <= 0 || colon == node.length() - 1) {
      throw new IllegalArgumentException("node must be host:port but was '" + node + "'");
    }
    String port = node.substring(colon + 1);
    try {
      int p = Integer.parseInt(port);
      if (p < 1 || p > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("node port must be 1..65535 but was '" + port
          + "' in '" + node + "'", e);
    }
    return new String[] {node.substring(0, colon), port};
  }

  private static Duration envMillis(Map<String, String> env, String name, Duration dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long ms = Long.parseLong(v.trim());
      if (ms <= 0) {
        throw new NumberFormatException();
      }
      return Duration.ofMillis(ms);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a positive number of milliseconds but was '"
          + v + "'", e);
    }
  }

  static Duration parseDuration(String name, String value, boolean secondsIfBare) {
    String t = value.trim();
    try {
      if (t.matches("\\d+")) {
        long n = Long.parseLong(t);
        if (n <= 0) {
          throw new IllegalArgumentException();
        }
        return secondsIfBare ? Duration.ofSeconds(n) : Duration.ofMillis(n);
      }
      Duration d = Duration.parse(t);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException();
      }
      return d;
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new IllegalArgumentException(name + " must be a positive number of seconds or an"
          + " ISO-8601 duration such as PT10M but was '" + value + "'", e);
    }
  }

  private static void positive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive but was " + d);
    }
  }

  /** Builds a {@link CacheClientConfig}; every setting starts at its default. */
  public static final class Builder {
    private List<String> redisNodes = List.of(DEFAULT_REDIS_NODES.split(","));
    private String redisPassword;
    private boolean tls;
    private CachePolicy defaultPolicy = DEFAULT_POLICY;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration topologyRefreshPeriod = DEFAULT_TOPOLOGY_REFRESH;

    private Builder() {}

    /** @param nodes seed nodes as {@code host:port} */
    public Builder redisNodes(List<String> nodes) {
      this.redisNodes = nodes;
      return this;
    }

    /** @param password the Redis password, or {@code null} for none */
    public Builder redisPassword(String password) {
      this.redisPassword = password;
      return this;
    }

    /** @param tls whether to connect with TLS */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** @param policy the default policy */
    public Builder defaultPolicy(CachePolicy policy) {
      this.defaultPolicy = policy;
      return this;
    }

    /** @param timeout the command timeout */
    public Builder commandTimeout(Duration timeout) {
      this.commandTimeout = timeout;
      return this;
    }

    /** @param timeout the connect timeout */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /** @param period the periodic topology refresh */
    public Builder topologyRefreshPeriod(Duration period) {
      this.topologyRefreshPeriod = period;
      return this;
    }

    /**
     * @return the validated config
     * @throws IllegalArgumentException naming the bad setting and value
     */
    public CacheClientConfig build() {
      return new CacheClientConfig(redisNodes, redisPassword, tls, defaultPolicy, commandTimeout,
          connectTimeout, topologyRefreshPeriod);
    }
  }
}
