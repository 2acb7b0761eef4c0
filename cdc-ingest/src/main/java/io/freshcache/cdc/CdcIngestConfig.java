package io.freshcache.cdc;

import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.KafkaClientConfig;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Settings of one cdc-ingest instance: which PostgreSQL database to capture, through which
 * replication slot and publication, where to keep the source offsets, which Kafka topic receives
 * the cache events, and how each captured table maps to cache keys; plus the Kafka part
 * ({@link #kafka()}: {@code KAFKA_*}) and further Debezium properties
 * ({@link #debeziumProperties()}: {@code CDC_DEBEZIUM_*}).
 *
 * <p>Immutable and validated when built: a bad value throws a {@link ConfigException} naming the
 * setting and the value ("{@code slotName must match [a-z0-9_]{1,63} but was 'My-Slot'}"). Build
 * it with {@link #builder()}, or from environment variables with {@link #fromEnv()}, whose errors
 * name the variable instead ("{@code CDC_SLOT_NAME must match ...}"). Every variable, with the
 * shared rules ({@code _FILE} secrets, durations with units), is described in
 * {@code docs/configuration.md}.
 *
 * <p>Source offsets (the last LSN whose events Kafka acknowledged) are kept in a compacted Kafka
 * topic by default ({@link OffsetStorage#KAFKA}, {@link #offsetTopic()}), so the service can move
 * between machines; a local file ({@link OffsetStorage#FILE}, {@link #offsetFile()}) is the
 * alternative for a single machine. The defaults point at the local stack that {@code dev/stack}
 * starts, like the other modules' defaults.
 *
 * <p><b>TLS to PostgreSQL.</b> {@code CDC_DEBEZIUM_DATABASE_SSLMODE} (and {@code _SSLROOTCERT},
 * {@code _SSLCERT}, {@code _SSLKEY}, {@code _SSLPASSWORD}, {@code _SSLFACTORY}) configure the
 * connector's connections; the connections cdc-ingest opens itself (startup checks, slot probe)
 * use the same settings, see {@link #jdbcProperties()}.
 */
public final class CdcIngestConfig {
  /** Where the source offsets are kept. */
  public enum OffsetStorage {
    /** In {@link CdcIngestConfig#offsetTopic()}, Kafka Connect's {@code KafkaOffsetBackingStore}. */
    KAFKA,
    /** In {@link CdcIngestConfig#offsetFile()}, Kafka Connect's {@code FileOffsetBackingStore}. */
    FILE
  }

  /** Default PostgreSQL host: the local stack's. */
  public static final String DEFAULT_DB_HOST = "127.0.0.1";
  /** Default PostgreSQL port: the local stack's. */
  public static final int DEFAULT_DB_PORT = 5433;
  /** Default database: the local stack's. */
  public static final String DEFAULT_DATABASE = "shop";
  /** Default user: the local stack's. */
  public static final String DEFAULT_USER = "freshcache";
  /** Default password: the local stack's. */
  public static final String DEFAULT_PASSWORD = "freshcache";
  /** Default offset storage. */
  public static final OffsetStorage DEFAULT_OFFSET_STORAGE = OffsetStorage.KAFKA;
  /** Default offset topic. */
  public static final String DEFAULT_OFFSET_TOPIC = "freshcache.cdc-offsets";
  /** Default HTTP port of {@code /health} and {@code /metrics}. */
  public static final int DEFAULT_HTTP_PORT = 8082;
  /** Default connector name. */
  public static final String DEFAULT_CONNECTOR_NAME = "pg-main";
  /** Default replication slot name. */
  public static final String DEFAULT_SLOT_NAME = "freshcache";
  /** Default publication name. */
  public static final String DEFAULT_PUBLICATION_NAME = "freshcache";
  /** Default offset file, relative to the working directory. */
  public static final Path DEFAULT_OFFSET_FILE = Path.of("./cdc-offsets.dat");
  /** Default topic for cache events. */
  public static final String DEFAULT_TOPIC = "freshcache.changes";
  /** Default rules, in the {@code CDC_RULES} text form. */
  public static final String DEFAULT_RULES = "public.products=catalog:product:{id}";
  /**
   * Default poll interval: 5 ms, for coherence latency first; a deployment that values idle CPU
   * more raises it (50 ms: about 5% of a core idle, about 50 ms more latency).
   */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(5);
  /** Default most changes per batch. */
  public static final int DEFAULT_MAX_BATCH_SIZE = 2048;
  /** Default offset flush interval: 1 s. */
  public static final Duration DEFAULT_OFFSET_FLUSH_INTERVAL = Duration.ofSeconds(1);
  /** Default startup timeout: 30 s. */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(30);

  /** Default largest upsert event: 900,000 bytes, below Kafka's default 1 MiB request and message limits. */
  public static final int DEFAULT_MAX_EVENT_BYTES = 900_000;
  /** Smallest accepted {@link #maxEventBytes()}. */
  public static final int MIN_MAX_EVENT_BYTES = 1024;
  /** Largest accepted {@link #maxEventBytes()}: 64 MiB. */
  public static final int MAX_EVENT_BYTES_LIMIT = 64 << 20;
  /** Environment variable for {@link #maxEventBytes()}. */
  public static final String ENV_MAX_EVENT_BYTES = "CDC_MAX_EVENT_BYTES";

  /**
   * Debezium properties freshcache sets itself, each with the setting that controls it: passing one
   * as {@code CDC_DEBEZIUM_*} is a {@link ConfigException}. Also reserved: every
   * {@code offset.storage.*} property.
   */
  public static final Map<String, String> RESERVED_DEBEZIUM_PROPERTIES = reserved();

  /**
   * Kafka properties of the event producer freshcache sets itself ({@code KAFKA_*} may not): no
   * event may be lost or reordered ({@code acks=all}, idempotence), the records are a string key
   * and bytes, and {@code max.request.size} follows {@link #maxEventBytes()}.
   */
  public static final Set<String> RESERVED_KAFKA_PROPERTIES = Set.of("acks", "enable.idempotence",
      "key.serializer", "value.serializer", "max.request.size");

  /** Largest accepted {@link #maxBatchSize()}. */
  public static final int MAX_BATCH_SIZE_LIMIT = 65_536;

  /** Environment variable for {@link #dbHost()}. */
  public static final String ENV_PG_HOST = "PG_HOST";
  /** Environment variable for {@link #dbPort()}. */
  public static final String ENV_PG_PORT = "PG_PORT";
  /** Environment variable for {@link #database()}. */
  public static final String ENV_PG_DB = "PG_DB";
  /** Environment variable for {@link #user()}. */
  public static final String ENV_PG_USER = "PG_USER";
  /** Environment variable for {@link #password()}. */
  public static final String ENV_PG_PASSWORD = "PG_PASSWORD";
  /** Environment variable prefix of {@link #debeziumProperties()}. */
  public static final String ENV_DEBEZIUM_PREFIX = "CDC_DEBEZIUM_";
  /** Environment variable for {@link #connectorName()}. */
  public static final String ENV_CONNECTOR_NAME = "CDC_CONNECTOR_NAME";
  /** Environment variable for {@link #slotName()}. */
  public static final String ENV_SLOT_NAME = "CDC_SLOT_NAME";
  /** Environment variable for {@link #publicationName()}. */
  public static final String ENV_PUBLICATION_NAME = "CDC_PUBLICATION_NAME";
  /** Environment variable for {@link #offsetStorage()}: {@code kafka} or {@code file}. */
  public static final String ENV_OFFSET_STORAGE = "CDC_OFFSET_STORAGE";
  /** Environment variable for {@link #offsetTopic()}. */
  public static final String ENV_OFFSET_TOPIC = "CDC_OFFSET_TOPIC";
  /** Environment variable for {@link #offsetFile()}. */
  public static final String ENV_OFFSET_FILE = "CDC_OFFSET_FILE";
  /** Environment variable for {@link #topic()}. */
  public static final String ENV_TOPIC = "CDC_TOPIC";
  /** Environment variable for {@link #rules()}, in the text form of {@link TableRule#parseAll}. */
  public static final String ENV_RULES = "CDC_RULES";
  /** Environment variable for {@link #rules()}: the path of a YAML {@link RulesFile}. */
  public static final String ENV_RULES_FILE = "CDC_RULES_FILE";
  /** Environment variable for {@link #httpPort()}. */
  public static final String ENV_HTTP_PORT = "CDC_HTTP_PORT";
  /** Environment variable for {@link #pollInterval()}, in milliseconds. */
  public static final String ENV_POLL_INTERVAL_MS = "CDC_POLL_INTERVAL_MS";
  /** Environment variable for {@link #maxBatchSize()}. */
  public static final String ENV_MAX_BATCH_SIZE = "CDC_MAX_BATCH_SIZE";
  /** Environment variable for {@link #offsetFlushInterval()}, in milliseconds. */
  public static final String ENV_OFFSET_FLUSH_INTERVAL_MS = "CDC_OFFSET_FLUSH_INTERVAL_MS";
  /** Environment variable for {@link #startupTimeout()}, in milliseconds. */
  public static final String ENV_STARTUP_TIMEOUT_MS = "CDC_STARTUP_TIMEOUT_MS";

  private final String dbHost;
  private final int dbPort;
  private final String database;
  private final String user;
  private final String password;
  private final KafkaClientConfig kafka;
  private final String connectorName;
  private final String slotName;
  private final String publicationName;
  private final OffsetStorage offsetStorage;
  private final String offsetTopic;
  private final Path offsetFile;
  private final String topic;
  private final List<TableRule> rules;
  private final Duration pollInterval;
  private final int maxBatchSize;
  private final Duration offsetFlushInterval;
  private final Duration startupTimeout;
  private final int httpPort;
  private final int maxEventBytes;
  private final Map<String, String> debeziumProperties;

  private CdcIngestConfig(Builder b, List<TableRule> rules) {
    this.dbHost = b.dbHost;
    this.dbPort = b.dbPort;
    this.database = b.database;
    this.user = b.user;
    this.password = b.password;
    this.kafka = b.kafka;
    this.connectorName = b.connectorName;
    this.slotName = b.slotName;
    this.publicationName = b.publicationName;
    this.offsetStorage = b.offsetStorage;
    this.offsetTopic = b.offsetTopic;
    this.offsetFile = b.offsetFile;
    this.topic = b.topic;
    this.pollInterval = b.pollInterval;
    this.maxBatchSize = b.maxBatchSize;
    this.offsetFlushInterval = b.offsetFlushInterval;
    this.startupTimeout = b.startupTimeout;
    this.httpPort = b.httpPort;
    this.maxEventBytes = b.maxEventBytes;
    this.rules = rules;
    this.debeziumProperties = Collections.unmodifiableMap(new TreeMap<>(b.debeziumProperties));
  }

  private static Map<String, String> reserved() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("name", ENV_CONNECTOR_NAME);
    m.put("topic.prefix", ENV_CONNECTOR_NAME);
    m.put("connector.class", "");
    m.put("offset.storage", ENV_OFFSET_STORAGE);
    m.put("offset.flush.interval.ms", ENV_OFFSET_FLUSH_INTERVAL_MS);
    m.put("bootstrap.servers", "KAFKA_BOOTSTRAP_SERVERS");
    m.put("database.hostname", ENV_PG_HOST);
    m.put("database.port", ENV_PG_PORT);
    m.put("database.dbname", ENV_PG_DB);
    m.put("database.user", ENV_PG_USER);
    m.put("database.password", ENV_PG_PASSWORD);
    m.put("plugin.name", "");
    m.put("slot.name", ENV_SLOT_NAME);
    m.put("publication.name", ENV_PUBLICATION_NAME);
    m.put("publication.autocreate.mode", ENV_RULES);
    m.put("table.include.list", ENV_RULES);
    m.put("table.exclude.list", ENV_RULES);
    m.put("schema.include.list", ENV_RULES);
    m.put("schema.exclude.list", ENV_RULES);
    m.put("poll.interval.ms", ENV_POLL_INTERVAL_MS);
    m.put("max.batch.size", ENV_MAX_BATCH_SIZE);
    m.put("tombstones.on.delete", "");
    m.put("skipped.operations", "");
    m.put("decimal.handling.mode", "");
    m.put("transforms", "");
    return Collections.unmodifiableMap(m);
  }

  /**
   * @return a builder with every default set, including {@value #DEFAULT_RULES} until a rule is
   *     given
   */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder holding this configuration's values, to derive a variant */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Reads the configuration from the process environment; see {@link #fromEnv(EnvSettings)}.
   *
   * @return the validated configuration
   * @throws ConfigException naming the variable and its bad value
   */
  public static CdcIngestConfig fromEnv() {
    return fromEnv(EnvSettings.system());
  }

  /**
   * Reads the configuration from {@code env}; see {@link #fromEnv(EnvSettings)}.
   *
   * @param env variable name to value, e.g. {@link System#getenv()}
   * @return the validated configuration
   * @throws ConfigException naming the variable and its bad value
   * @throws NullPointerException if {@code env} is null
   */
  public static CdcIngestConfig fromEnv(Map<String, String> env) {
    return fromEnv(EnvSettings.of(env));
  }

  /**
   * Reads the configuration through the shared reader: {@code PG_HOST}, {@code PG_PORT},
   * {@code PG_DB}, {@code PG_USER}, {@code PG_PASSWORD} (or {@code PG_PASSWORD_FILE}),
   * {@code KAFKA_BOOTSTRAP_SERVERS} and {@code KAFKA_*} ({@link KafkaClientConfig}),
   * {@code CDC_CONNECTOR_NAME}, {@code CDC_SLOT_NAME}, {@code CDC_PUBLICATION_NAME},
   * {@code CDC_OFFSET_STORAGE} ({@code kafka} or {@code file}; when unset, {@code file} if
   * {@code CDC_OFFSET_FILE} is set, else {@code kafka}), {@code CDC_OFFSET_TOPIC},
   * {@code CDC_OFFSET_FILE}, {@code CDC_TOPIC}, {@code CDC_RULES_FILE} (a YAML
   * {@link RulesFile}) or {@code CDC_RULES} ({@code schema.table=keyTemplate} entries joined with
   * {@code ;}; not both), {@code CDC_POLL_INTERVAL_MS}, {@code CDC_MAX_BATCH_SIZE},
   * {@code CDC_OFFSET_FLUSH_INTERVAL_MS}, {@code CDC_STARTUP_TIMEOUT_MS}, {@code CDC_HTTP_PORT},
   * {@code CDC_MAX_EVENT_BYTES}, and every {@code CDC_DEBEZIUM_*} as a Debezium property.
   * An unset or blank variable takes the default; {@code PG_PASSWORD} set to {@code ""} means
   * no password.
   *
   * @param env the environment
   * @return the validated configuration
   * @throws ConfigException if a variable is invalid, or both {@code CDC_RULES} and
   *     {@code CDC_RULES_FILE} are set; the message starts with the variable's name and quotes its
   *     value (never the password). Only a conflict between two valid values (the offset topic
   *     equal to the event topic) names the settings instead
   */
  public static CdcIngestConfig fromEnv(EnvSettings env) {
    Builder b = builder();
    set(env, ENV_PG_HOST, b::dbHost);
    env.integer(ENV_PG_PORT, 1, 65_535).ifPresent(b::dbPort);
    set(env, ENV_PG_DB, b::database);
    set(env, ENV_PG_USER, b::user);
    Optional<String> password = env.secret(ENV_PG_PASSWORD);
    if (password.isPresent()) {
      b.password(password.get());
    } else if (env.isSet(ENV_PG_PASSWORD)) {
      b.password(""); // set but empty: no password
    }
    b.kafka(KafkaClientConfig.fromEnv(env, null));
    set(env, ENV_CONNECTOR_NAME, b::connectorName);
    set(env, ENV_SLOT_NAME, b::slotName);
    set(env, ENV_PUBLICATION_NAME, b::publicationName);
    set(env, ENV_OFFSET_TOPIC, b::offsetTopic);
    env.string(ENV_OFFSET_FILE).ifPresent(v -> {
      try {
        b.offsetFile(Path.of(v));
      } catch (InvalidPathException e) {
        throw ConfigException.invalid(ENV_OFFSET_FILE, v, "a file path");
      }
    });
    env.enumValue(ENV_OFFSET_STORAGE, OffsetStorage.class).ifPresent(b::offsetStorage);
    set(env, ENV_TOPIC, b::topic);
    b.rules(rulesFromEnv(env));
    env.duration(ENV_POLL_INTERVAL_MS, ChronoUnit.MILLIS, Duration.ofMillis(1))
        .ifPresent(d -> set(ENV_POLL_INTERVAL_MS, env, d, b::pollInterval));
    env.integer(ENV_MAX_BATCH_SIZE, 1, MAX_BATCH_SIZE_LIMIT).ifPresent(b::maxBatchSize);
    env.duration(ENV_OFFSET_FLUSH_INTERVAL_MS, ChronoUnit.MILLIS, Duration.ZERO).ifPresent(b::offsetFlushInterval);
    env.duration(ENV_STARTUP_TIMEOUT_MS, ChronoUnit.MILLIS, Duration.ofMillis(1)).ifPresent(b::startupTimeout);
    env.integer(ENV_HTTP_PORT, 0, 65_535).ifPresent(b::httpPort);
    env.integer(ENV_MAX_EVENT_BYTES, MIN_MAX_EVENT_BYTES, MAX_EVENT_BYTES_LIMIT).ifPresent(b::maxEventBytes);
    env.properties(ENV_DEBEZIUM_PREFIX, Set.of()).forEach(b::debeziumProperty);
    return b.build();
  }

  /** Hands {@code name}'s value to a validating setter; its complaint names the variable. */
  private static void set(EnvSettings env, String name, Consumer<String> setter) {
    env.string(name).ifPresent(v -> set(name, env, v, setter));
  }

  private static <T> void set(String name, EnvSettings env, T value, Consumer<T> setter) {
    try {
      setter.accept(value);
    } catch (ConfigException e) {
      // "slotName must match ... but was 'x'": the same complaint, about the variable
      String message = e.getMessage();
      int space = message.indexOf(' ');
      throw new ConfigException(name + (space < 0 ? ": " + message : message.substring(space)), e);
    }
  }

  private static List<TableRule> rulesFromEnv(EnvSettings env) {
    Optional<String> file = env.string(ENV_RULES_FILE);
    Optional<String> text = env.literal(ENV_RULES); // CDC_RULES_FILE is not CDC_RULES's _FILE
    if (file.isPresent() && text.isPresent()) {
      throw new ConfigException(ENV_RULES_FILE + " and " + ENV_RULES + " are both set; set one of them");
    }
    try {
      if (file.isPresent()) {
        try {
          return RulesFile.load(Path.of(file.get()));
        } catch (InvalidPathException e) {
          throw ConfigException.invalid(ENV_RULES_FILE, file.get(), "a file path");
        }
      }
      return TableRule.parseAll(text.orElse(DEFAULT_RULES));
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException((file.isPresent() ? ENV_RULES_FILE : ENV_RULES) + ": " + e.getMessage(), e);
    }
  }

  /** @return PostgreSQL host; default {@value #DEFAULT_DB_HOST} */
  public String dbHost() {
    return dbHost;
  }

  /** @return PostgreSQL port; default {@value #DEFAULT_DB_PORT} */
  public int dbPort() {
    return dbPort;
  }

  /** @return the database to capture; default {@value #DEFAULT_DATABASE} */
  public String database() {
    return database;
  }

  /** @return a PostgreSQL user with the {@code REPLICATION} attribute (and the right to create the publication on the captured tables, i.e. their owner or a superuser); default {@value #DEFAULT_USER} */
  public String user() {
    return user;
  }

  /** @return the user's password; default {@value #DEFAULT_PASSWORD} (the local stack's), {@code ""} for none */
  public String password() {
    return password;
  }

  /** @return Kafka: the bootstrap servers ({@code KAFKA_BOOTSTRAP_SERVERS}, default {@value KafkaClientConfig#DEFAULT_BOOTSTRAP_SERVERS}) and the pass-through {@code KAFKA_*} client properties, applied to the event producer, the preflight admin client and (with {@link OffsetStorage#KAFKA}) the offset store */
  public KafkaClientConfig kafka() {
    return kafka;
  }

  /** @return the connector's name: the Debezium engine name and topic prefix, and {@code source.connector} in every event; default {@value #DEFAULT_CONNECTOR_NAME} */
  public String connectorName() {
    return connectorName;
  }

  /** @return the logical replication slot, created if missing; default {@value #DEFAULT_SLOT_NAME}. A slot that is left behind retains WAL: drop it when the service is retired */
  public String slotName() {
    return slotName;
  }

  /** @return the publication, created for the rule tables if missing; default {@value #DEFAULT_PUBLICATION_NAME} */
  public String publicationName() {
    return publicationName;
  }

  /** @return where the source offsets are kept; default {@link OffsetStorage#KAFKA} */
  public OffsetStorage offsetStorage() {
    return offsetStorage;
  }

  /** @return the compacted topic of {@link OffsetStorage#KAFKA}, created (one partition, {@code cleanup.policy=compact}, the broker's replication factor) if missing; offsets are keyed by {@link #connectorName()}, so several instances may share it; default {@value #DEFAULT_OFFSET_TOPIC} */
  public String offsetTopic() {
    return offsetTopic;
  }

  /** @return the file of {@link OffsetStorage#FILE}; default {@code ./cdc-offsets.dat} */
  public Path offsetFile() {
    return offsetFile;
  }

  /** @return the Kafka topic for cache events; default {@value #DEFAULT_TOPIC} */
  public String topic() {
    return topic;
  }

  /** @return one rule per captured table, at least one; default {@value #DEFAULT_RULES}. Rules of the {@code CDC_RULES} text form invalidate, are versioned by commit LSN and turn a {@code TRUNCATE} into a namespace invalidation ({@link TableRule.TruncateMode#INVALIDATE_NAMESPACE}); a {@link RulesFile} can say otherwise, e.g. {@code truncate: ignore} */
  public List<TableRule> rules() {
    return rules;
  }

  /** @return how long the connector waits for more changes before handing over a partial batch, and how long its reader pauses when the WAL stream is idle; bounds the commit-to-produce latency of a lone change to about twice this value; default 5 ms. Measured on a 2-core machine at 1,000 changes/s (bench/results/cdc-e2e.md): 5 ms gave a commit-to-produce p99 of 13-22 ms and cost 21% of one core while idle; 10 ms: p99 18-24 ms, 13%; 50 ms: p99 289 ms, 5%. Debezium busy-waits the last millisecond of each interval, so idle CPU grows as the interval shrinks */
  public Duration pollInterval() {
    return pollInterval;
  }

  /** @return most changes in one batch; one batch is one wait for Kafka acknowledgements; default {@value #DEFAULT_MAX_BATCH_SIZE} */
  public int maxBatchSize() {
    return maxBatchSize;
  }

  /** @return how often acknowledged offsets are written to the offset file and confirmed to the replication slot (which lets PostgreSQL recycle WAL); what a crash repeats; default 1 s */
  public Duration offsetFlushInterval() {
    return offsetFlushInterval;
  }

  /** @return bound on each startup check (database, Kafka) and on waiting for the stream to start in {@link CdcIngestMain}; default 30 s */
  public Duration startupTimeout() {
    return startupTimeout;
  }

  /** @return the port {@link CdcIngestMain} serves {@code /health} and {@code /metrics} on, 0 for none; default {@value #DEFAULT_HTTP_PORT} */
  public int httpPort() {
    return httpPort;
  }

  /** @return the largest event (JSON bytes) an upsert may be sent as; an upsert that would be larger, or larger than the topic's {@code max.message.bytes} allows, is sent as an invalidation of its key instead (counted, logged once per key), so one big row never stops the capture. The producer's {@code max.request.size} is raised to fit it. Default {@value #DEFAULT_MAX_EVENT_BYTES}, under Kafka's default 1 MiB limits */
  public int maxEventBytes() {
    return maxEventBytes;
  }

  /** @return further Debezium engine and PostgreSQL connector properties ({@code CDC_DEBEZIUM_*}: {@code CDC_DEBEZIUM_DATABASE_SSLMODE} is {@code database.sslmode}); they override freshcache's defaults but none of {@link #RESERVED_DEBEZIUM_PROPERTIES} */
  public Map<String, String> debeziumProperties() {
    return debeziumProperties;
  }

  /**
   * The PostgreSQL JDBC driver properties for the connections cdc-ingest opens itself (startup
   * checks, slot probe), taken from the Debezium properties the connector's own connections use:
   * {@code database.sslmode}, {@code database.sslrootcert}, {@code database.sslcert},
   * {@code database.sslkey}, {@code database.sslpassword} and {@code database.sslfactory}
   * become {@code sslmode}, {@code sslrootcert}... So {@code CDC_DEBEZIUM_DATABASE_SSLMODE=verify-full}
   * secures both.
   *
   * @return property names to values; empty without TLS settings
   */
  public Map<String, String> jdbcProperties() {
    Map<String, String> out = new TreeMap<>();
    for (String p : List.of("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslfactory")) {
      String v = debeziumProperties.get("database." + p);
      if (v != null) {
        out.put(p, v);
      }
    }
    return out;
  }

  /** @return the JDBC URL of the captured database, {@code jdbc:postgresql://host:port/db} */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + dbHost + ':' + dbPort + '/' + database;
  }

  /** @return {@code host:port/database}, for messages */
  public String databaseAddress() {
    return dbHost + ':' + dbPort + '/' + database;
  }

  /** @return the captured tables, {@code schema.table}, in rule order */
  public List<String> tables() {
    return rules.stream().map(TableRule::table).collect(Collectors.toUnmodifiableList());
  }

  /** @return every setting; the password and secret Kafka and Debezium properties masked */
  @Override
  public String toString() {
    return "CdcIngestConfig[db=" + databaseAddress() + ", user=" + user + ", password="
        + (password.isEmpty() ? "<none>" : "****") + ", kafka=" + kafka
        + ", connector=" + connectorName + ", slot=" + slotName + ", publication="
        + publicationName + ", offsets=" + (offsetStorage == OffsetStorage.KAFKA
            ? "kafka:" + offsetTopic : "file:" + offsetFile) + ", topic=" + topic + ", rules=" + rules
        + ", pollInterval=" + pollInterval.toMillis() + "ms, maxBatchSize=" + maxBatchSize
        + ", offsetFlushInterval=" + offsetFlushInterval.toMillis() + "ms, startupTimeout="
        + startupTimeout.toMillis() + "ms, httpPort=" + httpPort + ", maxEventBytes="
        + maxEventBytes + ", debezium=" + EnvSettings.masked(debeziumProperties) + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CdcIngestConfig c && dbHost.equals(c.dbHost) && dbPort == c.dbPort
        && database.equals(c.database) && user.equals(c.user) && password.equals(c.password)
        && kafka.equals(c.kafka) && connectorName.equals(c.connectorName) && slotName.equals(c.slotName)
        && publicationName.equals(c.publicationName) && offsetStorage == c.offsetStorage
        && offsetTopic.equals(c.offsetTopic) && offsetFile.equals(c.offsetFile) && topic.equals(c.topic)
        && rules.equals(c.rules) && pollInterval.equals(c.pollInterval) && maxBatchSize == c.maxBatchSize
        && offsetFlushInterval.equals(c.offsetFlushInterval) && startupTimeout.equals(c.startupTimeout)
        && httpPort == c.httpPort && maxEventBytes == c.maxEventBytes
        && debeziumProperties.equals(c.debeziumProperties);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dbHost, dbPort, database, slotName, connectorName, topic, rules);
  }

  /**
   * Builds a {@link CdcIngestConfig}. Each setter validates its value at once; {@link #build()}
   * checks the combination. Not thread-safe.
   */
  public static final class Builder {
    private String dbHost = DEFAULT_DB_HOST;
    private int dbPort = DEFAULT_DB_PORT;
    private String database = DEFAULT_DATABASE;
    private String user = DEFAULT_USER;
    private String password = DEFAULT_PASSWORD;
    private KafkaClientConfig kafka = KafkaClientConfig.builder().build();
    private String connectorName = DEFAULT_CONNECTOR_NAME;
    private String slotName = DEFAULT_SLOT_NAME;
    private String publicationName = DEFAULT_PUBLICATION_NAME;
    private OffsetStorage offsetStorage = DEFAULT_OFFSET_STORAGE;
    private String offsetTopic = DEFAULT_OFFSET_TOPIC;
    private Path offsetFile = DEFAULT_OFFSET_FILE;
    private String topic = DEFAULT_TOPIC;
    /** Null until a rule is given: then {@link CdcIngestConfig#DEFAULT_RULES} apply. */
    private List<TableRule> rules;
    private Duration pollInterval = DEFAULT_POLL_INTERVAL;
    private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
    private Duration offsetFlushInterval = DEFAULT_OFFSET_FLUSH_INTERVAL;
    private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
    private int httpPort = DEFAULT_HTTP_PORT;
    private int maxEventBytes = DEFAULT_MAX_EVENT_BYTES;
    private final Map<String, String> debeziumProperties = new TreeMap<>();

    private Builder() {}

    private Builder(CdcIngestConfig c) {
      dbHost = c.dbHost;
      dbPort = c.dbPort;
      database = c.database;
      user = c.user;
      password = c.password;
      kafka = c.kafka;
      connectorName = c.connectorName;
      slotName = c.slotName;
      publicationName = c.publicationName;
      offsetStorage = c.offsetStorage;
      offsetTopic = c.offsetTopic;
      offsetFile = c.offsetFile;
      topic = c.topic;
      rules = new ArrayList<>(c.rules);
      pollInterval = c.pollInterval;
      maxBatchSize = c.maxBatchSize;
      offsetFlushInterval = c.offsetFlushInterval;
      startupTimeout = c.startupTimeout;
      httpPort = c.httpPort;
      maxEventBytes = c.maxEventBytes;
      debeziumProperties.putAll(c.debeziumProperties);
    }

    /**
     * Sets the PostgreSQL host.
     *
     * @param dbHost the host name; not blank and without whitespace
     * @return this builder
     * @throws IllegalArgumentException if {@code dbHost} is null, blank or has whitespace
     * @see CdcIngestConfig#dbHost()
     */
    public Builder dbHost(String dbHost) {
      this.dbHost = SettingChecks.field("dbHost", dbHost, SettingChecks::checkHost);
      return this;
    }

    /**
     * Sets the PostgreSQL port.
     *
     * @param dbPort the port, 1..65535
     * @return this builder
     * @throws IllegalArgumentException if {@code dbPort} is out of range
     * @see CdcIngestConfig#dbPort()
     */
    public Builder dbPort(int dbPort) {
      this.dbPort = SettingChecks.field("dbPort", dbPort, SettingChecks::checkPort);
      return this;
    }

    /**
     * Sets the database to capture.
     *
     * @param database the database name; not blank
     * @return this builder
     * @throws IllegalArgumentException if {@code database} is null or blank
     * @see CdcIngestConfig#database()
     */
    public Builder database(String database) {
      this.database = SettingChecks.field("database", database, SettingChecks::checkRequired);
      return this;
    }

    /**
     * Sets the PostgreSQL user.
     *
     * @param user a user with the {@code REPLICATION} attribute; not blank
     * @return this builder
     * @throws IllegalArgumentException if {@code user} is null or blank
     * @see CdcIngestConfig#user()
     */
    public Builder user(String user) {
      this.user = SettingChecks.field("user", user, SettingChecks::checkRequired);
      return this;
    }

    /**
     * Sets the user's password.
     *
     * @param password the password, {@code ""} for none
     * @return this builder
     * @throws NullPointerException if {@code password} is null
     * @see CdcIngestConfig#password()
     */
    public Builder password(String password) {
      this.password = Objects.requireNonNull(password, "password (use \"\" for none)");
      return this;
    }

    /**
     * Sets the Kafka bootstrap servers, keeping the pass-through properties of {@link #kafka}.
     *
     * @param servers comma-separated {@code host:port} entries
     * @return this builder
     * @throws ConfigException if {@code servers} is null, blank or has an entry that is not
     *     {@code host:port}
     * @see CdcIngestConfig#kafka()
     */
    public Builder kafkaBootstrapServers(String servers) {
      this.kafka = kafka.toBuilder().bootstrapServers(servers).build();
      return this;
    }

    /**
     * Sets the Kafka part: bootstrap servers and pass-through client properties.
     *
     * @param kafka the Kafka settings
     * @return this builder
     * @throws NullPointerException if {@code kafka} is null
     * @see CdcIngestConfig#kafka()
     */
    public Builder kafka(KafkaClientConfig kafka) {
      this.kafka = Objects.requireNonNull(kafka, "kafka");
      return this;
    }

    /**
     * Sets a Debezium engine or connector property; {@link #build()} refuses the reserved ones.
     *
     * @param name the property, e.g. {@code database.sslmode}
     * @param value its value; {@code null} removes it
     * @return this builder
     * @see CdcIngestConfig#debeziumProperties()
     */
    public Builder debeziumProperty(String name, String value) {
      Objects.requireNonNull(name, "name");
      if (value == null) {
        debeziumProperties.remove(name);
      } else {
        debeziumProperties.put(name, value);
      }
      return this;
    }

    /**
     * Sets the connector name.
     *
     * @param connectorName the name, {@code [A-Za-z0-9_.-]{1,64}}
     * @return this builder
     * @throws IllegalArgumentException if {@code connectorName} is null or does not match
     * @see CdcIngestConfig#connectorName()
     */
    public Builder connectorName(String connectorName) {
      this.connectorName = SettingChecks.field("connectorName", connectorName, SettingChecks::checkConnectorName);
      return this;
    }

    /**
     * Sets the replication slot.
     *
     * @param slotName the slot name, {@code [a-z0-9_]{1,63}}
     * @return this builder
     * @throws IllegalArgumentException if {@code slotName} is null or does not match
     * @see CdcIngestConfig#slotName()
     */
    public Builder slotName(String slotName) {
      this.slotName = SettingChecks.field("slotName", slotName, SettingChecks::checkSlotName);
      return this;
    }

    /**
     * Sets the publication.
     *
     * @param publicationName the publication name, {@code [a-z_][a-z0-9_]{0,62}}
     * @return this builder
     * @throws IllegalArgumentException if {@code publicationName} is null or does not match
     * @see CdcIngestConfig#publicationName()
     */
    public Builder publicationName(String publicationName) {
      this.publicationName = SettingChecks.field("publicationName", publicationName,
          SettingChecks::checkPublicationName);
      return this;
    }

    /**
     * Sets where the offsets are kept. {@link #offsetFile(Path)} also sets it, so the later
     * call wins.
     *
     * @param offsetStorage the storage
     * @return this builder
     * @throws NullPointerException if {@code offsetStorage} is null
     * @see CdcIngestConfig#offsetStorage()
     */
    public Builder offsetStorage(OffsetStorage offsetStorage) {
      this.offsetStorage = Objects.requireNonNull(offsetStorage, "offsetStorage");
      return this;
    }

    /**
     * Sets the offset topic of {@link OffsetStorage#KAFKA}; does not change the storage.
     *
     * @param offsetTopic a topic name, {@code [A-Za-z0-9._-]{1,249}}
     * @return this builder
     * @throws IllegalArgumentException if {@code offsetTopic} is null or not a topic name
     * @see CdcIngestConfig#offsetTopic()
     */
    public Builder offsetTopic(String offsetTopic) {
      this.offsetTopic = SettingChecks.field("offsetTopic", offsetTopic, SettingChecks::checkTopic);
      return this;
    }

    /**
     * Keeps the offsets in this file: sets the file and {@link OffsetStorage#FILE}.
     *
     * @param offsetFile the file, relative to the working directory unless absolute; its
     *     directory is created at start if missing
     * @return this builder
     * @throws NullPointerException if {@code offsetFile} is null
     * @see CdcIngestConfig#offsetFile()
     */
    public Builder offsetFile(Path offsetFile) {
      this.offsetFile = Objects.requireNonNull(offsetFile, "offsetFile");
      this.offsetStorage = OffsetStorage.FILE;
      return this;
    }

    /**
     * Sets the port of {@code /health} and {@code /metrics}.
     *
     * @param httpPort the port, 0..65535; 0 serves nothing
     * @return this builder
     * @throws IllegalArgumentException if {@code httpPort} is out of range
     * @see CdcIngestConfig#httpPort()
     */
    public Builder httpPort(int httpPort) {
      this.httpPort = SettingChecks.field("httpPort", httpPort, SettingChecks::checkHttpPort);
      return this;
    }

    /**
     * Sets the topic of the cache events.
     *
     * @param topic a topic name, {@code [A-Za-z0-9._-]{1,249}}
     * @return this builder
     * @throws IllegalArgumentException if {@code topic} is null or not a topic name
     * @see CdcIngestConfig#topic()
     */
    public Builder topic(String topic) {
      this.topic = SettingChecks.field("topic", topic, SettingChecks::checkTopic);
      return this;
    }

    /**
     * Adds a rule. On a builder from {@link CdcIngestConfig#builder()} the first rule given
     * replaces the default ({@value CdcIngestConfig#DEFAULT_RULES}); on one from
     * {@link CdcIngestConfig#toBuilder()} rules are added to the configuration's.
     *
     * @param rule the rule; a second rule for the same table fails in {@link #build()}
     * @return this builder
     * @throws NullPointerException if {@code rule} is null
     * @see CdcIngestConfig#rules()
     */
    public Builder rule(TableRule rule) {
      Objects.requireNonNull(rule, "rule");
      if (rules == null) {
        rules = new ArrayList<>();
      }
      rules.add(rule);
      return this;
    }

    /**
     * Replaces all rules, including the default.
     *
     * @param rules the rules, copied; {@link #build()} refuses an empty list or a null element
     * @return this builder
     * @throws NullPointerException if {@code rules} is null
     * @see CdcIngestConfig#rules()
     */
    public Builder rules(List<TableRule> rules) {
      this.rules = new ArrayList<>(Objects.requireNonNull(rules, "rules"));
      return this;
    }

    /**
     * Sets the connector's poll interval.
     *
     * @param pollInterval 1 ms..60 s
     * @return this builder
     * @throws IllegalArgumentException if {@code pollInterval} is null or out of range
     * @see CdcIngestConfig#pollInterval()
     */
    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = SettingChecks.field("pollInterval", pollInterval, SettingChecks::checkPollInterval);
      return this;
    }

    /**
     * Sets the most changes in one batch.
     *
     * @param maxBatchSize 1..{@value CdcIngestConfig#MAX_BATCH_SIZE_LIMIT}
     * @return this builder
     * @throws IllegalArgumentException if {@code maxBatchSize} is out of range
     * @see CdcIngestConfig#maxBatchSize()
     */
    public Builder maxBatchSize(int maxBatchSize) {
      this.maxBatchSize = SettingChecks.field("maxBatchSize", maxBatchSize, SettingChecks::checkMaxBatchSize);
      return this;
    }

    /**
     * Sets the largest event an upsert may be sent as; larger upserts become invalidations.
     *
     * @param maxEventBytes {@value CdcIngestConfig#MIN_MAX_EVENT_BYTES}..{@value
     *     CdcIngestConfig#MAX_EVENT_BYTES_LIMIT} bytes
     * @return this builder
     * @throws IllegalArgumentException if {@code maxEventBytes} is out of range
     * @see CdcIngestConfig#maxEventBytes()
     */
    public Builder maxEventBytes(int maxEventBytes) {
      this.maxEventBytes = SettingChecks.field("maxEventBytes", maxEventBytes,
          SettingChecks::checkMaxEventBytes);
      return this;
    }

    /**
     * Sets how often acknowledged offsets are flushed and confirmed to the slot.
     *
     * @param interval not negative
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is null or negative
     * @see CdcIngestConfig#offsetFlushInterval()
     */
    public Builder offsetFlushInterval(Duration interval) {
      this.offsetFlushInterval = SettingChecks.field("offsetFlushInterval", interval,
          SettingChecks::checkFlushInterval);
      return this;
    }

    /**
     * Sets the bound on each startup check and on waiting for the stream.
     *
     * @param startupTimeout at least 1 ms
     * @return this builder
     * @throws IllegalArgumentException if {@code startupTimeout} is null or under 1 ms
     * @see CdcIngestConfig#startupTimeout()
     */
    public Builder startupTimeout(Duration startupTimeout) {
      this.startupTimeout = SettingChecks.field("startupTimeout", startupTimeout, SettingChecks::checkPositive);
      return this;
    }

    /**
     * Builds the configuration; the builder can be used again afterwards.
     *
     * @return the validated configuration
     * @throws ConfigException if there is no rule, a table has two, the offset topic is the
     *     event topic while offsets are kept in Kafka, or a Debezium property is reserved
     * @throws NullPointerException if the rules contain null
     */
    public CdcIngestConfig build() {
      List<TableRule> r = rules == null ? TableRule.parseAll(DEFAULT_RULES) : List.copyOf(rules);
      try {
        TableRule.checkRules(r);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("rules: " + e.getMessage(), e);
      }
      if (offsetStorage == OffsetStorage.KAFKA && offsetTopic.equals(topic)) {
        throw new ConfigException("offsetTopic must differ from topic but both were '" + topic + "'");
      }
      // a reserved KAFKA_* property fails here, at start, not when the producer is created
      kafka.apply(Map.of(), RESERVED_KAFKA_PROPERTIES);
      for (String name : debeziumProperties.keySet()) {
        String controlledBy = RESERVED_DEBEZIUM_PROPERTIES.get(name);
        if (controlledBy == null && name.startsWith("offset.storage")) {
          controlledBy = ENV_OFFSET_STORAGE + ", " + ENV_OFFSET_TOPIC + " or " + ENV_OFFSET_FILE;
        }
        if (controlledBy != null) {
          throw new ConfigException(EnvSettings.variableOf(ENV_DEBEZIUM_PREFIX, name) + " (Debezium property "
              + name + ") cannot be set: freshcache sets it" + (controlledBy.isEmpty() ? "" : " from " + controlledBy));
        }
      }
      return new CdcIngestConfig(this, r);
    }
  }
}
