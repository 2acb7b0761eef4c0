package io.freshcache.writer;

import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.EnvSettings;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.postgresql.PGProperty;

/**
 * Settings of the write-behind database sink ({@link WriteBehindSink}), the sink part of
 * {@link CacheWriterConfig}. The sink is on only for the entities that have a {@link SinkRule};
 * {@link #fromEnv(Map)} returns {@code null} when {@code WRITER_SINK_RULES} is empty.
 *
 * <p>Immutable; built by {@link #builder()} (or {@link #toBuilder()}), whose {@link Builder#build()}
 * validates and throws a {@link ConfigException} naming the setting and the bad value.
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code WRITER_SINK_RULES}</td><td>{@code ;}-separated {@link SinkRule}s,
 *       {@code service:entity=[schema.]table(keyColumn,versionColumn)}</td><td>none: sink off</td></tr>
 *   <tr><td>{@code WRITER_SINK_JDBC_URL}</td><td>PostgreSQL JDBC URL (may carry driver
 *       parameters such as {@code ?sslmode=verify-full})</td><td>{@code JDBC_URL}</td></tr>
 *   <tr><td>{@code WRITER_SINK_DB_USER}</td><td>database user</td><td>{@code PG_USER}</td></tr>
 *   <tr><td>{@code WRITER_SINK_DB_PASSWORD} / {@code _FILE}</td><td>database password (never
 *       logged)</td><td>{@code PG_PASSWORD} / {@code _FILE}</td></tr>
 *   <tr><td>{@code WRITER_SINK_JDBC_*}</td><td>PostgreSQL JDBC driver properties:
 *       {@code WRITER_SINK_JDBC_SSLMODE=verify-full} is {@code sslmode},
 *       {@code WRITER_SINK_JDBC_SSLROOTCERT} {@code sslrootcert}, {@code ..._SSLCERT},
 *       {@code ..._SSLKEY}, {@code ..._SSLPASSWORD} (a {@code _FILE} variant reads a file); names
 *       match the driver's properties ignoring case; {@code user}, {@code password} and
 *       {@code reWriteBatchedInserts} are reserved</td><td>none</td></tr>
 *   <tr><td>{@code WRITER_SINK_TOPIC}</td><td>topic of application writes</td><td>{@value #DEFAULT_TOPIC}</td></tr>
 *   <tr><td>{@code WRITER_SINK_BATCH_SIZE}</td><td>rows that trigger a flush</td><td>{@value #DEFAULT_BATCH_SIZE}</td></tr>
 *   <tr><td>{@code WRITER_SINK_FLUSH_MS}</td><td>longest time a row waits for its flush</td><td>200 ms</td></tr>
 * </table>
 */
public final class WriteBehindConfig {
  /** Default topic: application writes. */
  public static final String DEFAULT_TOPIC = "freshcache.writes";
  /** Default flush size. */
  public static final int DEFAULT_BATCH_SIZE = 500;
  /** Default flush interval: 200 ms. */
  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofMillis(200);
  /**
   * JDBC properties the sink sets itself: the credentials have their own settings, and the sink
   * counts the rows of each batch statement, which {@code reWriteBatchedInserts} would merge.
   */
  public static final Set<String> RESERVED_JDBC_PROPERTIES = Set.of("user", "password", "reWriteBatchedInserts");

  private final String jdbcUrl;
  private final String user;
  private final String password;
  private final Map<String, String> jdbcProperties;
  private final List<SinkRule> rules;
  private final String topic;
  private final int batchSize;
  private final Duration flushInterval;

  private WriteBehindConfig(Builder b) {
    this.jdbcUrl = b.jdbcUrl;
    this.user = b.user;
    this.password = b.password;
    this.jdbcProperties = Collections.unmodifiableMap(new TreeMap<>(b.jdbcProperties));
    this.rules = List.copyOf(b.rules);
    this.topic = b.topic;
    this.batchSize = b.batchSize;
    this.flushInterval = b.flushInterval;
  }

