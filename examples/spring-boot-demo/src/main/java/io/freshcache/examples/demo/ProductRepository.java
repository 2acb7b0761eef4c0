package io.freshcache.examples.demo;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** PostgreSQL access to {@code demo_products}, cached by freshcache. */
@Repository
public class ProductRepository {
  private final JdbcTemplate jdbc;
  private final AtomicLong loads = new AtomicLong();

  /** @param jdbc the application's JDBC template */
  public ProductRepository(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * One query per cold key across every instance of the application: the cache name
   * {@code products} maps to keys {@code demo:product:<id>} (application.yml), and
   * {@code sync = true} goes through freshcache's lease.
   *
   * @param id the product id
   * @return the product, or {@code null} if there is none
   */
  @Cacheable(cacheNames = "products", sync = true)
  public Product findById(long id) {
    loads.incrementAndGet();
    List<Product> rows = jdbc.query("SELECT id, name, price_cents, version FROM demo_products WHERE id = ?",
        (rs, n) -> new Product(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getLong(4)), id);
    return rows.isEmpty() ? null : rows.get(0);
  }

  /**
   * Drops a product from the cache of every instance (the CDC path does this by itself for
   * changes made by SQL).
   *
   * @param id the product id
   */
  @CacheEvict(cacheNames = "products")
  public void evict(long id) {}

  /** @return how often {@link #findById} queried the database in this instance */
  public long loads() {
    return loads.get();
  }
}
