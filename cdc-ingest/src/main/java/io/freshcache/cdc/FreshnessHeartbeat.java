package io.freshcache.cdc;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.EnvSettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Always-on freshness: a small table whose rows cdc-ingest updates every few seconds, in one
 * transaction, whether or not the application writes. Each update flows through the real path
 * (WAL → Debezium → Kafka → cache-writer → Redis → notice), so cache-writer's
 * {@code freshcache_heartbeat_apply_lag_seconds} and the clients'
 * {@code freshcache_heartbeat_notice_lag_seconds} histograms always have fresh samples, and a
 * near cache hears every one of its notice channels once a period (which lets a client refuse
 * near-cache hits while a channel is silent: {@code NEAR_CACHE_SILENCE_BUDGET_MS}).
 *
 * <p>Why a writer of its own and not Debezium's {@code heartbeat.action.query}: Debezium runs that
 * query from its streaming loop when it emits a heartbeat, so a stalled or slow connector writes
 * no heartbeat at all, and the stall shows only as silence; this writer commits on its own clock,
 * so a stall downstream of the database shows as growing lag, measured from the real commit. It
 * also updates {@value NoticeChannels#COUNT} rows, one whose key lands on each notice channel
 * ({@link #rowIds()}), where Debezium's query would be one statement of the user's choosing. And
 * Debezium's {@code heartbeat.interval.ms} also paces the offsets it carries, a different
 * concern.
 *
 * <p>Table {@code id int primary key, beat_ms bigint}: the rule ({@link #rule(String)}) maps row
 * {@code id} to key {@code freshcache:heartbeat:<id>}, upserted with {@code beat_ms} (the
 * statement's clock in epoch ms) as the row version, so the cached value's data version tells a
 * client when the heartbeat was written. The table is created if missing (the user needs
 * {@code CREATE} on the schema and ownership of the table; otherwise create it once as in
 * {@link #prepare}, with {@code REPLICA IDENTITY FULL}).
 *
 * <p>Settings: {@code CDC_HEARTBEAT_INTERVAL_MS} (default {@value #DEFAULT_INTERVAL_MS}; {@code 0}
 * = off) and {@code CDC_HEARTBEAT_TABLE} (default {@value #DEFAULT_TABLE}).
 */
public final class FreshnessHeartbeat implements AutoCloseable {
  /** Default period, ms. */
  public static final long DEFAULT_INTERVAL_MS = 2000;
  /** Default table. */
  public static final String DEFAULT_TABLE = "public.freshcache_heartbeat";
  /** Key template of the heartbeat rows. */
  public static final String KEY_TEMPLATE = "freshcache:heartbeat:{id}";
  /** Heartbeats committed, counter. */
  public static final String BEATS = "freshcache.cdc.heartbeats";
  /** Heartbeats that failed (database unreachable...), counter. */
  public static final String FAILURES = "freshcache.cdc.heartbeat.failures";

  private static final Logger LOG = LoggerFactory.getLogger(FreshnessHeartbeat.class);

  /**
   * @param interval the period; {@link Duration#ZERO} = off
   * @param table {@code schema.table}
   */
  public record Settings(Duration interval, String table) {
    /**
     * @param env the environment
     * @return {@code CDC_HEARTBEAT_INTERVAL_MS} and {@code CDC_HEARTBEAT_TABLE} over the defaults
     * @throws ConfigException naming the variable and its bad value
     */
    public static Settings fromEnv(EnvSettings env) {
      Duration interval = env.duration("CDC_HEARTBEAT_INTERVAL_MS", ChronoUnit.MILLIS, Duration.ZERO)
          .orElse(Duration.ofMillis(DEFAULT_INTERVAL_MS));
      if (!interval.isZero() && interval.toMillis() < 100) {
        throw ConfigException.invalid("CDC_HEARTBEAT_INTERVAL_MS", interval.toMillis(), "0 (off) or at least 100 ms");
      }
      String table = env.string("CDC_HEARTBEAT_TABLE").orElse(DEFAULT_TABLE);
      if (!table.matches("[A-Za-z_][A-Za-z0-9_$]*\\.[A-Za-z_][A-Za-z0-9_$]*")) {
        throw ConfigException.invalid("CDC_HEARTBEAT_TABLE", table, "schema.table");
      }
      return new Settings(interval, table);
    }

    /** @return whether the heartbeat runs */
    public boolean enabled() {
      return !interval.isZero();
    }
  }

  private final ScheduledExecutorService timer;
  private final java.util.concurrent.atomic.AtomicReference<Connection> connection;

  private FreshnessHeartbeat(ScheduledExecutorService timer,
      java.util.concurrent.atomic.AtomicReference<Connection> connection) {
    this.timer = timer;
    this.connection = connection;
  }

  /**
   * @param table {@code schema.table}
   * @return the rule that maps the heartbeat rows to {@code freshcache:heartbeat:<id>}: upsert
   *     (JSON, 10 minutes), versioned by {@code beat_ms}
   */
  public static TableRule rule(String table) {
    return TableRule.builder(table, KEY_TEMPLATE).upsert("json", Duration.ofMinutes(10))
        .versionColumn("beat_ms").build();
  }

  /** @return for each notice channel {@code i}, the smallest row id whose key lands on it */
  public static int[] rowIds() {
    int[] ids = new int[NoticeChannels.COUNT];
    java.util.Arrays.fill(ids, -1);
    int found = 0;
    for (int id = 1; found < ids.length; id++) {
      int ch = NoticeChannels.indexOf(CacheKey.parse(KEY_TEMPLATE.replace("{id}", Integer.toString(id))));
      if (ids[ch] < 0) {
        ids[ch] = id;
        found++;
      }
    }
    return ids;
  }

  /**
   * Creates the table if missing and inserts its rows. Run before cdc-ingest starts, so that its
   * start-up checks find the table.
   *
   * @param config cdc-ingest's settings (the database and its TLS properties)
   * @param table {@code schema.table}
   * @throws SQLException if the table cannot be created or filled
   */
  public static void prepare(CdcIngestConfig config, String table) throws SQLException {
    try (Connection c = connect(config); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + table + " (id int PRIMARY KEY, beat_ms bigint NOT NULL DEFAULT 0)");
      // a row-version rule needs whole rows on delete (cdc-ingest's start-up check)
      s.execute("ALTER TABLE " + table + " REPLICA IDENTITY FULL");
      StringBuilder values = new StringBuilder();
      for (int id : rowIds()) {
        values.append(values.length() == 0 ? "" : ",").append('(').append(id).append(",0)");
      }
      s.execute("INSERT INTO " + table + " (id, beat_ms) VALUES " + values + " ON CONFLICT (id) DO NOTHING");
    }
  }

  /**
   * Starts updating the rows every {@code settings.interval()} on a thread of its own; a failed
   * update is counted and logged, and the next one tries again.
   *
   * @param config cdc-ingest's settings (the database)
   * @param settings period and table
   * @param registry where {@value #BEATS} and {@value #FAILURES} go
   * @return the running heartbeat; close it to stop
   * @throws SQLException if the database cannot be reached
   */
  public static FreshnessHeartbeat start(CdcIngestConfig config, Settings settings, MeterRegistry registry)
      throws SQLException {
    Counter beats = Counter.builder(BEATS).description("freshness heartbeats committed").register(registry);
    Counter failures = Counter.builder(FAILURES).description("freshness heartbeats that failed").register(registry);
    // the connection is opened again after a failed beat: a PostgreSQL restart must not silence
    // the heartbeat until cdc-ingest itself restarts
    java.util.concurrent.atomic.AtomicReference<Connection> conn = new java.util.concurrent.atomic.AtomicReference<>(connect(config));
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freshcache-cdc-heartbeat");
      t.setDaemon(true);
      return t;
    });
    Integer[] ids = java.util.Arrays.stream(rowIds()).boxed().toArray(Integer[]::new);
    String sql = "UPDATE " + settings.table()
        + " SET beat_ms = (extract(epoch from clock_timestamp()) * 1000)::bigint WHERE id = ANY(?)";
    timer.scheduleAtFixedRate(() -> {
      try {
        Connection c = conn.get();
        if (c == null) {
          c = connect(config);
          conn.set(c);
          LOG.info("freshness heartbeat: connected to the database again");
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
          Array array = c.createArrayOf("int4", ids);
          ps.setArray(1, array);
          ps.executeUpdate();
          beats.increment();
        }
      } catch (SQLException | RuntimeException e) {
        failures.increment();
        LOG.warn("freshness heartbeat on {} failed: {}", settings.table(), e.getMessage());
        Connection broken = conn.getAndSet(null);
        if (broken != null) {
          try {
            broken.close();
          } catch (SQLException ignored) {
            // it is broken already
          }
        }
      }
    }, settings.interval().toMillis(), settings.interval().toMillis(), TimeUnit.MILLISECONDS);
    LOG.info("freshness heartbeat: {} rows of {} every {} ms", ids.length, settings.table(), settings.interval().toMillis());
    return new FreshnessHeartbeat(timer, conn);
  }

  private static Connection connect(CdcIngestConfig config) throws SQLException {
    Properties p = new Properties();
    p.putAll(config.jdbcProperties());
    p.setProperty("user", config.user());
    if (config.password() != null) {
      p.setProperty("password", config.password());
    }
    p.setProperty("ApplicationName", "freshcache-cdc-heartbeat");
    p.setProperty("connectTimeout", "5");
    p.setProperty("socketTimeout", "30");
    return DriverManager.getConnection(config.jdbcUrl(), p);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Connection c = connection.getAndSet(null);
    try {
      if (c != null) {
        c.close();
      }
    } catch (SQLException e) {
      // closing
    }
  }
}
