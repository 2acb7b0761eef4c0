package io.freshcache.examples.demo;

/**
 * A row of {@code demo_products}.
 *
 * @param id the primary key
 * @param name the product's name
 * @param priceCents the price in cents
 * @param version the row version, raised by every update (read by {@code @CachePut})
 */
public record Product(long id, String name, long priceCents, long version) {}
