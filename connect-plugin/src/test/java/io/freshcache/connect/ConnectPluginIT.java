package io.freshcache.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/**
 * The slim plugin archive in a real Kafka Connect worker (distributed mode, a separate JVM whose
 * classpath holds only Connect's runtime): Debezium's PostgreSQL connector and the archive, each
 * its own directory on plugin.path; a SQL update -> Connect -> CacheEventTransform -> topic ->
 * cache-writer (its jar, a separate JVM) -> Redis, read through client-lib. Runs against the
 * dev/stack (PG_*, KAFKA_BOOTSTRAP_SERVERS, REDIS_NODES from {@code dev/stack env}).
 */
class ConnectPluginIT {
  private static final String PG_HOST = env("PG_HOST", "127.0.0.1");
  private static final String PG_PORT = env("PG_PORT", "5433");
  private static final String PG_DB = env("PG_DB", "shop");
  private static final String PG_USER = env("PG_USER", "freshcache");
  private static final String PG_PASSWORD = env("PG_PASSWORD", "freshcache");
  private static final String KAFKA = env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
  private static final String REDIS = env("REDIS_NODES",
      "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005");
  private static final String JDBC = "jdbc:postgresql://" + PG_HOST + ":" + PG_PORT + "/" + PG_DB;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  record Product(long id, String name) {}

