package io.freshcache.ops.checker;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Settings of the {@link ConsistencyChecker}, validated here; {@link #fromEnv(Map)} reads them
 * from the environment (connections are read by {@code OpsRedis}, {@code OpsKafka} and
 * {@code OpsDb} from the variables every service uses).
 *
 * <table>
 *   <caption>Environment variables</caption>
 *   <tr><th>variable</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>{@code CHECKER_TOPICS}</td><td>topics to follow</td><td>{@value #DEFAULT_TOPICS}</td></tr>
 *   <tr><td>{@code CHECKER_GROUP_ID}</td><td>its own consumer group</td><td>{@value #DEFAULT_GROUP}</td></tr>
 *   <tr><td>{@code CHECKER_DELAY}</td><td>M: how long after an event's commit its key is checked</td><td>10s</td></tr>
 *   <tr><td>{@code CHECKER_WINDOWS}</td><td>longer windows at which an apparent violation is checked again; after the
 *       last it is confirmed against the database</td><td>{@value #DEFAULT_WINDOWS}</td></tr>
 *   <tr><td>{@code CHECKER_SAMPLE_RATE}</td><td>share of events checked, (0, 1]</td><td>1</td></tr>
 *   <tr><td>{@code CHECKER_CONFIRM_RATE}</td><td>database look-ups per second, at most</td><td>10</td></tr>
 *   <tr><td>{@code CHECKER_MAX_PENDING}</td><td>checks waiting at once; events beyond are counted as dropped</td><td>100000</td></tr>
 *   <tr><td>{@code CHECKER_SCHEMAS}</td><td>schema versions whose value key is read at every check besides
 *       the event's and those the fence lists (a value the fence does not list is invisible to invalidations)</td>
 *       <td>{@value #DEFAULT_SCHEMAS}</td></tr>
 *   <tr><td>{@code CHECKER_HTTP_PORT}</td><td>{@code /health/live}, {@code /health/ready}, {@code /metrics}; 0 = off</td><td>8083</td></tr>
 * </table>
 * Durations are milliseconds ({@code 1500}), a number with a unit ({@code 10s}, {@code 5m},
 * {@code 1h}, {@code 250ms}) or ISO-8601 ({@code PT10S}).
 *
 * @param topics the topics to follow
 * @param groupId the checker's consumer group (never a writer's)
 * @param delay M, from an event's commit (or production) time to its first check
 * @param windows the re-check windows, increasing, each longer than {@code delay}
 * @param sampleRate share of events checked
 * @param confirmRate database look-ups per second
 * @param maxPending most checks waiting at once
 * @param schemas schema versions read at every check besides the event's and the fence's
 * @param httpPort HTTP port, 0 = none
 */
public record CheckerConfig(List<String> topics, String groupId, Duration delay, List<Duration> windows,
    double sampleRate, double confirmRate, int maxPending, List<Integer> schemas, int httpPort) {
  /** Default schema versions read at every check. */
  public static final String DEFAULT_SCHEMAS = "1,2,3";
  /** Default topics. */
  public static final String DEFAULT_TOPICS = "freshcache.changes,freshcache.writes";
  /** Default consumer group. */
  public static final String DEFAULT_GROUP = "freshcache-checker";
  /** Default M. */
  public static final Duration DEFAULT_DELAY = Duration.ofSeconds(10);
  /** Default re-check windows. */
  public static final String DEFAULT_WINDOWS = "1m,5m,10m";
  /** Default HTTP port. */
  public static final int DEFAULT_HTTP_PORT = 8083;

  /** Validates every setting; the message names the setting and its bad value. */
  public CheckerConfig {
    if (topics == null || topics.isEmpty() || topics.stream().anyMatch(t -> t == null || t.isBlank())) {
      throw new IllegalArgumentException("CHECKER_TOPICS must name at least one topic but was " + topics);
    }
    topics = List.copyOf(topics);
    if (groupId == null || groupId.isBlank()) {
      throw new IllegalArgumentException("CHECKER_GROUP_ID must not be blank but was '" + groupId + "'");
    }
    if (delay == null || delay.isNegative() || delay.isZero()) {
      throw new IllegalArgumentException("CHECKER_DELAY must be > 0 but was " + delay);
    }
    if (windows == null || windows.isEmpty()) {
      throw new IllegalArgumentException("CHECKER_WINDOWS must have at least one window but was " + windows);
    }
    windows = List.copyOf(windows);
    Duration previous = delay;
    for (Duration w : windows) {
      if (w.compareTo(previous) <= 0) {
        throw new IllegalArgumentException("CHECKER_WINDOWS must increase and each be longer than CHECKER_DELAY ("
            + delay.toMillis() + " ms) but was " + windows.stream().map(Duration::toMillis).toList() + " ms");
      }
      previous = w;
    }
    if (!(sampleRate > 0 && sampleRate <= 1)) {
      throw new IllegalArgumentException("CHECKER_SAMPLE_RATE must be in (0, 1] but was " + sampleRate);
    }
    if (!(confirmRate > 0)) {
      throw new IllegalArgumentException("CHECKER_CONFIRM_RATE must be > 0 per second but was " + confirmRate);
    }
    if (maxPending < 1) {
      throw new IllegalArgumentException("CHECKER_MAX_PENDING must be >= 1 but was " + maxPending);
    }
    if (schemas == null || schemas.stream().anyMatch(x -> x == null || x < 1) || schemas.size() > 64) {
      throw new IllegalArgumentException("CHECKER_SCHEMAS must be at most 64 schema versions >= 1 but was " + schemas);
    }
    schemas = List.copyOf(schemas);
    if (httpPort < 0 || httpPort > 65535) {
      throw new IllegalArgumentException("CHECKER_HTTP_PORT must be 0..65535 but was " + httpPort);
    }
  }

  /**
   * @param env the environment
   * @return the settings, defaults for what is unset
   * @throws IllegalArgumentException naming the variable and its bad value
   */
  public static CheckerConfig fromEnv(Map<String, String> env) {
    return new CheckerConfig(
        List.of(env.getOrDefault("CHECKER_TOPICS", DEFAULT_TOPICS).trim().split("\\s*,\\s*")),
        env.getOrDefault("CHECKER_GROUP_ID", DEFAULT_GROUP).trim(),
        env.containsKey("CHECKER_DELAY") ? duration("CHECKER_DELAY", env.get("CHECKER_DELAY")) : DEFAULT_DELAY,
        durations("CHECKER_WINDOWS", env.getOrDefault("CHECKER_WINDOWS", DEFAULT_WINDOWS)),
        number("CHECKER_SAMPLE_RATE", env.getOrDefault("CHECKER_SAMPLE_RATE", "1")),
        number("CHECKER_CONFIRM_RATE", env.getOrDefault("CHECKER_CONFIRM_RATE", "10")),
        (int) integer("CHECKER_MAX_PENDING", env.getOrDefault("CHECKER_MAX_PENDING", "100000")),
        integers("CHECKER_SCHEMAS", env.getOrDefault("CHECKER_SCHEMAS", DEFAULT_SCHEMAS)),
        (int) integer("CHECKER_HTTP_PORT", env.getOrDefault("CHECKER_HTTP_PORT", Integer.toString(DEFAULT_HTTP_PORT))));
  }

  /** @return the windows' labels as used in metrics, M first: e.g. {@code [10s, 1m, 5m, 10m]} */
  public List<String> windowLabels() {
    List<String> labels = new ArrayList<>();
    labels.add(io.freshcache.protocol.ConsistencyWindows.label(delay));
    windows.forEach(w -> labels.add(io.freshcache.protocol.ConsistencyWindows.label(w)));
    return labels;
  }

  /**
   * @param name the setting, for the message
   * @param text {@code 1500}, {@code 250ms}, {@code 10s}, {@code 5m}, {@code 1h} or ISO-8601
   * @return the duration
   * @throws IllegalArgumentException naming the setting and the text
   */
  public static Duration duration(String name, String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.startsWith("pt") || t.startsWith("p")) {
        return Duration.parse(t.toUpperCase(Locale.ROOT));
      }
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("d")) {
        return Duration.ofDays(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      return Duration.ofMillis(Long.parseLong(t));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException(name + " must be a duration (1500, 250ms, 10s, 5m, 1h, PT10S) but was '"
          + text + "'", e);
    }
  }

  private static List<Duration> durations(String name, String text) {
    List<Duration> out = new ArrayList<>();
    for (String part : text.trim().split("\\s*,\\s*")) {
      if (!part.isEmpty()) {
        out.add(duration(name, part));
      }
    }
    return out;
  }

  private static List<Integer> integers(String name, String text) {
    List<Integer> out = new ArrayList<>();
    for (String part : text.trim().split("\\s*,\\s*")) {
      if (!part.isEmpty()) {
        out.add((int) integer(name, part));
      }
    }
    return out;
  }

  private static double number(String name, String text) {
    try {
      return Double.parseDouble(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a number but was '" + text + "'", e);
    }
  }

  private static long integer(String name, String text) {
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer but was '" + text + "'", e);
    }
  }
}
