package io.freshcache.spring.cache;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.TypeRef;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;

/**
 * A {@link CacheManager} of {@link FreshcacheCache}s over one {@link CacheClient}. Each cache
 * name maps to a {@code service:entity} key prefix and a {@link CachePolicy} (configured by
 * {@code freshcache.cache.caches.<name>.*} in Spring Boot); a name that is not configured gets
 * the prefix {@code <defaultService>:<name>} and the default policy, created on first use.
 */
public class FreshcacheCacheManager implements CacheManager {
  private static final Pattern PREFIX = Pattern.compile("[a-z0-9][a-z0-9_-]*:[a-z0-9][a-z0-9_-]*");

  /**
   * How one cache is set up.
   *
   * @param keyPrefix {@code service:entity}, or {@code null} for {@code defaultService:name}
   * @param policy the policy, or {@code null} for the default policy
   * @param valueType the type values are decoded as when no method return type is known, or
   *     {@code null} for {@code Object}
   * @param versionProperty the property holding a value's row version, for {@code @CachePut}
   */
  public record Spec(String keyPrefix, CachePolicy policy, Class<?> valueType, String versionProperty) {}

  private final CacheClient client;
  private final Map<String, Spec> specs;
  private final CachePolicy defaultPolicy;
  private final String defaultService;
  private final boolean allowNullValues;
  private final Map<String, FreshcacheCache> caches = new ConcurrentHashMap<>();

  /**
   * @param client the client
   * @param specs the configured caches by name
   * @param defaultPolicy the policy of caches without one
   * @param defaultService the service part of the prefix of caches without one
   * @param allowNullValues whether caches accept {@code null} values
   * @throws IllegalArgumentException naming the cache and the bad prefix
   */
  public FreshcacheCacheManager(CacheClient client, Map<String, Spec> specs, CachePolicy defaultPolicy,
      String defaultService, boolean allowNullValues) {
    this.client = client;
    this.specs = Map.copyOf(specs);
    this.defaultPolicy = defaultPolicy;
    this.defaultService = defaultService;
    this.allowNullValues = allowNullValues;
    this.specs.forEach((name, spec) -> caches.put(name, create(name)));
  }

  @Override
  public FreshcacheCache getCache(String name) {
    return caches.computeIfAbsent(name, this::create);
  }

  @Override
  public Collection<String> getCacheNames() {
    Set<String> names = new LinkedHashSet<>(specs.keySet());
    names.addAll(caches.keySet());
    return Collections.unmodifiableSet(names);
  }

  private FreshcacheCache create(String name) {
    Spec spec = specs.getOrDefault(name, new Spec(null, null, null, "version"));
    String prefix = spec.keyPrefix() != null ? spec.keyPrefix() : defaultService + ":" + name;
    if (!PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("cache '" + name + "': key prefix '" + prefix + "' is not"
          + " service:entity (lower-case letters, digits, _ and -); set freshcache.cache.caches."
          + name + ".key-prefix, e.g. catalog:product");
    }
    TypeRef<?> type = TypeRef.of(spec.valueType() == null ? Object.class : spec.valueType());
    return new FreshcacheCache(name, prefix, spec.policy() != null ? spec.policy() : defaultPolicy, type,
        spec.versionProperty(), allowNullValues, client);
  }

  /** @return {@code cache} if it is a freshcache cache, for callers that need its type view */
  static FreshcacheCache cast(Cache cache) {
    return cache instanceof FreshcacheCache f ? f : null;
  }
}
