package io.freshcache.spring.cache;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.Hit;
import io.freshcache.client.TypeRef;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.springframework.cache.support.AbstractValueAdaptingCache;
import org.springframework.cache.support.NullValue;

/**
 * A Spring {@link org.springframework.cache.Cache} over a {@link CacheClient}: one cache name is
 * one {@code service:entity} namespace with one {@link CachePolicy}.
 *
 * <ul>
 *   <li>{@link #get(Object, Callable)} ({@code @Cacheable(sync = true)}) is
 *       {@link CacheClient#getOrLoad}: in-process single flight plus the Redis lease, so one
 *       loader call serves every caller on every instance; the fill is fenced.</li>
 *   <li>{@link #get(Object)} ({@code @Cacheable} without {@code sync}) reads without loading
 *       ({@link CacheClient#getIfCached}); Spring then calls the method and {@link #put}. Prefer
 *       {@code sync = true}: only it has cross-instance stampede protection.</li>
 *   <li>{@link #put} ({@code @CachePut}, and the store after a non-sync miss) is a fenced
 *       write-through at the value's row version, read from its {@code versionProperty} (a record
 *       component, getter or field holding a whole number, default {@code version}): a put older
 *       than a version the CDC path already applied is refused. A value without that property (or
 *       {@code null}) is not written: the key is invalidated instead, so the next read loads the
 *       committed row — writing it without a version could overwrite a newer one.</li>
 *   <li>{@link #evict} ({@code @CacheEvict}) is {@link CacheClient#invalidate}: Redis, every
 *       schema version, and every instance's near cache.</li>
 *   <li>{@link #clear()} ({@code allEntries = true}) is not supported (it throws); evict keys
 *       one by one, or let the CDC path's TRUNCATE handling drop an entity.</li>
 * </ul>
 *
 * <p>Nulls: a method that returns {@code null} is not an error; with the policy's negative TTL
 * set, the "not found" is cached and read back as {@code null} (a hit), else it is not stored.
 * Keys: see {@link CacheKeys}.
 */
public class FreshcacheCache extends AbstractValueAdaptingCache {
  private final String name;
  private final String keyPrefix;
  private final CachePolicy policy;
  private final TypeRef<Object> type;
  private final String versionProperty;
  private final CacheClient client;

  /**
   * @param name the cache name
   * @param keyPrefix {@code service:entity} of the keys
   * @param policy the policy of every entry
   * @param type the type values are decoded as
   * @param versionProperty the value property holding the row version, for {@link #put}
   * @param allowNullValues whether {@code null} values are accepted by {@link #put}
   * @param client the client
   */
  public FreshcacheCache(String name, String keyPrefix, CachePolicy policy, TypeRef<?> type,
      String versionProperty, boolean allowNullValues, CacheClient client) {
    super(allowNullValues);
    this.name = name;
    this.keyPrefix = keyPrefix;
    this.policy = policy;
    @SuppressWarnings("unchecked")
    TypeRef<Object> t = (TypeRef<Object>) type;
    this.type = t;
    this.versionProperty = versionProperty;
    this.client = client;
  }

  /**
   * @param valueType the type to decode values as (a method's return type)
   * @return this cache reading values as {@code valueType}; the same entries
   */
  public FreshcacheCache withType(TypeRef<?> valueType) {
    return valueType.equals(type) ? this
        : new FreshcacheCache(name, keyPrefix, policy, valueType, versionProperty, isAllowNullValues(), client);
  }

  @Override
  public String getName() {
    return name;
  }

  @Override
  public CacheClient getNativeCache() {
    return client;
  }

  /** @return the policy of this cache's entries */
  public CachePolicy policy() {
    return policy;
  }

  /** @return the type values are decoded as */
  public TypeRef<?> type() {
    return type;
  }

  /**
   * @param key a Spring cache key
   * @return the freshcache key, {@code keyPrefix:identifier}
   * @throws IllegalArgumentException if the key cannot be mapped (see {@link CacheKeys})
   */
  public String keyOf(Object key) {
    return keyPrefix + ":" + CacheKeys.identifier(name, key);
  }

  @Override
  protected Object lookup(Object key) {
    Optional<Hit<Object>> hit = client.getIfCached(keyOf(key), type, policy);
    if (hit.isEmpty()) {
      return null;
    }
    Object v = hit.get().value();
    return v == null ? (isAllowNullValues() ? NullValue.INSTANCE : null) : v;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(Object key, Callable<T> valueLoader) {
    String k = keyOf(key);
    try {
      return (T) client.getOrLoad(k, type, policy, () -> {
        try {
          return valueLoader.call();
        } catch (Exception e) {
          throw new LoaderFailed(e);
        }
      });
    } catch (LoaderFailed e) {
      throw new ValueRetrievalException(key, valueLoader, e.getCause());
    }
  }

  @Override
  public void put(Object key, Object value) {
    String k = keyOf(key);
    Object v = value instanceof NullValue ? null : value;
    if (v == null && !isAllowNullValues()) {
      throw new IllegalArgumentException("cache '" + name + "' does not allow null values"
          + " (freshcache.cache.allow-null-values=false) but the method returned null for " + k);
    }
    Long version = v == null ? null : version(v);
    if (version == null) {
      client.invalidate(k);
      return;
    }
    client.writeThrough(k, v, version, policy, () -> { });
  }

  @Override
  public void evict(Object key) {
    client.invalidate(keyOf(key));
  }

  @Override
  public void clear() {
    throw new UnsupportedOperationException("cache '" + name + "' (" + keyPrefix + "): clearing every entry"
        + " (@CacheEvict(allEntries = true)) is not supported by freshcache; evict keys one by one");
  }

  /** @return the value's row version, or {@code null} if it has no such whole-number property */
  Long version(Object value) {
    if (versionProperty == null || versionProperty.isEmpty()) {
      return null;
    }
    Class<?> c = value.getClass();
    try {
      Object v = null;
      if (c.isRecord()) {
        for (RecordComponent rc : c.getRecordComponents()) {
          if (rc.getName().equals(versionProperty)) {
            Method accessor = rc.getAccessor();
            accessor.trySetAccessible();
            v = accessor.invoke(value);
          }
        }
      } else {
        Method getter = method(c, "get" + Character.toUpperCase(versionProperty.charAt(0)) + versionProperty.substring(1));
        if (getter == null) {
          getter = method(c, versionProperty);
        }
        if (getter != null) {
          getter.trySetAccessible();
          v = getter.invoke(value);
        } else {
          Field f = field(c, versionProperty);
          if (f != null) {
            f.setAccessible(true);
            v = f.get(value);
          }
        }
      }
      if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
        long n = ((Number) v).longValue();
        return n < 0 ? null : n;
      }
      return null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static Method method(Class<?> c, String name) {
    try {
      Method m = c.getMethod(name);
      return m.getParameterCount() == 0 ? m : null;
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  private static Field field(Class<?> c, String name) {
    for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
      try {
        return k.getDeclaredField(name);
      } catch (NoSuchFieldException e) {
        // look in the superclass
      }
    }
    return null;
  }

  /** Carries the method's own exception through the client to {@link ValueRetrievalException}. */
  private static final class LoaderFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    LoaderFailed(Exception cause) {
      super(cause);
    }
  }
}
