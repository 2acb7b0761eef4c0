package io.freshcache.testcontainers;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.lifecycle.Startables;
import org.testcontainers.utility.DockerImageName;

/**
 * The freshcache stack in containers, for your application's tests: a 6-node Redis Cluster (3
 * masters, 3 replicas), Kafka (KRaft, one node) with the freshcache topics, PostgreSQL 15 with
 * {@code wal_level=logical}, and optionally cdc-ingest and cache-writer with your mapping rules.
 * Connect your code with {@link #clientEnvironment()} ({@code CacheClientConfig.fromEnv(stack.clientEnvironment())})
 * and {@link #jdbcUrl()}.
 *
 * <pre>{@code
 * static final FreshcacheStack STACK = FreshcacheStack.shared(FreshcacheStack.builder()
 *     .initSql("CREATE TABLE public.products (id bigint PRIMARY KEY, name text, version bigint)")
 *     .services("public.products=catalog:product:{id}"));
 *
 * try (CacheClient cache = CacheClient.create(CacheClientConfig.fromEnv(STACK.clientEnvironment()))) { ... }
 * }</pre>
 *
 * <p>Every container uses the host's network (Linux only; Docker Desktop needs its "host
 * networking" setting): Redis Cluster nodes and Kafka tell clients the address to connect to, and
 * only with host networking is that address the same for your test, for the services and for the
 * nodes themselves. Ports are picked free at random from 20000-29999 (Redis's cluster bus ports
 * are those + 10000). Redis, Kafka and PostgreSQL start in parallel; the services start once the
 * topics and your SQL are in place, and count as started when {@code /health/ready} answers 200.
 *
 * <p>Images: the public ones by default ({@link #DEFAULT_REDIS_IMAGE} ...), or the builder's, or
 * the environment variables docker-compose.yml reads ({@code FRESHCACHE_REDIS_IMAGE},
 * {@code FRESHCACHE_KAFKA_IMAGE}, {@code FRESHCACHE_POSTGRES_IMAGE},
 * {@code FRESHCACHE_CDC_INGEST_IMAGE}, {@code FRESHCACHE_CACHE_WRITER_IMAGE}), e.g. the local
 * images {@code dev/images} builds where no registry is reachable ({@code eval "$(dev/images env)"}).
 * Without a registry also set {@code TESTCONTAINERS_RYUK_DISABLED=true} and
 * {@code TESTCONTAINERS_HOST_OVERRIDE=localhost}.
 */
public final class FreshcacheStack implements AutoCloseable {
  /** The public Redis image. */
  public static final String DEFAULT_REDIS_IMAGE = "redis:7.0";
  /** The public Kafka image. */
  public static final String DEFAULT_KAFKA_IMAGE = "apache/kafka:4.4.0";
  /** The public PostgreSQL image. */
  public static final String DEFAULT_POSTGRES_IMAGE = "postgres:15";
  /** The cdc-ingest image {@code dev/images} builds. */
  public static final String DEFAULT_CDC_INGEST_IMAGE = "freshcache/cdc-ingest:0.1.0-SNAPSHOT";
  /** The cache-writer image {@code dev/images} builds. */
  public static final String DEFAULT_CACHE_WRITER_IMAGE = "freshcache/cache-writer:0.1.0-SNAPSHOT";
  /** The topics the stack creates (6 partitions each). */
  public static final List<String> TOPICS = List.of("freshcache.changes", "freshcache.writes", "freshcache.dlq");
  /** Database, user and password of the PostgreSQL container. */
  public static final String DB = "shop";
  /** The database user: a superuser with REPLICATION, as cdc-ingest needs. */
  public static final String DB_USER = "freshcache";
  /** The database password. */
  public static final String DB_PASSWORD = "freshcache";

  private static final Logger LOG = LoggerFactory.getLogger(FreshcacheStack.class);
  private static final String HOST = "127.0.0.1";
  private static final String RESOURCES = "/io/freshcache/testcontainers/docker/";
  private static final Object SHARED_LOCK = new Object();
  private static FreshcacheStack shared;

