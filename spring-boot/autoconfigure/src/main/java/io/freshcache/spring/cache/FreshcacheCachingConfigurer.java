package io.freshcache.spring.cache;

import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.CachingConfigurer;
import org.springframework.cache.interceptor.CacheResolver;
import org.springframework.cache.interceptor.KeyGenerator;

/**
 * Makes {@code @EnableCaching} use freshcache's {@link FreshcacheCacheResolver} (values read as
 * the method's generic return type) and {@link FreshcacheKeyGenerator} (keys from simple
 * parameters, a clear error for others). An application that declares its own
 * {@link CachingConfigurer} replaces this one; it can return these two from its own methods.
 */
public class FreshcacheCachingConfigurer implements CachingConfigurer {
  private final CacheManager cacheManager;

  /** @param cacheManager the freshcache cache manager */
  public FreshcacheCachingConfigurer(CacheManager cacheManager) {
    this.cacheManager = cacheManager;
  }

  @Override
  public CacheResolver cacheResolver() {
    return new FreshcacheCacheResolver(cacheManager);
  }

  @Override
  public KeyGenerator keyGenerator() {
    return new FreshcacheKeyGenerator();
  }
}
