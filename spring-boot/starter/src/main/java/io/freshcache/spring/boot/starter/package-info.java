/**
 * The freshcache Spring Boot starter has no code of its own: depending on it brings the client
 * ({@code io.freshcache.client.CacheClient}), the auto-configuration
 * ({@code io.freshcache.spring.boot.autoconfigure.FreshcacheAutoConfiguration}, which binds the
 * {@code freshcache.*} properties) and the Spring Cache integration
 * ({@code io.freshcache.spring.cache.FreshcacheCacheManager}). See the project README's
 * "Spring Boot" section.
 */
package io.freshcache.spring.boot.starter;
