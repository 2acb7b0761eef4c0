package io.freshcache.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A validated logical cache key of the form {@code service:entity:identifier}, for example
 * {@code catalog:product:42}.
 *
 * <p>Rules: {@code service} and {@code entity} are lower-case letters, digits, {@code _} or
 * {@code -}; the identifier is one or more printable ASCII characters without spaces or braces
 * (it may contain further colons, e.g. a composite key {@code shop:line:17:3}); the whole key is
 * at most {@link #MAX_LENGTH} characters. A key that breaks a rule is rejected with an
 * {@link IllegalArgumentException} that names it, never turned into a silent miss.
 *
 * <p>All physical Redis keys of one logical key share the hash tag {@code {logical}}, so one Lua
 * script can touch the value, the lease and the fence in one Redis Cluster slot:
 * <ul>
 *   <li>{@link #valueKey(int)}: {@code {catalog:product:42}:v<schema>}</li>
 *   <li>{@link #leaseKey()}: {@code {catalog:product:42}:lease}</li>
 *   <li>{@link #fenceKey()}: {@code {catalog:product:42}:fence}</li>
 * </ul>
 */
public final class CacheKey {
  /** Longest accepted logical key, in characters. */
  public static final int MAX_LENGTH = 256;

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]*");
  private static final Pattern IDENTIFIER = Pattern.compile("[\\x21-\\x7a\\x7c\\x7e]+");

  private final String value;
  private final String service;
  private final String entity;
  private final String identifier;

  private CacheKey(String value, String service, String entity, String identifier) {
    this.value = value;
    this.service = service;
    this.entity = entity;
    this.identifier = identifier;
  }

  /**
   * Parses and validates a logical key.
   *
   * @param key the logical key, e.g. {@code catalog:product:42}
   * @return the validated key
   * @throws IllegalArgumentException if the key is null, too long, or not of the form
   *     {@code service:entity:identifier}; the message names the key and the rule it broke
   */
  public static CacheKey parse(String key) {
    if (key == null) {
      throw new IllegalArgumentException("cache key must not be null");
    }
    if (key.isEmpty() || key.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "cache key must have 1.." + MAX_LENGTH + " characters but was " + key.length()
              + ": '" + abbreviate(key) + "'");
    }
    int first = key.indexOf(':');
    int second = first < 0 ? -1 : key.indexOf(':', first + 1);
    if (first <= 0 || second <= first + 1 || second == key.length() - 1) {
      throw new IllegalArgumentException(
          "cache key must look like service:entity:identifier but was '" + abbreviate(key) + "'");
    }
    String service = key.substring(0, first);
    String entity = key.substring(first + 1, second);
    String identifier = key.substring(second + 1);
    if (!isName(service)) {
      throw new IllegalArgumentException("cache key service part must match " + NAME
          + " but was '" + service + "' in '" + abbreviate(key) + "'");
    }
    if (!isName(entity)) {
      throw new IllegalArgumentException("cache key entity part must match " + NAME
          + " but was '" + entity + "' in '" + abbreviate(key) + "'");
    }
    if (!isIdentifier(identifier)) {
      throw new IllegalArgumentException("cache key identifier must be printable ASCII without"
          + " spaces or braces but was '" + abbreviate(identifier) + "' in '" + abbreviate(key) + "'");
    }
    return new CacheKey(key, service, entity, identifier);
  }

  /** The identifier of a namespace wildcard key, {@code service:entity:*}. */
  public static final String WILDCARD = "*";

  /**
   * The namespace wildcard key {@code service:entity:*}, which names every key of an entity. It
   * is the key of an {@link CacheEvent.Op#INVALIDATE_NAMESPACE} event and nothing else: a key
   * whose identifier is exactly {@code *} is always this wildcard.
   *
   * @param service the service part: lower-case letters, digits, {@code _} or {@code -},
   *     starting with a letter or digit
   * @param entity the entity part, with the same rules as {@code service}
   * @return the wildcard key {@code service:entity:*}
   * @throws IllegalArgumentException if a part is null or breaks the rules of
   *     {@link #parse(String)} (a part holding a colon is refused, not split)
   */
  public static CacheKey namespace(String service, String entity) {
    checkParts(service, entity);
    return parse(service + ':' + entity + ':' + WILDCARD);
  }

  /** Checks the service and entity parts one by one, so a colon inside one is not taken apart. */
  private static void checkParts(String service, String entity) {
    if (service == null || !isName(service)) {
      throw new IllegalArgumentException("cache key service part must match " + NAME
          + " but was " + (service == null ? "null" : "'" + abbreviate(service) + "'"));
    }
    if (entity == null || !isName(entity)) {
      throw new IllegalArgumentException("cache key entity part must match " + NAME
          + " but was " + (entity == null ? "null" : "'" + abbreviate(entity) + "'"));
    }
  }

  /** @return whether this is a namespace wildcard {@code service:entity:*} */
  public boolean isNamespace() {
    return WILDCARD.equals(identifier);
  }

  /** @return {@code service:entity}, the namespace this key belongs to */
  public String namespaceName() {
    return service + ':' + entity;
  }

  /**
   * @return a Redis {@code SCAN MATCH} pattern that matches every physical key of every key in
   *     this key's namespace, e.g. <code>&#123;catalog:product:*</code>; names cannot hold glob characters
   */
  public String namespaceScanPattern() {
    return "{" + service + ':' + entity + ":*";
  }

  /**
   * The logical key of a physical key: {@code {catalog:product:42}:v1} → {@code catalog:product:42}.
   * Never throws: anything that is not a physical key gives {@code null}.
   *
   * @param physical a physical Redis key of the form {@code {logical}:suffix} (a value, lease or
   *     fence key), or {@code null}
   * @return the key, or {@code null} if {@code physical} is not a well-formed physical key
   */
  public static CacheKey ofPhysical(String physical) {
    if (physical == null || physical.isEmpty() || physical.charAt(0) != '{') {
      return null;
    }
    int close = physical.indexOf('}');
    if (close < 2 || physical.length() < close + 2 || physical.charAt(close + 1) != ':') {
      return null;
    }
    try {
      return parse(physical.substring(1, close));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * Builds a key from its parts.
   *
   * @param service the service part: lower-case letters, digits, {@code _} or {@code -},
   *     starting with a letter or digit
   * @param entity the entity part, with the same rules as {@code service}
   * @param identifier the identifier part; its {@link String#valueOf(Object)} form is used, which
   *     must be printable ASCII without spaces or braces ({@code "*"} gives the namespace
   *     wildcard, see {@link #namespace(String, String)})
   * @return the validated key {@code service:entity:identifier}
   * @throws IllegalArgumentException as {@link #parse(String)} does, and if a part is null
   *     (a null identifier would otherwise become the text {@code "null"}) or the service or
   *     entity part holds a colon (refused, not split)
   */
  public static CacheKey of(String service, String entity, Object identifier) {
    checkParts(service, entity);
    if (identifier == null) {
      throw new IllegalArgumentException("cache key identifier must not be null (" + service + ':'
          + entity + ":?)");
    }
    return parse(service + ':' + entity + ':' + identifier);
  }

  /** @return the service part, e.g. {@code catalog} */
  public String service() {
    return service;
  }

  /** @return the entity part, e.g. {@code product} */
  public String entity() {
    return entity;
  }

  /** @return the identifier part, e.g. {@code 42} */
  public String identifier() {
    return identifier;
  }

  /** @return the hash tag shared by all physical keys, e.g. {@code {catalog:product:42}} */
  public String hashTag() {
    return '{' + value + '}';
  }

  /**
   * @param schemaVersion the application's declared version of the value's shape, at least 1
   * @return the physical key of the value, e.g. {@code {catalog:product:42}:v1}
   */
  public String valueKey(int schemaVersion) {
    if (schemaVersion < 1) {
      throw new IllegalArgumentException("schema version must be >= 1 but was " + schemaVersion);
    }
    return hashTag() + ":v" + schemaVersion;
  }

  /** @return the physical key of the lease (stampede lock), e.g. {@code {catalog:product:42}:lease} */
  public String leaseKey() {
    return hashTag() + ":lease";
  }

  /** @return the physical key of the fence, e.g. {@code {catalog:product:42}:fence} */
  public String fenceKey() {
    return hashTag() + ":fence";
  }

  /** @return the prefix of every value key; the schema version follows it */
  public String valueKeyPrefix() {
    return hashTag() + ":v";
  }

  /** @return the key's UTF-8 bytes */
  public byte[] toBytes() {
    return value.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheKey other && value.equals(other.value);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(value);
  }

  /** @return the logical key, e.g. {@code catalog:product:42} */
  @Override
  public String toString() {
    return value;
  }

  // hand-written equivalents of NAME and IDENTIFIER: parse runs on every read, and the regex
  // matchers were most of its cost and allocation (bench/results/client-bench.md)
  private static boolean isName(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIdentifier(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x21 || c > 0x7e || c == '{' || c == '}') {
        return false;
      }
    }
    return true;
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