  private final Builder options;
  private final List<Integer> redisPorts;
  private final int kafkaPort;
  private final int kafkaControllerPort;
  private final int pgPort;
  private final int cdcHttpPort;
  private final int writerHttpPort;
  private final List<GenericContainer<?>> started = new ArrayList<>();
  private GenericContainer<?> redis;
  private GenericContainer<?> kafka;
  private GenericContainer<?> postgres;
  private GenericContainer<?> cdcIngest;
  private GenericContainer<?> cacheWriter;

  private FreshcacheStack(Builder options) {
    this.options = options;
    FreePorts ports = new FreePorts();
    this.redisPorts = ports.redis(6);
    this.kafkaPort = ports.next();
    this.kafkaControllerPort = ports.next();
    this.pgPort = ports.next();
    this.cdcHttpPort = ports.next();
    this.writerHttpPort = ports.next();
  }

  /** @return a builder with the default images, no SQL and no services */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The one stack of this JVM built from {@code builder}, started on first use and closed when
   * the JVM exits, so test classes share it instead of starting their own (tests should use keys
   * and rows of their own). Later calls return the same stack whatever builder they pass.
   *
   * @param builder the stack's settings, used by the first call only
   * @return the started stack
   * @throws IllegalStateException if no Docker daemon answers, or an image is missing
   */
  public static FreshcacheStack shared(Builder builder) {
    synchronized (SHARED_LOCK) {
      if (shared == null) {
        FreshcacheStack stack = builder.build();
        stack.start();
        Runtime.getRuntime().addShutdownHook(new Thread(stack::close, "freshcache-stack-close"));
        shared = stack;
      }
      return shared;
    }
  }

