package io.freshcache.cdc.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transform inside Debezium's own transform chain, as a Kafka Connect worker runs it: the
 * PostgreSQL connector reads real changes and its configured {@code transforms} turn them into
 * cache events before the sink (here a collecting handler instead of the worker's producer).
 */
class ConnectTransformIT {
  private static final String PG_HOST = env("PG_HOST", "127.0.0.1");
  private static final String PG_PORT = env("PG_PORT", "5433");
  private static final String PG_DB = env("PG_DB", "shop");
  private static final String PG_USER = env("PG_USER", "freshcache");
  private static final String PG_PASSWORD = env("PG_PASSWORD", "freshcache");

  @TempDir Path dir;

  private static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? def : v;
  }

  private static Connection connect() throws Exception {
    return DriverManager.getConnection("jdbc:postgresql://" + PG_HOST + ':' + PG_PORT + '/' + PG_DB,
        PG_USER, PG_PASSWORD);
  }

  @Test
  void theConnectorsTransformChainProducesCacheEvents() throws Exception {
    String suffix = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 44), 36);
    String slot = "fc_it_" + suffix;
    try (Connection c = connect()) {
      c.createStatement().execute("CREATE TABLE IF NOT EXISTS public.cdc_it_connect (id bigint PRIMARY KEY, name text)");
    }
    Properties p = new Properties();
    p.setProperty("name", "connect-it-" + suffix);
    p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    p.setProperty("topic.prefix", "connect-it-" + suffix);
    p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
    p.setProperty("offset.storage.file.filename", dir.resolve("offsets.dat").toString());
    p.setProperty("offset.flush.interval.ms", "1000");
    p.setProperty("database.hostname", PG_HOST);
    p.setProperty("database.port", PG_PORT);
    p.setProperty("database.dbname", PG_DB);
    p.setProperty("database.user", PG_USER);
    p.setProperty("database.password", PG_PASSWORD);
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", slot);
    p.setProperty("publication.name", slot);
    p.setProperty("publication.autocreate.mode", "filtered");
    p.setProperty("table.include.list", "public\\.cdc_it_connect");
    p.setProperty("snapshot.mode", "no_data");
    p.setProperty("poll.interval.ms", "50");
    // what a Connect connector configuration would add:
    p.setProperty("transforms", "freshcache");
    p.setProperty("transforms.freshcache.type", CacheEventTransform.class.getName());
    p.setProperty("transforms.freshcache.rules", "public.cdc_it_connect=cdcit:connect:{id}");
    p.setProperty("transforms.freshcache.connector.name", "pg-connect-it");

    List<SourceRecord> out = new CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<Void> started = new java.util.concurrent.CompletableFuture<>();
    DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
        .using(p)
        .using(new DebeziumEngine.ConnectorCallback() {
          @Override
          public void taskStarted() {
            started.complete(null);
          }
        })
        .notifying((records, committer) -> {
          for (RecordChangeEvent<SourceRecord> r : records) {
            out.add(r.record());
            committer.markProcessed(r);
          }
          committer.markBatchFinished();
        })
        .build();
    ExecutorService thread = Executors.newSingleThreadExecutor();
    long id = ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000);
    try {
      thread.execute(engine);
      started.get(60, java.util.concurrent.TimeUnit.SECONDS);
      try (Connection c = connect()) {
        await().atMost(Duration.ofSeconds(30)).until(() -> io.freshcache.cdc.StackSettings.slotActive(c, slot));
        sql(c, "INSERT INTO public.cdc_it_connect VALUES (?, 'a')", id);
        sql(c, "UPDATE public.cdc_it_connect SET name = 'b' WHERE id = ?", id);
        sql(c, "DELETE FROM public.cdc_it_connect WHERE id = ?", id);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> out.size() >= 3);

      assertThat(out).extracting(SourceRecord::topic).containsOnly("freshcache.changes");
      assertThat(out).extracting(SourceRecord::key).containsOnly("cdcit:connect:" + id);
      List<CacheEvent> events = out.stream().map(r -> CacheEventJson.read((byte[]) r.value()))
          .collect(Collectors.toList());
      assertThat(events).extracting(CacheEvent::op)
          .containsExactly(CacheEvent.Op.INVALIDATE, CacheEvent.Op.INVALIDATE, CacheEvent.Op.DELETE);
      assertThat(events).extracting(CacheEvent::version).isSorted().doesNotHaveDuplicates();
      assertThat(events).allSatisfy(e -> {
        assertThat(e.source().connector()).isEqualTo("pg-connect-it");
        assertThat(e.source().table()).isEqualTo("public.cdc_it_connect");
      });
      assertThat(out).allSatisfy(r -> assertThat(r.sourceOffset()).containsKey("lsn"));
    } finally {
      engine.close();
      thread.shutdown();
      thread.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
      io.freshcache.cdc.StackSettings.dropSlotAndPublication(slot, slot);
    }
  }

  private static void sql(Connection c, String sql, long id) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, id);
      ps.executeUpdate();
    }
  }
}
