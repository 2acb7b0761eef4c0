package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.RulesFile;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.client.ReadAfter;
import io.freshcache.client.Versioned;
import io.freshcache.writer.CacheWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Read-your-writes tokens ({@link ReadAfter}) under stress on real parts, with cdc-ingest and
 * cache-writer invalidating behind the writes as in production: several clients each update a
 * random row of a small hot set (raising its row version, {@code RETURNING version}) and read it
 * at once with the token. 10,000 such write-then-read iterations never return the value from
 * before the write, although the cache still holds it in most of them (the invalidation is
 * milliseconds behind) and other readers keep filling it. Meanwhile reads without a token of
 * rows nobody writes keep their hit ratio.
 */
class ReadYourWritesIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final String TABLE = "public.ryw_" + RUN;
  static final String SLOT = "ryw_" + RUN;
  static final int HOT = 50;
  static final int COLD = 200;
  static final int CLIENTS = 4;
  static final int ITERATIONS = 10_000;
  static final CachePolicy POLICY = CachePolicy.PRODUCT_CATALOG;

  static String key(int id) {
    return "e2e:ryw" + RUN + ":" + id;
  }

  static Versioned<String> load(Connection c, int id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT version FROM " + TABLE + " WHERE id = ?")) {
      ps.setInt(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Versioned.of("v" + rs.getLong(1), rs.getLong(1)) : Versioned.unversioned(null);
      }
    }
  }

  static long versionOf(String value) {
    return Long.parseLong(value.substring(1));
  }

  @Test
  void tenThousandWriteThenReadIterationsNeverGoBackAndTokenlessReadsKeepTheirHitRatio() throws Exception {
    EndToEndIT.sql("CREATE TABLE " + TABLE + " (id int PRIMARY KEY, version bigint NOT NULL)");
    EndToEndIT.sql("ALTER TABLE " + TABLE + " REPLICA IDENTITY FULL");
    EndToEndIT.sql("INSERT INTO " + TABLE + " SELECT g, 1 FROM generate_series(1, " + (HOT + COLD) + ") g");
    CdcIngest cdc = null;
    CacheWriter writer = null;
    List<CacheClient> clients = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + 2);
    try {
      cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder().connectorName("ryw-" + RUN).slotName(SLOT)
          .publicationName(SLOT).httpPort(0).rules(RulesFile.parse("tables:\n  " + TABLE + ":\n    key: e2e:ryw" + RUN
              + ":{id}\n    version: column:version\n", "test")).build());
      assertThat(cdc.awaitStreaming(Duration.ofSeconds(60))).as("cdc-ingest streaming").isTrue();
      writer = EndToEndSupport.startWriterAtTheEnd("ryw-" + RUN).writer();
      for (int i = 0; i < CLIENTS + 1; i++) {
        clients.add(EndToEndSupport.patientClient());
      }
      AtomicLong wentBack = new AtomicLong();
      AtomicLong tokenlessWentBack = new AtomicLong();
      AtomicLong tokenHits = new AtomicLong();
      AtomicLong iterations = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      // readers without a token: the cold rows (never written) through the last client, and the
      // hot rows through every client (keeping old values cached for the token reads to refuse)
      CacheClient coldClient = clients.get(CLIENTS);
      AtomicLong coldReads = new AtomicLong();
      Future<?> cold = pool.submit(() -> {
        try (Connection c = DriverManager.getConnection(EndToEndIT.JDBC, EndToEndIT.USER, EndToEndIT.PASSWORD)) {
          while (!stop.get()) {
            int id = HOT + 1 + ThreadLocalRandom.current().nextInt(COLD);
            coldClient.getOrLoadVersioned(key(id), String.class, POLICY, () -> load(c, id));
            coldReads.incrementAndGet();
          }
        }
        return null;
      });
      Future<?> hot = pool.submit(() -> {
        try (Connection c = DriverManager.getConnection(EndToEndIT.JDBC, EndToEndIT.USER, EndToEndIT.PASSWORD)) {
          while (!stop.get()) {
            int id = 1 + ThreadLocalRandom.current().nextInt(HOT);
            clients.get(id % CLIENTS).getOrLoadVersioned(key(id), String.class, POLICY, () -> load(c, id));
          }
        }
        return null;
      });
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < CLIENTS; w++) {
        CacheClient client = clients.get(w);
        workers.add(pool.submit(() -> {
          try (Connection c = DriverManager.getConnection(EndToEndIT.JDBC, EndToEndIT.USER, EndToEndIT.PASSWORD);
              PreparedStatement up = c.prepareStatement("UPDATE " + TABLE + " SET version = version + 1 WHERE id = ?"
                  + " RETURNING version")) {
            while (iterations.incrementAndGet() <= ITERATIONS) {
              int id = 1 + ThreadLocalRandom.current().nextInt(HOT);
              // the old value is cached just before the write, so the read has something to refuse
              client.getOrLoadVersioned(key(id), String.class, POLICY, () -> load(c, id));
              up.setInt(1, id);
              long written;
              try (ResultSet rs = up.executeQuery()) {
                rs.next();
                written = rs.getLong(1);
              }
              // the control: a read without the token at the same moment (shows the race is real)
              String plain = client.getOrLoadVersioned(key(id), String.class, POLICY, () -> load(c, id));
              if (versionOf(plain) < written) {
                tokenlessWentBack.incrementAndGet();
              }
              long hitsBefore = client.stats().hits();
              String read = client.getOrLoad(key(id), String.class, POLICY, ReadAfter.version(written), () -> load(c, id));
              if (client.stats().hits() > hitsBefore) {
                tokenHits.incrementAndGet();
              }
              if (versionOf(read) < written) {
                wentBack.incrementAndGet();
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : workers) {
        f.get();
      }
      CacheClient.Stats before = coldClient.stats();
      long coldBefore = coldReads.get();
      Thread.sleep(2000); // the cold readers alone, measured after the cache is warm
      CacheClient.Stats after = coldClient.stats();
      stop.set(true);
      cold.get();
      hot.get();
      double coldHitRatio = (double) (after.hits() - before.hits()) / Math.max(1, coldReads.get() - coldBefore);
      System.out.printf("read-your-writes: %d iterations, %d went back (without the token: %d), %d token reads"
          + " served from Redis; tokenless cold reads %d, hit ratio %.3f%n", ITERATIONS, wentBack.get(),
          tokenlessWentBack.get(), tokenHits.get(), coldReads.get(), coldHitRatio);
      assertThat(tokenlessWentBack.get()).as("control: reads without the token that went back").isPositive();
      assertThat(wentBack.get()).as("reads that returned the value from before their own write").isZero();
      assertThat(coldHitRatio).as("hit ratio of reads without a token").isGreaterThan(0.95);
    } finally {
      pool.shutdownNow();
      List<AutoCloseable> parts = new ArrayList<>(clients);
      parts.add(writer);
      parts.add(cdc);
      EndToEndIT.stopPath(SLOT, parts.toArray(new AutoCloseable[0]));
      EndToEndIT.sql("DROP TABLE IF EXISTS " + TABLE);
    }
  }
}
