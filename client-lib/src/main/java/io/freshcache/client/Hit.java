package io.freshcache.client;

/**
 * An entry found in the cache by {@link CacheClient#getIfCached}: a value, or a cached "not
 * found" ({@code value() == null}, stored under the policy's {@link CachePolicy#negativeTtl()}).
 *
 * @param <T> the value type
 * @param value the cached value, or {@code null} for a cached "not found"
 */
public record Hit<T>(T value) {}