  @Test
  void anUpdateTravelsThroughConnectAndTheTransformToTheCache() throws Exception {
    Path work = Path.of(System.getProperty("freshcache.connect.work", "target/connect"));
    Path sources = Path.of(System.getProperty("freshcache.connect.dir", "src/test/connect"));
    Path archive = Path.of(System.getProperty("freshcache.connect.plugin.archive"));
    Path worker = resolve(sources.resolve("worker/pom.xml"), work.resolve("worker"));
    Path plugins = work.resolve("plugins");
    resolve(sources.resolve("debezium/pom.xml"), plugins.resolve("debezium-connector-postgres"));
    List<String> archived = unzip(archive, plugins);
    // slim: freshcache's two jars, Jackson, msgpack and SnakeYAML; nothing Connect provides
    assertThat(archived).anyMatch(n -> n.startsWith("freshcache-connect-plugin/lib/freshcache-cdc-ingest-"))
        .anyMatch(n -> n.startsWith("freshcache-connect-plugin/lib/freshcache-cache-protocol-"))
        .noneMatch(n -> n.contains("/kafka-") || n.contains("/connect-") || n.contains("/slf4j-")
            || n.contains("/debezium-") || n.contains("/logback-") || n.contains("/micrometer-")
            || n.contains("/postgresql-") || n.contains("/lettuce-"));

    String suffix = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 44), 36);
    String table = "connect_it_products";
    String topic = "fc-connect-it-" + suffix;
    String slot = "fc_connect_" + suffix;
    try (Connection c = db(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS public." + table + " (id bigint PRIMARY KEY, name text NOT NULL)");
    }
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA))) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    int restPort = freePort();
    Properties wp = new Properties();
    wp.setProperty("bootstrap.servers", KAFKA);
    wp.setProperty("group.id", "fc-connect-it-" + suffix);
    wp.setProperty("key.converter", "org.apache.kafka.connect.storage.StringConverter");
    wp.setProperty("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    for (String kind : List.of("config", "offset", "status")) {
      wp.setProperty(kind + ".storage.topic", "fc-connect-it-" + suffix + "-" + kind + "s");
      wp.setProperty(kind + ".storage.replication.factor", "1");
    }
    wp.setProperty("offset.storage.partitions", "1");
    wp.setProperty("status.storage.partitions", "1");
    wp.setProperty("offset.flush.interval.ms", "1000");
    wp.setProperty("plugin.path", plugins.toAbsolutePath().toString());
    wp.setProperty("listeners", "http://127.0.0.1:" + restPort);
    wp.setProperty("rest.advertised.host.name", "127.0.0.1");
    Path workerProps = work.resolve("worker-" + suffix + ".properties");
    try (var out = Files.newBufferedWriter(workerProps)) {
      wp.store(out, "ConnectPluginIT worker");
    }

    List<Process> processes = new ArrayList<>();
    String connector = "pg-connect-it-" + suffix;
    try (CacheClient cache = CacheClient.create(CacheClientConfig.fromEnv(Map.of("REDIS_NODES", REDIS,
        "REDIS_COMMAND_TIMEOUT_MS", "5000", "CIRCUIT_BREAKER_SLOW_CALL_MS", "5000")))) {
      processes.add(start(work.resolve("worker-" + suffix + ".log"), List.of(java(), "-Xmx512m",
          "-cp", worker.toAbsolutePath() + "/*", "org.apache.kafka.connect.cli.ConnectDistributed",
          workerProps.toAbsolutePath().toString()), Map.of()));
      Path writerJar = Path.of("../cache-writer/target/cache-writer-0.1.0-SNAPSHOT.jar");
      assertThat(writerJar).as("cache-writer's jar (mvn package)").exists();
      processes.add(start(work.resolve("writer-" + suffix + ".log"), List.of(java(), "-Xmx256m", "-jar",
          writerJar.toAbsolutePath().toString()), Map.of("KAFKA_BOOTSTRAP_SERVERS", KAFKA, "REDIS_NODES", REDIS,
          "WRITER_TOPICS", topic, "WRITER_GROUP_ID", "fc-connect-it-writer-" + suffix, "WRITER_HTTP_PORT", "0")));

      String base = "http://127.0.0.1:" + restPort;
      await("the worker lists the Debezium connector and the freshcache transform").atMost(3, TimeUnit.MINUTES)
          .pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
          .until(() -> {
            String plugins1 = get(base + "/connector-plugins?connectorsOnly=false");
            return plugins1.contains("io.debezium.connector.postgresql.PostgresConnector")
                && plugins1.contains("io.freshcache.cdc.connect.CacheEventTransform");
          });

      Map<String, String> cc = new LinkedHashMap<>();
      cc.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
      cc.put("tasks.max", "1");
      cc.put("topic.prefix", "fc-connect-it-" + suffix);
      cc.put("database.hostname", PG_HOST);
      cc.put("database.port", PG_PORT);
      cc.put("database.dbname", PG_DB);
      cc.put("database.user", PG_USER);
      cc.put("database.password", PG_PASSWORD);
      cc.put("plugin.name", "pgoutput");
      cc.put("slot.name", slot);
      cc.put("publication.name", slot);
      cc.put("publication.autocreate.mode", "filtered");
      cc.put("table.include.list", "public\\\\." + table);
      cc.put("snapshot.mode", "no_data");
      cc.put("poll.interval.ms", "50");
      cc.put("tombstones.on.delete", "false");
      cc.put("skipped.operations", "none");
      cc.put("decimal.handling.mode", "string");
      cc.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
      cc.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
      cc.put("transforms", "freshcache");
      cc.put("transforms.freshcache.type", "io.freshcache.cdc.connect.CacheEventTransform");
      cc.put("transforms.freshcache.rules", "public." + table + "=connectit:product:{id}");
      cc.put("transforms.freshcache.topic", topic);
      cc.put("transforms.freshcache.connector.name", "pg-connect-it");
      String json = cc.entrySet().stream().map(e -> "\"" + e.getKey() + "\":\"" + e.getValue() + "\"")
          .collect(Collectors.joining(",", "{", "}"));
      HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/connectors/" + connector + "/config"))
          .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).as("PUT connector: %s", put.body()).isIn(200, 201);
      await("the connector's task runs and holds the slot").atMost(2, TimeUnit.MINUTES).pollInterval(Duration.ofSeconds(1))
          .ignoreExceptions().until(() -> get(base + "/connectors/" + connector + "/status").contains("\"tasks\":[{\"id\":0,\"state\":\"RUNNING\"")
              && slotActive(slot));

      long id = ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000);
      String key = "connectit:product:" + id;
      sql("INSERT INTO public." + table + " (id, name) VALUES (?, 'lamp')", id);
      await("a read answered from the cache").atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
          .until(() -> {
            long hits = cache.stats().hits();
            return "lamp".equals(read(cache, key, id).name()) && cache.stats().hits() == hits + 1;
          });
      sql("UPDATE public." + table + " SET name = 'desk lamp' WHERE id = ?", id);
      await("the update reaches the cache through Connect, the transform and cache-writer")
          .atMost(1, TimeUnit.MINUTES).pollInterval(Duration.ofMillis(200))
          .until(() -> "desk lamp".equals(read(cache, key, id).name()));
    } finally {
      try {
        HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + restPort + "/connectors/" + connector))
            .DELETE().build(), HttpResponse.BodyHandlers.discarding());
      } catch (IOException e) {
        // the worker is gone; the slot is dropped below anyway
      }
      for (Process p : processes) {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      dropSlot(slot);
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA))) {
        List<String> topics = new ArrayList<>(List.of(topic));
        for (String kind : List.of("config", "offset", "status")) {
          topics.add("fc-connect-it-" + suffix + "-" + kind + "s");
        }
        admin.deleteTopics(topics).all().get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static Product read(CacheClient cache, String key, long id) {
    return cache.getOrLoad(key, Product.class, CachePolicy.PRODUCT_CATALOG, () -> {
      try (Connection c = db(); PreparedStatement ps = c.prepareStatement(
          "SELECT id, name FROM public.connect_it_products WHERE id = ?")) {
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? new Product(rs.getLong(1), rs.getString(2)) : null;
        }
      }
    });
  }

  /** Resolves a pom's dependencies into {@code into} once (Maven, as dev/stack does for Kafka). */
  private static Path resolve(Path pom, Path into) throws Exception {
    Path done = into.resolve(".resolved");
    if (Files.exists(done) && Files.readString(done).equals(Files.readString(pom))) {
      return into;
    }
    Files.createDirectories(into);
    Process p = new ProcessBuilder("mvn", "-q", "-B", "-f", pom.toAbsolutePath().toString(),
        "dependency:copy-dependencies", "-DoutputDirectory=" + into.toAbsolutePath())
        .redirectErrorStream(true).redirectOutput(into.resolveSibling(into.getFileName() + "-maven.log").toFile())
        .start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("mvn for %s finished", pom).isTrue();
    assertThat(p.exitValue()).as("mvn dependency:copy-dependencies of %s (log beside %s)", pom, into).isZero();
    Files.writeString(done, Files.readString(pom));
    return into;
  }

  private static List<String> unzip(Path archive, Path into) throws IOException {
    assertThat(archive).as("the plugin archive (mvn package)").exists();
    List<String> names = new ArrayList<>();
    try (InputStream in = Files.newInputStream(archive); ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        names.add(e.getName());
        Path target = into.resolve(e.getName()).normalize();
        assertThat(target.startsWith(into)).isTrue();
        if (e.isDirectory()) {
          Files.createDirectories(target);
        } else {
          Files.createDirectories(target.getParent());
          Files.copy(zip, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return names;
  }

  private static Process start(Path log, List<String> command, Map<String, String> env) throws IOException {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    return pb.start();
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String get(String url) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static Connection db() throws SQLException {
    return DriverManager.getConnection(JDBC, PG_USER, PG_PASSWORD);
  }

  private static void sql(String statement, long id) throws SQLException {
    try (Connection c = db(); PreparedStatement ps = c.prepareStatement(statement)) {
      ps.setLong(1, id);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  private static boolean slotActive(String slot) throws SQLException {
    try (Connection c = db(); PreparedStatement ps = c.prepareStatement(
        "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private static void dropSlot(String slot) throws Exception {
    try (Connection c = db(); Statement s = c.createStatement()) {
      await().atMost(30, TimeUnit.SECONDS).ignoreExceptions().until(() -> !slotActive(slot));
      s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
      s.execute("DROP PUBLICATION IF EXISTS " + slot);
    }
  }

  private static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? def : v;
  }
}
