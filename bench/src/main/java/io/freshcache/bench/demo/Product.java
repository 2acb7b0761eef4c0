package io.freshcache.bench.demo;

/**
 * The demo's entity: a row of {@code public.products}.
 *
 * @param id the primary key
 * @param name the product name
 * @param priceCents the price in cents
 * @param version the row version, incremented by every update
 */
public record Product(long id, String name, long priceCents, long version) {}
