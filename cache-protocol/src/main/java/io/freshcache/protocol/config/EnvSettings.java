package io.freshcache.protocol.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reader of environment variables for every freshcache module: each config's
 * {@code fromEnv} maps variables onto its builder through this class, so that every variable is
 * parsed, defaulted and reported the same way.
 *
 * <ul>
 *   <li>An unset or blank variable is absent: the builder keeps its default.</li>
 *   <li>{@code NAME_FILE} (the Docker-secrets convention) names a file whose content is the value
 *       of {@code NAME}; one trailing line break is dropped. Setting both is an error.</li>
 *   <li>Errors are {@link ConfigException}s that name the variable and the bad value (never the
 *       value of a secret).</li>
 *   <li>Durations take a number in the variable's unit ({@code _MS} variables: milliseconds),
 *       a number with a unit ({@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}) or
 *       an ISO-8601 duration ({@code PT10M}).</li>
 *   <li>{@link #properties(String, Set)} turns a whole prefix into client properties, e.g.
 *       {@code KAFKA_SASL_JAAS_CONFIG} into {@code sasl.jaas.config}.</li>
 * </ul>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class EnvSettings {
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  private final Map<String, String> env;

  private EnvSettings(Map<String, String> env) {
    this.env = env;
  }

  /** @return the settings of the process environment, {@link System#getenv()} */
  public static EnvSettings system() {
    return new EnvSettings(System.getenv());
  }

  /**
   * @param env variable names to values; copied; null values are treated as unset
   * @return settings that read {@code env}
   */
  public static EnvSettings of(Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    Map<String, String> copy = new TreeMap<>();
    env.forEach((k, v) -> {
      if (k != null && v != null) {
        copy.put(k, v);
      }
    });
    return new EnvSettings(Collections.unmodifiableMap(copy));
  }

  /**
   * The raw value of {@code name}, or the content of the file {@code name_FILE} names.
   *
   * @param name the variable
   * @return the value, trimmed; empty if unset or blank
   * @throws ConfigException if both are set, or the file cannot be read
   */
  public Optional<String> string(String name) {
    return read(name, false);
  }

  /**
   * The value of {@code name} alone, without the {@code _FILE} convention: for a variable whose
   * {@code NAME_FILE} is a setting of its own ({@code CDC_RULES} beside {@code CDC_RULES_FILE}).
   *
   * @param name the variable
   * @return the value, trimmed; empty if unset or blank
   */
  public Optional<String> literal(String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  /**
   * As {@link #string} for a secret (password, key): the value is never put in an error, and it
   * is not trimmed except for one trailing line break of a file (a blank value is unset).
   *
   * @param name the variable
   * @return the value; empty if unset or blank
   * @throws ConfigException if both the variable and its {@code _FILE} are set, or the file cannot
   *     be read
   */
  public Optional<String> secret(String name) {
    return read(name, true);
  }

  private Optional<String> read(String name, boolean secret) {
    String direct = env.get(name);
    String file = env.get(name + "_FILE");
    boolean hasDirect = direct != null && !direct.isBlank();
    boolean hasFile = file != null && !file.isBlank();
    if (hasDirect && hasFile) {
      throw new ConfigException(name + " and " + name + "_FILE are both set; set one of them");
    }
    if (hasFile) {
      Path p = Path.of(file.trim());
      String content;
      try {
        content = Files.readString(p, StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        throw new ConfigException(name + "_FILE names '" + file.trim() + "', which cannot be read: "
            + e, e);
      }
      if (content.endsWith("\n")) {
        content = content.substring(0, content.length() - (content.endsWith("\r\n") ? 2 : 1));
      }
      if (content.isBlank()) {
        return Optional.empty();
      }
      return Optional.of(secret ? content : content.trim());
    }
    if (!hasDirect) {
      return Optional.empty();
    }
    return Optional.of(secret ? direct : direct.trim());
  }

  /**
   * @param name the variable
   * @return whether {@code name} or {@code name_FILE} is present at all, even empty: for the
   *     few settings where an empty value means something ({@code PG_PASSWORD=""}: no password)
   */
  public boolean isSet(String name) {
    return env.containsKey(name) || env.containsKey(name + "_FILE");
  }

  /**
   * @param name the variable
   * @param min the smallest value allowed
   * @param max the largest value allowed
   * @return the integer; empty if unset
   * @throws ConfigException if it is not an integer in {@code min..max}
   */
  public Optional<Integer> integer(String name, int min, int max) {
    return longValue(name, min, max).map(Long::intValue);
  }

  /**
   * @param name the variable
   * @param min the smallest value allowed
   * @param max the largest value allowed
   * @return the number; empty if unset
   * @throws ConfigException if it is not an integer in {@code min..max}
   */
  public Optional<Long> longValue(String name, long min, long max) {
    return string(name).map(v -> {
      try {
        long n = Long.parseLong(v.replace("_", ""));
        if (n < min || n > max) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw ConfigException.invalid(name, v, "an integer in " + min + ".." + max);
      }
    });
  }

  /**
   * @param name the variable
   * @param min the smallest value allowed
   * @param max the largest value allowed
   * @return the number; a trailing {@code %} is accepted and ignored; empty if unset
   * @throws ConfigException if it is not a number in {@code min..max}
   */
  public Optional<Double> decimal(String name, double min, double max) {
    return string(name).map(v -> {
      String t = v.endsWith("%") ? v.substring(0, v.length() - 1).trim() : v;
      try {
        double d = Double.parseDouble(t);
        if (!(d >= min && d <= max)) {
          throw new NumberFormatException();
        }
        return d;
      } catch (NumberFormatException e) {
        throw ConfigException.invalid(name, v, "a number in [" + min + ", " + max + "]");
      }
    });
  }

  /**
   * A fraction written as a decimal ({@code 0.2}) or a percentage ({@code 20%}).
   *
   * @param name the variable
   * @param min the smallest fraction allowed
   * @param max the largest fraction allowed
   * @return the fraction; empty if unset
   * @throws ConfigException if it is not a number in {@code min..max}
   */
  public Optional<Double> fraction(String name, double min, double max) {
    return string(name).map(v -> {
      boolean percent = v.endsWith("%");
      String t = percent ? v.substring(0, v.length() - 1).trim() : v;
      try {
        double d = Double.parseDouble(t) / (percent ? 100 : 1);
        if (!(d >= min && d <= max)) {
          throw new NumberFormatException();
        }
        return d;
      } catch (NumberFormatException e) {
        throw ConfigException.invalid(name, v, "a fraction in [" + min + ", " + max
            + "], written as 0.2 or 20%");
      }
    });
  }

  /**
   * @param name the variable
   * @return {@code true} for true/yes/on/1, {@code false} for false/no/off/0 (any case); empty if
   *     unset
   * @throws ConfigException for anything else
   */
  public Optional<Boolean> bool(String name) {
    return string(name).map(v -> switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw ConfigException.invalid(name, v, "true or false");
    });
  }

  /**
   * A duration: a bare number in {@code bareUnit}, a number with a unit ({@code ms}, {@code s},
   * {@code m}, {@code h}, {@code d}), or ISO-8601 ({@code PT10M}).
   *
   * @param name the variable
   * @param bareUnit the unit of a bare number
   * @param min the shortest duration allowed (e.g. {@link Duration#ZERO} or one millisecond)
   * @return the duration; empty if unset
   * @throws ConfigException if it cannot be parsed or is shorter than {@code min}
   */
  public Optional<Duration> duration(String name, ChronoUnit bareUnit, Duration min) {
    return string(name).map(v -> {
      String expected = "a duration of at least " + min.toMillis() + " ms: a number of "
          + bareUnit.toString().toLowerCase(Locale.ROOT) + ", a number with a unit (250ms, 2s, 5m, 1h)"
          + " or ISO-8601 (PT10M)";
      Duration d;
      try {
        d = parseDuration(v, bareUnit);
      } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
        throw ConfigException.invalid(name, v, expected);
      }
      if (d.compareTo(min) < 0) {
        throw ConfigException.invalid(name, v, expected);
      }
      return d;
    });
  }

  /**
   * Parses a duration as {@link #duration} does.
   *
   * @param value the text
   * @param bareUnit the unit of a bare number
   * @return the duration
   * @throws DateTimeParseException or {@link NumberFormatException} if it cannot be parsed
   */
  public static Duration parseDuration(String value, ChronoUnit bareUnit) {
    String t = value.trim();
    if (t.matches("-?\\d+")) {
      return Duration.of(Long.parseLong(t), bareUnit);
    }
    Matcher m = DURATION.matcher(t.toLowerCase(Locale.ROOT));
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    return Duration.parse(t);
  }

  /**
   * @param name the variable
   * @return its comma-separated items, trimmed, empty items dropped; empty if unset
   */
  public Optional<List<String>> list(String name) {
    return string(name).map(v -> {
      List<String> out = new ArrayList<>();
      for (String s : v.split(",")) {
        if (!s.isBlank()) {
          out.add(s.trim());
        }
      }
      return List.copyOf(out);
    });
  }

  /**
   * @param name the variable
   * @return its comma-separated {@code host:port} items, each checked; empty if unset
   * @throws ConfigException naming the variable and the bad item
   */
  public Optional<List<String>> hostPorts(String name) {
    return list(name).map(items -> {
      for (String item : items) {
        HostPort.parse(name, item);
      }
      return items;
    });
  }

  /**
   * @param name the variable
   * @param type the enum; values match its constants ignoring case, with {@code -} for {@code _}
   * @param <E> the enum type
   * @return the constant; empty if unset
   * @throws ConfigException listing the allowed values
   */
  public <E extends Enum<E>> Optional<E> enumValue(String name, Class<E> type) {
    return string(name).map(v -> {
      String key = v.replace('-', '_').toUpperCase(Locale.ROOT);
      for (E e : type.getEnumConstants()) {
        if (e.name().equals(key)) {
          return e;
        }
      }
      List<String> allowed = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        allowed.add(e.name().toLowerCase(Locale.ROOT));
      }
      throw ConfigException.invalid(name, v, "one of " + String.join(", ", allowed));
    });
  }

  /**
   * @param name the variable
   * @return the path of a readable file; empty if unset
   * @throws ConfigException if the file does not exist or cannot be read
   */
  public Optional<Path> readableFile(String name) {
    return string(name).map(v -> {
      Path p = Path.of(v);
      if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
        throw ConfigException.invalid(name, v, "a readable file");
      }
      return p;
    });
  }

  /**
   * Every variable {@code PREFIX_X_Y} as the client property {@code x.y}: the prefix is dropped,
   * the rest lower-cased, {@code _} becomes {@code .}, {@code __} becomes {@code _} and
   * {@code ___} becomes {@code -} (the convention of the Kafka container images). A
   * {@code PREFIX_X_Y_FILE} variable gives {@code x.y} the content of the file it names.
   *
   * <p>So a property whose name ends in {@code .file} cannot be passed this way (its variable would
   * read as the {@code _FILE} variant of a shorter property).
   *
   * <p>Skipped: the names in {@code skip} (full variable names), and names that Kubernetes injects
   * for a service called like the prefix ({@code KAFKA_PORT}, {@code KAFKA_PORT_9092_TCP…},
   * {@code KAFKA_SERVICE_HOST}, {@code KAFKA_SERVICE_PORT…}).
   *
   * @param prefix the prefix, with its trailing {@code _}, e.g. {@code KAFKA_}
   * @param skip variables that are settings of freshcache's own, not client properties
   * @return property names to values, sorted
   * @throws ConfigException if a {@code _FILE} cannot be read, or a property is set both ways
   */
  public Map<String, String> properties(String prefix, Set<String> skip) {
    Map<String, String> out = new TreeMap<>();
    for (String var : env.keySet()) {
      if (!var.startsWith(prefix) || var.length() == prefix.length() || skip.contains(var)) {
        continue;
      }
      String base = var.endsWith("_FILE") ? var.substring(0, var.length() - 5) : var;
      if (base.length() <= prefix.length() || !base.startsWith(prefix) || skip.contains(base)) {
        continue; // e.g. KAFKA_FILE: the prefix's own _FILE, no property
      }
      String rest = base.substring(prefix.length());
      if (kubernetesServiceVariable(rest)) {
        continue;
      }
      String property = rest.toLowerCase(Locale.ROOT)
          .replace("___", "\u0001").replace("__", "\u0002").replace('_', '.')
          .replace('\u0001', '-').replace('\u0002', '_');
      secret(base).ifPresent(v -> out.put(property, looksSecret(property) ? v : v.trim()));
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * The inverse of {@link #properties}: the variable that sets a property.
   *
   * @param prefix the prefix, e.g. {@code KAFKA_}
   * @param property a property name, e.g. {@code sasl.jaas.config}
   * @return the variable, e.g. {@code KAFKA_SASL_JAAS_CONFIG}
   */
  public static String variableOf(String prefix, String property) {
    return prefix + property.replace("_", "__").replace("-", "___").replace('.', '_')
        .toUpperCase(Locale.ROOT);
  }

  private static boolean kubernetesServiceVariable(String rest) {
    return rest.equals("PORT") || rest.startsWith("PORT_") || rest.startsWith("SERVICE_HOST")
        || rest.startsWith("SERVICE_PORT");
  }

  /**
   * @param property a client property name, e.g. {@code sasl.jaas.config}
   * @return whether its value must be masked: passwords, JAAS configs, keys, secrets, tokens
   */
  public static boolean looksSecret(String property) {
    String p = property.toLowerCase(Locale.ROOT);
    return p.contains("password") || p.contains("jaas") || p.contains("secret")
        || p.contains("token") || p.endsWith(".key") || p.contains("credential")
        || p.endsWith("keystore.key") || p.contains("private");
  }

  /**
   * @param properties client properties
   * @return the same with the values of {@link #looksSecret secret} properties replaced by
   *     {@code ****}, for logs and {@code toString}
   */
  public static Map<String, String> masked(Map<String, ?> properties) {
    Map<String, String> out = new TreeMap<>();
    properties.forEach((k, v) -> out.put(k, looksSecret(k) ? "****" : String.valueOf(v)));
    return out;
  }

  /**
   * @param url a URL, e.g. {@code jdbc:postgresql://db/shop?user=app&password=x}
   * @return the same with the values of {@link #looksSecret secret} query parameters (and
   *     {@code user:password@} user info) replaced by {@code ****}, for logs and errors
   */
  public static String maskedUrl(String url) {
    if (url == null) {
      return null;
    }
    String out = url.replaceAll("(//[^/@:?]*):[^/@?]*@", "$1:****@");
    Matcher m = Pattern.compile("([?&;])([^=&;]+)=([^&;]*)").matcher(out);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = looksSecret(m.group(2)) ? "****" : m.group(3);
      m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + m.group(2) + "=" + value));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /** @return the variable names that are set, for diagnostics; never values */
  @Override
  public String toString() {
    return "EnvSettings" + env.keySet();
  }

  /**
   * A {@code host:port} pair.
   *
   * @param host the host name or address
   * @param port the port, 1..65535
   */
  public record HostPort(String host, int port) {
    /**
     * @param setting the setting, for the error
     * @param text {@code host:port}; an IPv6 address in brackets, {@code [::1]:6379}
     * @return the pair
     * @throws ConfigException naming the setting and the bad item
     */
    public static HostPort parse(String setting, String text) {
      String t = text == null ? "" : text.trim();
      int colon = t.lastIndexOf(':');
      if (colon <= 0 || colon == t.length() - 1) {
        throw ConfigException.invalid(setting, text, "host:port");
      }
      String host = t.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(t.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw ConfigException.invalid(setting, text, "host:port with a port in 1..65535");
      }
      if (port < 1 || port > 65535) {
        throw ConfigException.invalid(setting, text, "host:port with a port in 1..65535");
      }
      return new HostPort(host, port);
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }
}
