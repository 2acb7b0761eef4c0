package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcIngestConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the replication slot's state for {@code /health} and the slot-lag gauge: whether it is
 * active, and how many WAL bytes lie between the server's current position and the slot's
 * confirmed one. At most one query a second however often it is asked (scrapes and health checks
 * may come together), on one connection opened when first needed and again after a failure; an
 * idle service that nobody scrapes runs no query.
 */
final class SlotProbe implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SlotProbe.class);
  private static final long MAX_AGE_NANOS = 1_000_000_000L;

  /**
   * @param active the slot is held by a walsender
   * @param lagBytes WAL bytes beyond the confirmed position, or -1 if unknown
   * @param error why it could not be read, or null
   */
  record State(boolean active, long lagBytes, String error) {}

  private final CdcIngestConfig config;
  private Connection connection;
  private State last = new State(false, -1, "not read yet");
  private long readAt = Long.MIN_VALUE;

  SlotProbe(CdcIngestConfig config) {
    this.config = config;
  }

  synchronized State state() {
    long now = System.nanoTime();
    if (readAt != Long.MIN_VALUE && now - readAt < MAX_AGE_NANOS) {
      return last;
    }
    readAt = now;
    try {
      if (connection == null || connection.isClosed()) {
        connection = Preflight.connect(config);
      }
      try (PreparedStatement ps = connection.prepareStatement("SELECT active,"
          + " pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint"
          + " FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setQueryTimeout(2);
        ps.setString(1, config.slotName());
        try (ResultSet rs = ps.executeQuery()) {
          last = rs.next() ? new State(rs.getBoolean(1), rs.getLong(2), null)
              : new State(false, -1, "slot " + config.slotName() + " does not exist");
        }
      }
    } catch (SQLException e) {
      LOG.debug("Cannot read slot {}: {}", config.slotName(), e.getMessage());
      last = new State(false, -1, e.getMessage());
      close();
    }
    return last;
  }

  @Override
  public synchronized void close() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        LOG.debug("Closing the slot probe's connection: {}", e.getMessage());
      }
      connection = null;
    }
  }
}
