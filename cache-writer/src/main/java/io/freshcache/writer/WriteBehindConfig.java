package io.freshcache.writer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of the write-behind database sink ({@link WriteBehindSink}). The sink is on only for
 * the entities that have a {@link SinkRule}; {@link #fromEnv(Map)} returns {@code null} when
 * {@code WRITER_SINK_RULES} is empty.
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>setting</th><th>default</th></tr>
 *   <tr><td>{@code WRITER_SINK_RULES}</td><td>{@code ;}-separated {@link SinkRule}s,
 *       {@code service:entity=[schema.]table(keyColumn,versionColumn)}</td><td>none: sink off</td></tr>
 *   <tr><td>{@code WRITER_SINK_JDBC_URL}</td><td>PostgreSQL JDBC URL</td><td>{@code JDBC_URL}</td></tr>
 *   <tr><td>{@code WRITER_SINK_DB_USER}</td><td>database user</td><td>{@code PG_USER}</td></tr>
 *   <tr><td>{@code WRITER_SINK_DB_PASSWORD}</td><td>database password (never logged)</td><td>{@code PG_PASSWORD}</td></tr>
 *   <tr><td>{@code WRITER_SINK_TOPIC}</td><td>topic of application writes</td><td>{@value #DEFAULT_TOPIC}</td></tr>
 *   <tr><td>{@code WRITER_SINK_BATCH_SIZE}</td><td>rows that trigger a flush</td><td>{@value #DEFAULT_BATCH_SIZE}</td></tr>
 *   <tr><td>{@code WRITER_SINK_FLUSH_MS}</td><td>longest time a row waits for its flush, ms</td><td>200</td></tr>
 * </table>
 *
 * @param jdbcUrl the PostgreSQL JDBC URL
 * @param user the database user, or {@code null}
 * @param password the database password, or {@code null}
 * @param rules one rule per entity, at least one
 * @param topic the topic of application writes whose upserts are written
 * @param batchSize rows buffered before a flush, 1..100000
 * @param flushInterval the longest a buffered row waits for its flush, 1 ms..10 min
 */
public record WriteBehindConfig(String jdbcUrl, String user, String password, List<SinkRule> rules,
    String topic, int batchSize, Duration flushInterval) {

  /** Default topic: application writes. */
  public static final String DEFAULT_TOPIC = "freshcache.writes";
  /** Default flush size. */
  public static final int DEFAULT_BATCH_SIZE = 500;
  /** Default flush interval: 200 ms. */
  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofMillis(200);

  /**
   * Validates the settings; {@code rules} is copied.
   *
   * @param jdbcUrl a URL starting with {@code jdbc:postgresql:}; not null
   * @param user the database user, or {@code null} to send none
   * @param password the database password, or {@code null} to send none
   * @param rules at least one rule, each entity once; not null and without null elements
   * @param topic the topic of application writes; not null or blank
   * @param batchSize 1..100000
   * @param flushInterval 1 ms..10 min; not null
   * @throws IllegalArgumentException naming the setting and the bad value
   * @throws NullPointerException if {@code jdbcUrl}, {@code rules}, {@code topic} or
   *     {@code flushInterval} is null, or {@code rules} contains null
   */
  public WriteBehindConfig {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(rules, "rules");
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(flushInterval, "flushInterval");
    if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("jdbcUrl must be a jdbc:postgresql: URL but was '" + jdbcUrl + "'");
    }
    rules = List.copyOf(rules);
    if (rules.isEmpty()) {
      throw new IllegalArgumentException("rules must name at least one entity");
    }
    if (rules.stream().map(SinkRule::entity).distinct().count() != rules.size()) {
      throw new IllegalArgumentException("rules must name each entity once but were " + rules);
    }
    if (topic.isBlank()) {
      throw new IllegalArgumentException("topic must not be blank");
    }
    if (batchSize < 1 || batchSize > 100_000) {
      throw new IllegalArgumentException("batchSize must be in 1..100000 but was " + batchSize);
    }
    if (flushInterval.toMillis() < 1 || flushInterval.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("flushInterval must be in 1 ms..10 min but was " + flushInterval);
    }
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
   * @throws IllegalArgumentException if {@code newRules} is empty or names an entity twice
   * @throws NullPointerException if {@code newRules} is null or contains null
   */
  public WriteBehindConfig withRules(List<SinkRule> newRules) {
    return new WriteBehindConfig(jdbcUrl, user, password, newRules, topic, batchSize, flushInterval);
  }

  /**
   * @param newTopic the topic of application writes; not blank
   * @return these settings reading another topic
   * @throws IllegalArgumentException if {@code newTopic} is blank
   * @throws NullPointerException if {@code newTopic} is null
   */
  public WriteBehindConfig withTopic(String newTopic) {
    return new WriteBehindConfig(jdbcUrl, user, password, rules, newTopic, batchSize, flushInterval);
  }

  /**
   * @param newBatchSize rows buffered before a flush, 1..100000
   * @param newFlushInterval the longest a buffered row waits for its flush, 1 ms..10 min
   * @return these settings with another flush size and interval
   * @throws IllegalArgumentException if a value is out of range
   * @throws NullPointerException if {@code newFlushInterval} is null
   */
  public WriteBehindConfig withFlush(int newBatchSize, Duration newFlushInterval) {
    return new WriteBehindConfig(jdbcUrl, user, password, rules, topic, newBatchSize, newFlushInterval);
  }

  /**
   * Reads the settings from {@code env}; see the table above. For the JDBC URL, user and
   * password a blank variable counts as unset and the fallback variable is read.
   *
   * @param env variable name to value, e.g. {@link System#getenv()}; not null
   * @return the settings, or {@code null} if {@code WRITER_SINK_RULES} is unset or blank
   * @throws IllegalArgumentException naming the variable and its bad value
   * @throws NullPointerException if {@code env} is null
   */
  public static WriteBehindConfig fromEnv(Map<String, String> env) {
    String rulesText = env.get("WRITER_SINK_RULES");
    if (rulesText == null || rulesText.isBlank()) {
      return null;
    }
    List<SinkRule> rules;
    try {
      rules = SinkRule.parseAll(rulesText);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("WRITER_SINK_RULES: " + e.getMessage(), e);
    }
    String url = first(env, "WRITER_SINK_JDBC_URL", "JDBC_URL");
    if (url == null) {
      throw new IllegalArgumentException("WRITER_SINK_JDBC_URL: must be set when WRITER_SINK_RULES is"
          + " (or JDBC_URL) but was unset");
    }
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("WRITER_SINK_JDBC_URL: must be a jdbc:postgresql: URL but was '"
          + url + "'");
    }
    int size = (int) CacheWriterConfig.positive(env, "WRITER_SINK_BATCH_SIZE", DEFAULT_BATCH_SIZE, 100_000);
    long flushMs = CacheWriterConfig.positive(env, "WRITER_SINK_FLUSH_MS", DEFAULT_FLUSH_INTERVAL.toMillis(),
        600_000);
    String topic = env.getOrDefault("WRITER_SINK_TOPIC", DEFAULT_TOPIC);
    if (topic.isBlank()) {
      throw new IllegalArgumentException("WRITER_SINK_TOPIC: must not be blank but was '" + topic + "'");
    }
    return new WriteBehindConfig(url, first(env, "WRITER_SINK_DB_USER", "PG_USER"),
        first(env, "WRITER_SINK_DB_PASSWORD", "PG_PASSWORD"), rules, topic.trim(), size,
        Duration.ofMillis(flushMs));
  }

  /** @return every setting, the password masked */
  @Override
  public String toString() {
    return "WriteBehindConfig[jdbcUrl=" + jdbcUrl + ", user=" + user + ", password="
        + (password == null ? "none" : "****") + ", rules=" + rules + ", topic=" + topic
        + ", batchSize=" + batchSize + ", flushInterval=" + flushInterval + "]";
  }

  private static String first(Map<String, String> env, String name, String fallback) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      v = env.get(fallback);
    }
    return v == null || v.isBlank() ? null : v.trim();
  }
}