  /**
   * Starts the containers: Redis, Kafka and PostgreSQL in parallel, then the topics and the init
   * SQL, then cdc-ingest and cache-writer if asked for. On failure every container started so far
   * is stopped.
   *
   * @return this stack
   * @throws IllegalStateException if no Docker daemon answers, an image is missing, or a
   *     container does not start (the message names it; its log went to SLF4J)
   */
  public FreshcacheStack start() {
    requireDocker();
    long t0 = System.nanoTime();
    try {
      redis = redisContainer();
      kafka = kafkaContainer();
      postgres = postgresContainer();
      startAll(List.of(redis, kafka, postgres));
      createTopics();
      for (String sql : options.initSql) {
        psql(sql);
      }
      if (options.cdcRules != null) {
        cdcIngest = cdcIngestContainer();
        cacheWriter = cacheWriterContainer();
        startAll(List.of(cdcIngest, cacheWriter));
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    LOG.info("freshcache stack started in {} ms: Redis {}, Kafka {}, PostgreSQL {}{}",
        (System.nanoTime() - t0) / 1_000_000, redisPorts, kafkaPort, pgPort,
        cdcIngest == null ? "" : ", cdc-ingest and cache-writer");
    return this;
  }

  /** Stops and removes every container this stack started. */
  @Override
  public void close() {
    List<GenericContainer<?>> toStop;
    synchronized (started) {
      toStop = new ArrayList<>(started);
      started.clear();
    }
    for (int i = toStop.size() - 1; i >= 0; i--) {
      try {
        toStop.get(i).stop();
      } catch (RuntimeException e) {
        LOG.warn("stopping {} failed: {}", toStop.get(i).getDockerImageName(), e.toString());
      }
    }
  }

  /** @return the Redis Cluster's nodes as {@code host:port}, the value of {@code REDIS_NODES} */
  public List<String> redisNodes() {
    List<String> nodes = new ArrayList<>();
    redisPorts.forEach(p -> nodes.add(HOST + ":" + p));
    return nodes;
  }

  /** @return Kafka's bootstrap servers, {@code host:port} */
  public String kafkaBootstrapServers() {
    return HOST + ":" + kafkaPort;
  }

  /** @return the JDBC URL of the database {@link #DB} (user {@link #DB_USER}, password {@link #DB_PASSWORD}) */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + HOST + ":" + pgPort + "/" + DB;
  }

  /** @return PostgreSQL's port on the host */
  public int postgresPort() {
    return pgPort;
  }

  /**
   * The settings client-lib reads, for {@code CacheClientConfig.fromEnv(Map)}: {@code REDIS_NODES}
   * and {@code KAFKA_BOOTSTRAP_SERVERS} (for {@code publishWrite}). Add your own entries to a copy.
   *
   * @return an unmodifiable map of environment-variable names to values
   */
  public Map<String, String> clientEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("REDIS_NODES", String.join(",", redisNodes()));
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers());
    return Map.copyOf(env);
  }

  /** @return cdc-ingest's HTTP port ({@code /health}, {@code /metrics}), 0 without services */
  public int cdcIngestHttpPort() {
    return cdcIngest == null ? 0 : cdcHttpPort;
  }

  /** @return cache-writer's HTTP port ({@code /health}, {@code /metrics}), 0 without services */
  public int cacheWriterHttpPort() {
    return cacheWriter == null ? 0 : writerHttpPort;
  }

  /**
   * Runs SQL in the database as {@link #DB_USER}, through {@code psql} in the PostgreSQL container.
   *
   * @param sql one or more statements
   * @throws IllegalStateException if psql reports an error (the message has its output)
   */
  public void psql(String sql) {
    exec(postgres, "postgresql", "env", "PGPASSWORD=" + DB_PASSWORD, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-h", HOST, "-p", String.valueOf(pgPort), "-U", DB_USER, "-d", DB, "-c", sql);
  }

  // ---------------------------------------------------------------------------------------------

  private GenericContainer<?> container(String image, String name) {
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image));
    c.withNetworkMode("host")
        .withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("freshcache.stack." + name)))
        .withStartupTimeout(options.startupTimeout);
    return c;
  }

  private GenericContainer<?> redisContainer() {
    StringJoiner nodes = new StringJoiner(",");
    StringBuilder script = new StringBuilder("set -e\n");
    for (int p : redisPorts) {
      nodes.add(HOST + ":" + p);
      script.append("redis-server --bind ").append(HOST).append(" --port ").append(p)
          .append(" --protected-mode no --cluster-enabled yes --cluster-config-file nodes-").append(p)
          .append(".conf --cluster-node-timeout 3000 --cluster-require-full-coverage no")
          .append(" --cluster-allow-reads-when-down yes --repl-diskless-sync-delay 0 --save '' --appendonly no")
          .append(" --dir /tmp &\n");
    }
    script.append("bash /tmp/cluster-create.sh\nwait\n");
    return container(options.redisImage, "redis")
        .withCopyToContainer(Transferable.of(resource("redis/cluster-create.sh"), 0755), "/tmp/cluster-create.sh")
        .withEnv("REDIS_NODES", nodes.toString())
        .withEnv("FRESHCACHE_READY_TIMEOUT_S", String.valueOf(options.startupTimeout.toSeconds()))
        .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("bash", "-c", script.toString()))
        .waitingFor(Wait.forLogMessage(".*redis-cluster-create: cluster ready.*", 1));
  }

  private GenericContainer<?> kafkaContainer() {
    String properties = resource("kafka/server.properties")
        .replaceAll("(?m)^log\\.dirs=.*$", "log.dirs=/tmp/kafka-data");
    return container(options.kafkaImage, "kafka")
        .withCopyToContainer(Transferable.of(properties), "/tmp/freshcache/server.properties")
        .withCopyToContainer(Transferable.of(resource("kafka/start.sh"), 0755), "/tmp/freshcache/start.sh")
        .withCopyToContainer(Transferable.of(resource("kafka/topics-init.sh"), 0755), "/tmp/freshcache/topics-init.sh")
        .withEnv("KAFKA_CONFIG", "/tmp/freshcache/server.properties")
        .withEnv("KAFKA_PORT", String.valueOf(kafkaPort))
        .withEnv("KAFKA_CONTROLLER_PORT", String.valueOf(kafkaControllerPort))
        .withEnv("KAFKA_HEAP_OPTS", "-Xms64m -Xmx384m")
        .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint("bash", "/tmp/freshcache/start.sh"))
        .waitingFor(Wait.forLogMessage(".*Kafka Server started.*", 1));
  }

  private GenericContainer<?> postgresContainer() {
    return container(options.postgresImage, "postgres")
        .withCopyToContainer(Transferable.of(resource("postgres/pg_hba.conf"), 0644), "/tmp/freshcache-pg_hba.conf")
        .withEnv("POSTGRES_DB", DB)
        .withEnv("POSTGRES_USER", DB_USER)
        .withEnv("POSTGRES_PASSWORD", DB_PASSWORD)
        .withEnv("PGPORT", String.valueOf(pgPort))
        .withCommand("postgres", "-c", "listen_addresses=" + HOST, "-c", "port=" + pgPort,
            "-c", "wal_level=logical", "-c", "max_replication_slots=10", "-c", "max_wal_senders=10",
            "-c", "fsync=off", "-c", "hba_file=/tmp/freshcache-pg_hba.conf")
        .waitingFor(Wait.forSuccessfulCommand("pg_isready -q -h " + HOST + " -p " + pgPort + " -d " + DB
            + " -U " + DB_USER + " && PGPASSWORD=" + DB_PASSWORD + " psql -X -tA -h " + HOST + " -p " + pgPort
            + " -U " + DB_USER + " -d " + DB + " -c 'SHOW wal_level' | grep -qx logical"));
  }

  private GenericContainer<?> cdcIngestContainer() {
    return container(options.cdcIngestImage, "cdc-ingest")
        .withEnv("PG_HOST", HOST).withEnv("PG_PORT", String.valueOf(pgPort)).withEnv("PG_DB", DB)
        .withEnv("PG_USER", DB_USER).withEnv("PG_PASSWORD", DB_PASSWORD)
        .withEnv("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers())
        .withEnv("CDC_RULES", options.cdcRules)
        .withEnv("CDC_OFFSET_FILE", "/tmp/cdc-offsets.dat")
        .withEnv("CDC_HTTP_PORT", String.valueOf(cdcHttpPort))
        .withEnv("JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .waitingFor(new HostHttpWaitStrategy(HOST, cdcHttpPort, "/health/ready"));
  }

  private GenericContainer<?> cacheWriterContainer() {
    return container(options.cacheWriterImage, "cache-writer")
        .withEnv("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers())
        .withEnv("REDIS_NODES", String.join(",", redisNodes()))
        .withEnv("WRITER_HTTP_PORT", String.valueOf(writerHttpPort))
        .withEnv("JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .waitingFor(new HostHttpWaitStrategy(HOST, writerHttpPort, "/health/ready"));
  }

  private void createTopics() {
    exec(kafka, "kafka topics", "env", "BOOTSTRAP_SERVER=" + kafkaBootstrapServers(),
        "FRESHCACHE_TOPICS=" + String.join(" ", TOPICS), "FRESHCACHE_KAFKA_PARTITIONS=6",
        "FRESHCACHE_READY_TIMEOUT_S=" + options.startupTimeout.toSeconds(),
        "bash", "/tmp/freshcache/topics-init.sh");
  }

  private void startAll(List<GenericContainer<?>> containers) {
    synchronized (started) {
      started.addAll(containers);
    }
    try {
      Startables.deepStart(containers).join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException("freshcache-testcontainers: a container did not start: " + cause.getMessage()
          + " (its log is under the logger freshcache.stack.*)", cause);
    }
  }

  private static void exec(GenericContainer<?> c, String what, String... command) {
    try {
      Container.ExecResult r = c.execInContainer(command);
      if (r.getExitCode() != 0) {
        throw new IllegalStateException("freshcache-testcontainers: " + what + " failed (exit " + r.getExitCode()
            + "): " + r.getStdout() + r.getStderr());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + what, e);
    }
  }

  private void requireDocker() {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      throw new IllegalStateException("freshcache-testcontainers: no Docker daemon answers (DOCKER_HOST="
          + System.getenv("DOCKER_HOST") + "). Start Docker (on Debian: apt-get install docker.io, then dockerd;"
          + " freshcache's dev/images daemon does both) or run these tests where Docker is available.");
    }
    for (String image : options.images()) {
      if (isLocalOnly(image) && !imageExists(image)) {
        throw new IllegalStateException("freshcache-testcontainers: image " + image + " is not on this machine;"
            + " build it with dev/images (it exists in no registry)");
      }
    }
  }

  private static boolean isLocalOnly(String image) {
    return image.startsWith("local/") || image.startsWith("freshcache/");
  }

  private static boolean imageExists(String image) {
    try {
      DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String resource(String name) {
    try (InputStream in = FreshcacheStack.class.getResourceAsStream(RESOURCES + name)) {
      Objects.requireNonNull(in, () -> "resource " + RESOURCES + name + " is missing from the jar");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Settings of a {@link FreshcacheStack}. Images default to the environment variables
   * docker-compose.yml reads, else the public images.
   */
  public static final class Builder {
    private String redisImage = env("FRESHCACHE_REDIS_IMAGE", DEFAULT_REDIS_IMAGE);
    private String kafkaImage = env("FRESHCACHE_KAFKA_IMAGE", DEFAULT_KAFKA_IMAGE);
    private String postgresImage = env("FRESHCACHE_POSTGRES_IMAGE", DEFAULT_POSTGRES_IMAGE);
    private String cdcIngestImage = env("FRESHCACHE_CDC_INGEST_IMAGE", DEFAULT_CDC_INGEST_IMAGE);
    private String cacheWriterImage = env("FRESHCACHE_CACHE_WRITER_IMAGE", DEFAULT_CACHE_WRITER_IMAGE);
    private final List<String> initSql = new ArrayList<>();
    private String cdcRules;
    private Duration startupTimeout = Duration.ofMinutes(2);

    private Builder() {}

    private static String env(String name, String fallback) {
      String v = System.getenv(name);
      return v == null || v.isBlank() ? fallback : v;
    }

    /** @param image the Redis image (needs {@code redis-server}, {@code redis-cli} and bash) @return this */
    public Builder redisImage(String image) {
      this.redisImage = requireImage(image, "redisImage");
      return this;
    }

    /** @param image the Kafka image (the public image's {@code /opt/kafka/bin} scripts) @return this */
    public Builder kafkaImage(String image) {
      this.kafkaImage = requireImage(image, "kafkaImage");
      return this;
    }

    /** @param image the PostgreSQL image (the public image's {@code POSTGRES_*} variables) @return this */
    public Builder postgresImage(String image) {
      this.postgresImage = requireImage(image, "postgresImage");
      return this;
    }

    /** @param image the cdc-ingest image @return this */
    public Builder cdcIngestImage(String image) {
      this.cdcIngestImage = requireImage(image, "cdcIngestImage");
      return this;
    }

    /** @param image the cache-writer image @return this */
    public Builder cacheWriterImage(String image) {
      this.cacheWriterImage = requireImage(image, "cacheWriterImage");
      return this;
    }

    /**
     * Adds SQL run once PostgreSQL is up and before cdc-ingest starts, e.g. the tables your rules
     * name (cdc-ingest refuses to start while a rule's table is missing).
     *
     * @param sql one or more statements
     * @return this
     */
    public Builder initSql(String sql) {
      if (sql == null || sql.isBlank()) {
        throw new IllegalArgumentException("initSql must not be blank but was '" + sql + "'");
      }
      initSql.add(sql);
      return this;
    }

    /**
     * Also runs cdc-ingest (with these rules) and cache-writer, so row changes reach Redis.
     *
     * @param cdcRules cdc-ingest's {@code CDC_RULES}, e.g. {@code public.products=catalog:product:{id}}
     * @return this
     */
    public Builder services(String cdcRules) {
      if (cdcRules == null || !cdcRules.contains("=")) {
        throw new IllegalArgumentException(
            "services needs CDC_RULES as table=keyTemplate;... but was '" + cdcRules + "'");
      }
      this.cdcRules = cdcRules;
      return this;
    }

    /**
     * @param timeout how long each container may take to start (default 2 minutes)
     * @return this
     */
    public Builder startupTimeout(Duration timeout) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("startupTimeout must be positive but was " + timeout);
      }
      this.startupTimeout = timeout;
      return this;
    }

    /** @return a stack with these settings, not started */
    public FreshcacheStack build() {
      return new FreshcacheStack(this);
    }

    private List<String> images() {
      List<String> images = new ArrayList<>(List.of(redisImage, kafkaImage, postgresImage));
      if (cdcRules != null) {
        images.add(cdcIngestImage);
        images.add(cacheWriterImage);
      }
      return images;
    }

    private static String requireImage(String image, String what) {
      if (image == null || image.isBlank()) {
        throw new IllegalArgumentException(what + " must name an image but was '" + image + "'");
      }
      return image;
    }
  }
}
