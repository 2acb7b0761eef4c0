package io.freshcache.spring.cache;

import java.nio.charset.StandardCharsets;
import java.time.temporal.TemporalAccessor;
import java.util.UUID;

/**
 * Maps Spring Cache keys to the identifier part of freshcache keys
 * ({@code service:entity:identifier}).
 *
 * <p>A key maps if it is a {@link CharSequence}, a {@link Number}, a {@link Boolean}, a
 * {@link Character}, a {@link UUID}, an {@link Enum} (its name), a {@code java.time} value, or a
 * {@link FreshcacheKeyGenerator} key of several of these. Characters a freshcache identifier
 * cannot hold (space, {@code {}, {@code }}, control and non-ASCII characters) and {@code %} are
 * percent-encoded (UTF-8), so every string maps and two strings never map to one identifier.
 * Anything else (an entity, a collection, Spring's {@code SimpleKey}) is refused with an
 * {@link IllegalArgumentException} that names the cache, the key's type and the remedy.
 */
public final class CacheKeys {
  private CacheKeys() {}

  /**
   * @param cacheName the Spring cache, for the error message
   * @param key the Spring cache key
   * @return the identifier
   * @throws IllegalArgumentException if the key cannot be mapped
   */
  public static String identifier(String cacheName, Object key) {
    if (key instanceof FreshcacheKeyGenerator.Key k) {
      return k.identifier();
    }
    String plain = plain(key);
    if (plain == null) {
      throw unmappable(cacheName, key);
    }
    return encode(plain);
  }

  /** @return the string form of a key of a mappable type, or {@code null} */
  static String plain(Object key) {
    if (key instanceof CharSequence || key instanceof Number || key instanceof Boolean
        || key instanceof Character || key instanceof UUID || key instanceof TemporalAccessor) {
      return key.toString();
    }
    if (key instanceof Enum<?> e) {
      return e.name();
    }
    return null;
  }

  static IllegalArgumentException unmappable(String cacheName, Object key) {
    String type = key == null ? "null" : key.getClass().getName();
    return new IllegalArgumentException("cache '" + cacheName + "': a key of type " + type
        + " cannot be mapped to a freshcache key (service:entity:identifier); use a String, number,"
        + " UUID, enum or java.time key, e.g. @Cacheable(key = \"#product.id\"), or a KeyGenerator"
        + " that returns one" + (type.endsWith("SimpleKey") ? " (SimpleKey comes from Spring's default"
        + " key generator for methods with several or no parameters; freshcache's key generator"
        + " joins several simple parameters)" : ""));
  }

  /** Percent-encodes what a freshcache identifier cannot hold, and {@code %} itself. */
  static String encode(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c >= 0x21 && c <= 0x7e && c != '{' && c != '}' && c != '%';
      if (ok) {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(s.length() + 8).append(s, 0, i);
      }
      int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
      for (byte b : s.substring(i, end).getBytes(StandardCharsets.UTF_8)) {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
            .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
      }
      i = end - 1;
    }
    return out == null ? s : out.toString();
  }
}
