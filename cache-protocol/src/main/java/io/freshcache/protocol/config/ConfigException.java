package io.freshcache.protocol.config;

/**
 * A setting is missing, malformed or out of range. The message names the setting (the
 * environment variable, or the builder property) and the bad value; secrets are never shown.
 *
 * <p>It is an {@link IllegalArgumentException} so that code catching that keeps working.
 */
public class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what is wrong, naming the setting and the bad value
   */
  public ConfigException(String message) {
    super(message);
  }

  /**
   * @param message what is wrong, naming the setting and the bad value
   * @param cause the parse failure
   */
  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The standard message: {@code NAME must be EXPECTED but was 'VALUE'}.
   *
   * @param name the setting
   * @param value the bad value, shown quoted
   * @param expected what it must be, e.g. "an integer in 1..65535"
   * @return the exception
   */
  public static ConfigException invalid(String name, Object value, String expected) {
    return new ConfigException(name + " must be " + expected + " but was '" + value + "'");
  }

  /**
   * As {@link #invalid} for a secret: the value is not shown.
   *
   * @param name the setting
   * @param expected what it must be
   * @return the exception
   */
  public static ConfigException invalidSecret(String name, String expected) {
    return new ConfigException(name + " must be " + expected + " (value not shown)");
  }
}