  /** @return a builder with the defaults; the JDBC URL and at least one rule must be set */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder holding these settings */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.jdbcUrl = jdbcUrl;
    b.user = user;
    b.password = password;
    b.jdbcProperties.putAll(jdbcProperties);
    b.rules = new ArrayList<>(rules);
    b.topic = topic;
    b.batchSize = batchSize;
    b.flushInterval = flushInterval;
    return b;
  }

  /** @return the PostgreSQL JDBC URL (may hold secrets in its parameters: log {@link #toString()}) */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  /** @return the JDBC URL with secret parameters masked, for logs and errors */
  public String jdbcUrlMasked() {
    return EnvSettings.maskedUrl(jdbcUrl);
  }

  /** @return the database user, or {@code null} to send none */
  public String user() {
    return user;
  }

  /** @return the database password, or {@code null} to send none */
  public String password() {
    return password;
  }

  /** @return further PostgreSQL JDBC driver properties (TLS: {@code sslmode}, {@code sslrootcert}...) */
  public Map<String, String> jdbcProperties() {
    return jdbcProperties;
  }

  /** @return one rule per entity, at least one */
  public List<SinkRule> rules() {
    return rules;
  }

  /** @return the topic of application writes whose upserts are written */
  public String topic() {
    return topic;
  }

  /** @return rows buffered before a flush */
  public int batchSize() {
    return batchSize;
  }

  /** @return the longest a buffered row waits for its flush */
  public Duration flushInterval() {
    return flushInterval;
  }

  /**
   * @param entity {@code service:entity} of a logical key, e.g. {@code catalog:product}
   * @return the rule for {@code entity}, or {@code null} if it has none
   */
  public SinkRule ruleFor(String entity) {
    for (SinkRule r : rules) {
      if (r.entity().equals(entity)) {
        return r;
      }
    }
    return null;
  }

  /**
   * @param newRules at least one rule, each entity once
   * @return these settings with other rules
   * @throws ConfigException if {@code newRules} is empty or names an entity twice
   */
  public WriteBehindConfig withRules(List<SinkRule> newRules) {
    return toBuilder().rules(newRules).build();
  }

  /**
   * @param newTopic the topic of application writes; not blank
   * @return these settings reading another topic
   * @throws ConfigException if {@code newTopic} is blank
   */
  public WriteBehindConfig withTopic(String newTopic) {
    return toBuilder().topic(newTopic).build();
  }

  /**
   * @param newBatchSize rows buffered before a flush, 1..100000
   * @param newFlushInterval the longest a buffered row waits for its flush, 1 ms..10 min
   * @return these settings with another flush size and interval
   * @throws ConfigException if a value is out of range
   */
  public WriteBehindConfig withFlush(int newBatchSize, Duration newFlushInterval) {
    return toBuilder().batchSize(newBatchSize).flushInterval(newFlushInterval).build();
  }

  /**
   * Reads the settings from {@code env}; see the table above.
   *
   * @param env variable name to value, e.g. {@link System#getenv()}; not null
   * @return the settings, or {@code null} if {@code WRITER_SINK_RULES} is unset or blank
   * @throws ConfigException naming the variable and its bad value
   */
  public static WriteBehindConfig fromEnv(Map<String, String> env) {
    return fromEnv(EnvSettings.of(env));
  }

  /**
   * Reads the settings through the shared reader; see the table above.
   *
   * @param env the environment
   * @return the settings, or {@code null} if {@code WRITER_SINK_RULES} is unset or blank
   * @throws ConfigException naming the variable and its bad value
   */
  public static WriteBehindConfig fromEnv(EnvSettings env) {
    var rulesText = env.string("WRITER_SINK_RULES");
    if (rulesText.isEmpty()) {
      return null;
    }
    Builder b = builder();
    try {
      b.rules(SinkRule.parseAll(rulesText.get()));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("WRITER_SINK_RULES: " + e.getMessage(), e);
    }
    String url = env.string("WRITER_SINK_JDBC_URL").or(() -> env.string("JDBC_URL"))
        .orElseThrow(() -> new ConfigException("WRITER_SINK_JDBC_URL is not set: the sink"
            + " (WRITER_SINK_RULES) needs the database's JDBC URL (or JDBC_URL)"));
    if (!url.startsWith("jdbc:postgresql:")) {
      throw ConfigException.invalid(env.string("WRITER_SINK_JDBC_URL").isPresent() ? "WRITER_SINK_JDBC_URL"
          : "JDBC_URL", EnvSettings.maskedUrl(url), "a jdbc:postgresql: URL");
    }
    b.jdbcUrl(url);
    b.user(env.string("WRITER_SINK_DB_USER").or(() -> env.string("PG_USER")).orElse(null));
    b.password(env.secret("WRITER_SINK_DB_PASSWORD").or(() -> env.secret("PG_PASSWORD")).orElse(null));
    env.properties("WRITER_SINK_JDBC_", Set.of("WRITER_SINK_JDBC_URL")).forEach((name, value) -> {
      String variable = EnvSettings.variableOf("WRITER_SINK_JDBC_", name);
      String canonical = driverProperty(name);
      if (canonical == null) {
        throw ConfigException.invalid(variable, name, "a PostgreSQL JDBC driver property (sslmode,"
            + " sslrootcert, sslcert, sslkey, sslpassword, ...)");
      }
      if (RESERVED_JDBC_PROPERTIES.contains(canonical)) {
        throw new ConfigException(variable + " (JDBC property " + canonical + ") cannot be set: "
            + (canonical.equals("reWriteBatchedInserts") ? "the sink sets it to false"
            : "use WRITER_SINK_DB_USER / WRITER_SINK_DB_PASSWORD"));
      }
      b.jdbcProperty(canonical, value);
    });
    env.string("WRITER_SINK_TOPIC").ifPresent(b::topic);
    env.integer("WRITER_SINK_BATCH_SIZE", 1, 100_000).ifPresent(b::batchSize);
    env.duration("WRITER_SINK_FLUSH_MS", ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::flushInterval);
    return b.build();
  }

  /** @return the PostgreSQL driver's name of property {@code name} (matched ignoring case), or null */
  static String driverProperty(String name) {
    for (PGProperty p : PGProperty.values()) {
      if (p.getName().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
        return p.getName();
      }
    }
    return null;
  }

  /** @return every setting; the password, secret JDBC properties and URL parameters masked */
  @Override
  public String toString() {
    return "WriteBehindConfig[jdbcUrl=" + jdbcUrlMasked() + ", user=" + user + ", password="
        + (password == null ? "none" : "****") + ", jdbcProperties=" + EnvSettings.masked(jdbcProperties)
        + ", rules=" + rules + ", topic=" + topic + ", batchSize=" + batchSize + ", flushInterval="
        + flushInterval + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WriteBehindConfig c && toString().equals(c.toString()) && jdbcUrl.equals(c.jdbcUrl)
        && Objects.equals(password, c.password) && jdbcProperties.equals(c.jdbcProperties);
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /** Builds a {@link WriteBehindConfig}; the setters take any value, {@link #build()} validates. */
  public static final class Builder {
    private String jdbcUrl;
    private String user;
    private String password;
    private final Map<String, String> jdbcProperties = new TreeMap<>();
    private List<SinkRule> rules = new ArrayList<>();
    private String topic = DEFAULT_TOPIC;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Duration flushInterval = DEFAULT_FLUSH_INTERVAL;

    private Builder() {}

    /** @param v a {@code jdbc:postgresql:} URL; required @return this builder */
    public Builder jdbcUrl(String v) {
      jdbcUrl = v;
      return this;
    }

    /** @param v the database user, or {@code null} to send none @return this builder */
    public Builder user(String v) {
      user = v;
      return this;
    }

    /** @param v the database password, or {@code null} to send none @return this builder */
    public Builder password(String v) {
      password = v;
      return this;
    }

    /**
     * @param name a PostgreSQL JDBC driver property, e.g. {@code sslmode}; not one of
     *     {@link #RESERVED_JDBC_PROPERTIES}
     * @param value its value; {@code null} removes it
     * @return this builder
     */
    public Builder jdbcProperty(String name, String value) {
      Objects.requireNonNull(name, "name");
      if (value == null) {
        jdbcProperties.remove(name);
      } else {
        jdbcProperties.put(name, value);
      }
      return this;
    }

    /** @param v rules, at least one, each entity once; copied @return this builder */
    public Builder rules(List<SinkRule> v) {
      rules = v == null ? null : new ArrayList<>(v);
      return this;
    }

    /** @param v the topic of application writes, not blank; default {@value #DEFAULT_TOPIC} @return this builder */
    public Builder topic(String v) {
      topic = v;
      return this;
    }

    /** @param v rows buffered before a flush, 1..100000; default {@value #DEFAULT_BATCH_SIZE} @return this builder */
    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    /** @param v the longest a buffered row waits, 1 ms..10 min; default 200 ms @return this builder */
    public Builder flushInterval(Duration v) {
      flushInterval = v;
      return this;
    }

    /**
     * @return the validated settings
     * @throws ConfigException naming the setting and its bad value
     */
    public WriteBehindConfig build() {
      if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
        throw ConfigException.invalid("sink.jdbcUrl", EnvSettings.maskedUrl(jdbcUrl), "a jdbc:postgresql: URL");
      }
      if (rules == null || rules.isEmpty()) {
        throw ConfigException.invalid("sink.rules", rules, "at least one rule");
      }
      if (rules.contains(null)) {
        throw ConfigException.invalid("sink.rules", rules, "rules without null");
      }
      if (rules.stream().map(SinkRule::entity).distinct().count() != rules.size()) {
        throw ConfigException.invalid("sink.rules", rules, "one rule per entity");
      }
      for (String reserved : RESERVED_JDBC_PROPERTIES) {
        if (jdbcProperties.containsKey(reserved)) {
          throw new ConfigException("sink JDBC property " + reserved + " cannot be set: "
              + (reserved.equals("reWriteBatchedInserts") ? "the sink sets it to false" : "use user/password"));
        }
      }
      if (topic == null || topic.isBlank()) {
        throw ConfigException.invalid("sink.topic", topic, "a topic name");
      }
      if (batchSize < 1 || batchSize > 100_000) {
        throw ConfigException.invalid("sink.batchSize", batchSize, "in 1..100000");
      }
      if (flushInterval == null || flushInterval.toMillis() < 1 || flushInterval.compareTo(Duration.ofMinutes(10)) > 0) {
        throw ConfigException.invalid("sink.flushInterval", flushInterval, "in 1 ms..10 min");
      }
      return new WriteBehindConfig(this);
    }
  }
}
