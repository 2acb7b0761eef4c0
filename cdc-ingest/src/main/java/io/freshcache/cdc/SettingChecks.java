package io.freshcache.cdc;

import io.freshcache.protocol.config.ConfigException;
import java.time.Duration;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The validators of {@link CdcIngestConfig}'s settings. Each check returns its value or throws
 * "{@code must ... but was '...'}" without a name; {@link #field} prefixes the setting's name,
 * and {@code fromEnv} turns that into the variable's name.
 */
final class SettingChecks {
  private static final Pattern CONNECTOR_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");
  private static final Pattern PUBLICATION_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");

  private SettingChecks() {}


  static String checkHost(String v) {
    if (v == null || v.isBlank() || v.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("must be a host name without blanks but was '" + v + "'");
    }
    return v;
  }

  static int checkPort(int v) {
    if (v < 1 || v > 65_535) {
      throw new IllegalArgumentException("must be a port in 1..65535 but was '" + v + "'");
    }
    return v;
  }

  static String checkRequired(String v) {
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("must be set but was " + (v == null ? "unset" : "'" + v + "'"));
    }
    return v;
  }

  static String checkConnectorName(String v) {
    return matching(CONNECTOR_NAME, v);
  }

  static String checkSlotName(String v) {
    return matching(SLOT_NAME, v);
  }

  static String checkPublicationName(String v) {
    return matching(PUBLICATION_NAME, v);
  }

  static String checkTopic(String v) {
    return matching(TOPIC, v);
  }

  static Duration checkPollInterval(Duration v) {
    if (v == null || v.toMillis() < 1 || v.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new IllegalArgumentException("must be 1..60000 ms but was '" + millis(v) + "'");
    }
    return v;
  }

  static int checkHttpPort(int v) {
    if (v < 0 || v > 65_535) {
      throw new IllegalArgumentException("must be a port in 0..65535 (0: off) but was '" + v + "'");
    }
    return v;
  }

  static int checkMaxEventBytes(int v) {
    if (v < CdcIngestConfig.MIN_MAX_EVENT_BYTES || v > CdcIngestConfig.MAX_EVENT_BYTES_LIMIT) {
      throw new IllegalArgumentException("must be in " + CdcIngestConfig.MIN_MAX_EVENT_BYTES + ".."
          + CdcIngestConfig.MAX_EVENT_BYTES_LIMIT + " but was '" + v + "'");
    }
    return v;
  }

  static int checkMaxBatchSize(int v) {
    if (v < 1 || v > CdcIngestConfig.MAX_BATCH_SIZE_LIMIT) {
      throw new IllegalArgumentException("must be in 1.." + CdcIngestConfig.MAX_BATCH_SIZE_LIMIT + " but was '" + v
          + "'");
    }
    return v;
  }

  static Duration checkFlushInterval(Duration v) {
    if (v == null || v.isNegative()) {
      throw new IllegalArgumentException("must be >= 0 ms but was '" + millis(v) + "'");
    }
    return v;
  }

  static Duration checkPositive(Duration v) {
    if (v == null || v.toMillis() < 1) {
      throw new IllegalArgumentException("must be >= 1 ms but was '" + millis(v) + "'");
    }
    return v;
  }

  private static String millis(Duration v) {
    return v == null ? "null" : Long.toString(v.toMillis());
  }

  private static String matching(Pattern pattern, String v) {
    if (v == null || !pattern.matcher(v).matches()) {
      throw new IllegalArgumentException("must match " + pattern + " but was '" + v + "'");
    }
    return v;
  }

  static <T> T field(String name, T value, Function<T, ?> check) {
    try {
      check.apply(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name + ' ' + e.getMessage(), e);
    }
    return value;
  }
}
