package io.freshcache.protocol.config;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * How a freshcache part reaches Kafka: the bootstrap servers and any Kafka client properties the
 * user passes through (security protocol, SASL, TLS stores, client id, timeouts...). One model for
 * cdc-ingest (producer and offset store), cache-writer (consumer, producer, write-behind sink) and
 * the client library's publisher.
 *
 * <p>From the environment ({@link #fromEnv}): {@code KAFKA_BOOTSTRAP_SERVERS}, and every other
 * {@code KAFKA_*} variable becomes the matching client property: {@code KAFKA_SECURITY_PROTOCOL}
 * is {@code security.protocol}, {@code KAFKA_SASL_JAAS_CONFIG} is {@code sasl.jaas.config},
 * {@code KAFKA_SSL_TRUSTSTORE_LOCATION} is {@code ssl.truststore.location} ({@code _} becomes
 * {@code .}, {@code __} {@code _}, {@code ___} {@code -}); {@code KAFKA_X_FILE} reads the value of
 * {@code x} from a file (for secrets). Kafka's own script variables ({@code KAFKA_HEAP_OPTS},
 * {@code KAFKA_OPTS}...) and the variables Kubernetes injects for a service named {@code kafka}
 * ({@code KAFKA_PORT}, {@code KAFKA_SERVICE_HOST}...) are ignored.
 *
 * <p>Properties that freshcache sets itself because its guarantees depend on them (serializers,
 * offset commits, acknowledgements, idempotence, isolation) cannot be passed through: each module
 * names them in {@link #apply}, and passing one is a {@link ConfigException}.
 *
 * <p>Values of secret properties (passwords, JAAS configs, keys) are masked in {@link #toString}.
 */
public final class KafkaClientConfig {
  /** Default bootstrap servers: the local dev stack's broker. */
  public static final String DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092";

  /** {@code KAFKA_*} variables that are not client properties. */
  static final Set<String> NOT_PROPERTIES = Set.of("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_HEAP_OPTS",
      "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_JMX_OPTS",
      "KAFKA_GC_LOG_OPTS", "KAFKA_DEBUG", "KAFKA_HOME", "KAFKA_VERSION", "KAFKA_LOG_DIR",
      "KAFKA_CLUSTER_ID");

  private final String bootstrapServers;
  private final Map<String, String> properties;

  private KafkaClientConfig(Builder b) {
    this.bootstrapServers = b.bootstrapServers;
    this.properties = Collections.unmodifiableMap(new TreeMap<>(b.properties));
  }

  /** @return a builder with the default bootstrap servers and no extra properties */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder holding this config's settings */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.bootstrapServers = bootstrapServers;
    b.properties.putAll(properties);
    return b;
  }

  /**
   * Reads {@code KAFKA_BOOTSTRAP_SERVERS} and the pass-through {@code KAFKA_*} properties over
   * {@code base}.
   *
   * @param env the environment
   * @param base settings of unset variables, or {@code null} for the defaults
   * @return the validated config
   * @throws ConfigException naming the variable and its bad value
   */
  public static KafkaClientConfig fromEnv(EnvSettings env, KafkaClientConfig base) {
    Builder b = base == null ? builder() : base.toBuilder();
    env.string("KAFKA_BOOTSTRAP_SERVERS").ifPresent(v -> {
      try {
        b.bootstrapServers(v).check();
      } catch (ConfigException e) {
        throw ConfigException.invalid("KAFKA_BOOTSTRAP_SERVERS", v, "host:port[,host:port...]");
      }
    });
    env.properties("KAFKA_", NOT_PROPERTIES).forEach(b::property);
    return b.build();
  }

  /** @return the bootstrap servers, {@code host:port,...} */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** @return the pass-through client properties (not including {@code bootstrap.servers}) */
  public Map<String, String> properties() {
    return properties;
  }

  /** @return whether the pass-through properties ask for a security protocol other than PLAINTEXT */
  public boolean secured() {
    String p = properties.get("security.protocol");
    return p != null && !p.equalsIgnoreCase("PLAINTEXT");
  }

  /**
   * The properties of one Kafka client: {@code moduleDefaults}, then the bootstrap servers, then
   * the pass-through properties (which may override the module's defaults, except
   * {@code reserved}).
   *
   * @param moduleDefaults the module's own settings for this client (serializers, acks...)
   * @param reserved property names the user may not override, because the module's guarantees
   *     depend on them
   * @return a new mutable map for {@code KafkaProducer}/{@code KafkaConsumer}/{@code Admin}
   * @throws ConfigException naming the variable of a reserved property that was passed
   */
  public Map<String, Object> apply(Map<String, ?> moduleDefaults, Set<String> reserved) {
    Map<String, Object> out = new HashMap<>(moduleDefaults);
    out.put("bootstrap.servers", bootstrapServers);
    for (Map.Entry<String, String> e : properties.entrySet()) {
      if (reserved.contains(e.getKey())) {
        throw new ConfigException(variableOf(e.getKey()) + " (Kafka property " + e.getKey()
            + ") cannot be set: freshcache sets it itself"
            + (moduleDefaults.containsKey(e.getKey()) ? " to " + moduleDefaults.get(e.getKey()) : ""));
      }
      out.put(e.getKey(), e.getValue());
    }
    return out;
  }

  /**
   * @param property a Kafka client property, e.g. {@code sasl.jaas.config}
   * @return the environment variable that sets it, e.g. {@code KAFKA_SASL_JAAS_CONFIG}
   */
  public static String variableOf(String property) {
    return EnvSettings.variableOf("KAFKA_", property);
  }

  /** @return bootstrap servers and properties; secret values masked */
  @Override
  public String toString() {
    return "KafkaClientConfig[bootstrapServers=" + bootstrapServers + ", properties="
        + EnvSettings.masked(properties) + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KafkaClientConfig k && bootstrapServers.equals(k.bootstrapServers)
        && properties.equals(k.properties);
  }

  @Override
  public int hashCode() {
    return Objects.hash(bootstrapServers, properties);
  }

  /** Builds a {@link KafkaClientConfig}; {@link #build()} validates. */
  public static final class Builder {
    private String bootstrapServers = DEFAULT_BOOTSTRAP_SERVERS;
    private final Map<String, String> properties = new TreeMap<>();

    private Builder() {}

    /** @param v {@code host:port[,host:port...]} @return this */
    public Builder bootstrapServers(String v) {
      this.bootstrapServers = v;
      return this;
    }

    /**
     * @param name a Kafka client property, e.g. {@code security.protocol}
     * @param value its value; {@code null} removes it
     * @return this
     */
    public Builder property(String name, String value) {
      Objects.requireNonNull(name, "name");
      if (value == null) {
        properties.remove(name);
      } else {
        properties.put(name, value);
      }
      return this;
    }

    /** @param v properties to add @return this */
    public Builder properties(Map<String, String> v) {
      v.forEach(this::property);
      return this;
    }

    private Builder check() {
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw ConfigException.invalid("kafka.bootstrap-servers", bootstrapServers, "host:port[,host:port...]");
      }
      for (String s : bootstrapServers.split(",")) {
        EnvSettings.HostPort.parse("kafka.bootstrap-servers", s);
      }
      return this;
    }

    /**
     * @return the validated config
     * @throws ConfigException if the bootstrap servers are not {@code host:port} items, or a
     *     property is {@code bootstrap.servers} (set that with {@link #bootstrapServers})
     */
    public KafkaClientConfig build() {
      check();
      if (properties.containsKey("bootstrap.servers")) {
        throw new ConfigException("bootstrap.servers is set as a property; use bootstrapServers");
      }
      return new KafkaClientConfig(this);
    }
  }
}
