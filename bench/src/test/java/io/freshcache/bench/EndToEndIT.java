package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.bench.demo.Product;
import io.freshcache.bench.demo.ProductStore;
import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CachePolicy;
import io.freshcache.writer.CacheWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path on real parts: PostgreSQL commit → Debezium (cdc-ingest) → Kafka →
 * cache-writer → Redis Cluster → client-lib read.
 */
class EndToEndIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8).replace('-', '_');
  static final Map<String, String> ENV = System.getenv();
  static final String JDBC = ENV.getOrDefault("JDBC_URL", "jdbc:postgresql://127.0.0.1:5433/shop");
  static final String USER = ENV.getOrDefault("PG_USER", "freshcache");
  static final String PASSWORD = ENV.getOrDefault("PG_PASSWORD", "freshcache");
  static final String SLOT = "e2e_" + RUN;

  static CdcIngest cdc;
  static CacheWriter writer;
  static CacheClient client;
  static ProductStore db;

  @BeforeAll
  static void start() throws Exception {
    db = new ProductStore(JDBC, USER, PASSWORD);
    db.seed(0);
    // a connector name of its own: the default one's stored source offsets belong to the service
    cdc = CdcIngest.start(CdcIngestConfig.fromEnv().toBuilder().connectorName("e2e-" + RUN)
        .slotName(SLOT).publicationName(SLOT).httpPort(0).build());
    assertThat(cdc.awaitStreaming(Duration.ofSeconds(60))).as("cdc-ingest streaming").isTrue();
    // the topics are shared and persistent: the writer sees only what this test produces
    writer = EndToEndSupport.startWriterAtTheEnd("e2e-" + RUN).writer();
    client = EndToEndSupport.patientClient();
  }

  @AfterAll
  static void stop() throws Exception {
    stopPath(SLOT, client, writer, cdc, db);
  }

  /**
   * Closes what a test of the whole path started, in the order given (null ones are skipped),
   * then drops the connector's replication slot and publication, both named {@code slot}, even if
   * a close failed. Fails if the slot cannot be dropped.
   */
  static void stopPath(String slot, AutoCloseable... parts) throws Exception {
    Throwable failure = null;
    for (AutoCloseable part : parts) {
      if (part != null) {
        try {
          part.close();
        } catch (Exception e) {
          failure = first(failure, e);
        }
      }
    }
    try {
      EndToEndSupport.dropSlotAndPublication(JDBC, USER, PASSWORD, slot, slot);
    } catch (Exception | AssertionError e) {
      failure = first(failure, e);
    }
    if (failure instanceof Exception e) {
      throw e;
    } else if (failure != null) {
      throw (Error) failure;
    }
  }

  private static Throwable first(Throwable failure, Throwable next) {
    if (failure == null) {
      return next;
    }
    failure.addSuppressed(next);
    return failure;
  }

  static void sql(String statement) throws SQLException {
    try (Connection c = DriverManager.getConnection(JDBC, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  @Test
  void anUpdateBySqlReachesTheNextRead() throws Exception {
    long id = 1_000_000 + Math.abs(RUN.hashCode() % 1_000_000);
    String key = "catalog:product:" + id;
    try (EndToEndSupport.Fences fences = new EndToEndSupport.Fences();
        ProductStore loaderDb = new ProductStore(JDBC, USER, PASSWORD)) {
      Long earlier = fences.version(key); // an earlier run may have used this id
      sql("INSERT INTO public.products(id, name, price_cents) VALUES (" + id + ", 'e2e lamp', 1999)"
          + " ON CONFLICT (id) DO UPDATE SET price_cents = 1999");
      // the insert's own invalidation must land first, or it would evict the first fill below;
      // the versions are commit LSNs, so its fence is above any earlier run's
      long inserted = fences.awaitAbove(key, earlier);
      AtomicInteger loads = new AtomicInteger();
      Product first = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return loaderDb.find(id);
      });
      assertThat(first.priceCents()).isEqualTo(1999);
      assertThat(loads).as("miss runs the loader").hasValue(1);

      Product second = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
        loads.incrementAndGet();
        return loaderDb.find(id);
      });
      assertThat(second).isEqualTo(first);
      assertThat(loads).as("hit skips the loader").hasValue(1);

      long version = db.bumpPrice(id, 1);
      long committedAt = System.nanoTime();
      long[] seenAt = new long[1];
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() -> {
        Product p = client.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
          loads.incrementAndGet();
          return loaderDb.find(id);
        });
        seenAt[0] = System.nanoTime();
        return p.version() == version && p.priceCents() == 2000;
      });
      System.out.printf("end-to-end: commit -> new value read after %.1f ms (cdc commit->produce %s)%n",
          (seenAt[0] - committedAt) / 1e6, cdc.lastCommitToProduceLag().map(d -> d.toMillis() + " ms").orElse("n/a"));
      assertThat(loads).as("the update costs exactly one more loader call").hasValue(2);
      assertThat(fences.version(key)).as("the update's event was applied: the fence moved past the insert's")
          .isGreaterThan(inserted);
      // the group started at the end of the topics, so the counter holds no history, only this
      // test's insert and update (a concurrent producer on the shared stack can add, never take
      // away); it is raised just after the apply returns, so it gets that moment
      await().atMost(EndToEndSupport.PATIENCE).untilAsserted(() -> assertThat(writer.applied())
          .as("events applied by this test's writer: the insert and the update").isGreaterThanOrEqualTo(2));
    }
  }
}
