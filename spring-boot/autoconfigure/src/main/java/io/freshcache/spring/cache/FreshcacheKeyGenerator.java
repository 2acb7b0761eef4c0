package io.freshcache.spring.cache;

import java.lang.reflect.Method;
import org.springframework.cache.interceptor.KeyGenerator;

/**
 * The key generator of freshcache caches: the method's parameters, each mapped as
 * {@link CacheKeys} describes and joined with {@code ,} ({@code findPrice("eur", 42)} → identifier
 * {@code eur,42}). A method without parameters gets the identifier {@code _}. A parameter that
 * cannot be mapped (an entity, a collection) fails the call with an
 * {@link IllegalArgumentException} naming the method, the parameter and its type.
 */
public final class FreshcacheKeyGenerator implements KeyGenerator {
  /**
   * A generated key; the cache uses its identifier as is.
   *
   * @param identifier the identifier part of the freshcache key
   */
  public record Key(String identifier) {}

  @Override
  public Object generate(Object target, Method method, Object... params) {
    if (params.length == 0) {
      return new Key("_");
    }
    StringBuilder id = new StringBuilder();
    for (int i = 0; i < params.length; i++) {
      String plain = CacheKeys.plain(params[i]);
      if (plain == null) {
        throw new IllegalArgumentException("cannot make a freshcache key of " + method.getDeclaringClass().getSimpleName()
            + "." + method.getName() + ": parameter " + i + " is "
            + (params[i] == null ? "null" : "a " + params[i].getClass().getName())
            + "; keys are made of String, number, UUID, enum and java.time parameters: name the key with"
            + " @Cacheable(key = \"...\") or pass a KeyGenerator");
      }
      String part = CacheKeys.encode(plain);
      id.append(i == 0 ? "" : ",").append(params.length > 1 ? part.replace(",", "%2C") : part);
    }
    return new Key(id.toString());
  }
}
