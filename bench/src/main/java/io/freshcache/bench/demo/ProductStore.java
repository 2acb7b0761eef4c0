package io.freshcache.bench.demo;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * JDBC access to {@code public.products}, the demo's source of truth. One instance per thread:
 * it holds one connection.
 */
public final class ProductStore implements AutoCloseable {
  /** DDL of the demo table; {@code REPLICA IDENTITY FULL} gives CDC the before-image too. */
  public static final String DDL = "CREATE TABLE IF NOT EXISTS public.products ("
      + "id bigint PRIMARY KEY, name text NOT NULL, price_cents bigint NOT NULL,"
      + " version bigint NOT NULL DEFAULT 1)";

  private final Connection connection;
  private final PreparedStatement find;
  private final PreparedStatement bump;

  /**
   * @param jdbcUrl e.g. {@code jdbc:postgresql://127.0.0.1:5433/shop}
   * @throws SQLException if the database cannot be reached
   */
  public ProductStore(String jdbcUrl, String user, String password) throws SQLException {
    this.connection = DriverManager.getConnection(jdbcUrl, user, password);
    connection.setAutoCommit(true);
    this.find = connection.prepareStatement("SELECT id, name, price_cents, version FROM public.products WHERE id = ?");
    this.bump = connection.prepareStatement("UPDATE public.products SET price_cents = price_cents + ?,"
        + " version = COALESCE(version, 0) + 1 WHERE id = ? RETURNING version, price_cents");
  }

  /** Creates the table if missing and upserts products {@code 1..count}. */
  public void seed(int count) throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute(DDL);
      // the table may have been created by another tool with fewer columns: add what is missing
      s.execute("ALTER TABLE public.products ADD COLUMN IF NOT EXISTS name text");
      s.execute("ALTER TABLE public.products ADD COLUMN IF NOT EXISTS price_cents bigint NOT NULL DEFAULT 0");
      s.execute("ALTER TABLE public.products ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1");
      s.execute("UPDATE public.products SET version = 1 WHERE version IS NULL");
      s.execute("ALTER TABLE public.products REPLICA IDENTITY FULL");
    }
    connection.setAutoCommit(false);
    try (PreparedStatement ins = connection.prepareStatement("INSERT INTO public.products(id, name, price_cents)"
        + " VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
      for (int i = 1; i <= count; i++) {
        ins.setLong(1, i);
        ins.setString(2, "product " + i);
        ins.setLong(3, 1000 + i);
        ins.addBatch();
      }
      ins.executeBatch();
      connection.commit();
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** @return the product, or {@code null} */
  public Product find(long id) throws SQLException {
    find.setLong(1, id);
    try (ResultSet rs = find.executeQuery()) {
      return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getLong(4)) : null;
    }
  }

  /**
   * Raises the price by {@code cents} and the version by one, committed when this returns.
   *
   * @return the new version, or -1 if no such product
   */
  public long bumpPrice(long id, long cents) throws SQLException {
    bump.setLong(1, cents);
    bump.setLong(2, id);
    try (ResultSet rs = bump.executeQuery()) {
      return rs.next() ? rs.getLong(1) : -1;
    }
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
