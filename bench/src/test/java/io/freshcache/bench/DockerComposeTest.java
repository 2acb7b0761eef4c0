package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.fail;

import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.writer.CacheWriterConfig;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Keeps {@code docker-compose.yml} in step with {@code dev/stack}, the source of truth for the
 * local stack. Every expected value is read from dev/stack's own text (its {@code ${FRESHCACHE_*:-default}}
 * settings, the redis-server flags it passes, the server.properties, freshcache.conf and
 * pg_hba.conf it writes, the variables {@code dev/stack env} exports), from
 * {@code dev/kafka/KafkaReady.java} (the topics) and {@code dev/kafka/pom.xml} (the Kafka
 * version), so a change on one side that the other lacks fails here and names the setting.
 *
 * <p>The compose file uses host networking, so its services listen on dev/stack's host and ports.
 * Settings that only manage dev/stack's own processes (daemonize, pid and log files, the state
 * dir, the socket dir) have no compose counterpart and are left out of the comparison. Ports and
 * images are {@code ${VARIABLE:-default}} in the file; the test compares the defaults (what
 * compose runs when none is set). dev/compose-smoke runs the file for real.
 */
class DockerComposeTest {
  /** redis-server flags that manage dev/stack's daemons; compose runs nodes in the foreground. */
  private static final Set<String> REDIS_PROCESS_FLAGS =
      Set.of("--daemonize", "--pidfile", "--logfile", "--dir");
  /** freshcache.conf settings that point into dev/stack's state dir. */
  private static final Set<String> PG_PROCESS_SETTINGS = Set.of("unix_socket_directories");

  private static Path repo;
  private static String stack;
  private static Map<String, Object> services;
  private static Map<String, Object> volumes;

  private static String host;
  private static List<String> redisPorts;
  private static Map<String, String> vars;

  @BeforeAll
  static void load() throws IOException {
    repo = findRepo();
    stack = Files.readString(repo.resolve("dev/stack"));
    Path composeFile = repo.resolve("docker-compose.yml");
    assertThat(composeFile).as("docker-compose.yml at the repository root").exists();
    Map<String, Object> compose;
    try (Reader reader = Files.newBufferedReader(composeFile)) {
      compose = map(defaults(new Yaml().load(reader)), "docker-compose.yml");
    }
    services = map(compose.get("services"), "services");
    volumes = compose.get("volumes") == null ? Map.of() : map(compose.get("volumes"), "volumes");

    host = constant("HOST");
    redisPorts = Arrays.asList(setting("FRESHCACHE_REDIS_PORTS").trim().split("[\\s,]+"));
    vars = new LinkedHashMap<>();
    vars.put("HOST", host);
    vars.put("REDIS_NODE_TIMEOUT_MS", constant("REDIS_NODE_TIMEOUT_MS"));
    vars.put("KAFKA_PORT", setting("FRESHCACHE_KAFKA_PORT"));
    vars.put("KAFKA_CONTROLLER_PORT", setting("FRESHCACHE_KAFKA_CONTROLLER_PORT"));
    vars.put("KAFKA_PARTITIONS", setting("FRESHCACHE_KAFKA_PARTITIONS"));
    vars.put("PG_PORT", setting("FRESHCACHE_PG_PORT"));
    vars.put("PG_DB", setting("FRESHCACHE_PG_DB"));
    vars.put("PG_USER", setting("FRESHCACHE_PG_USER"));
    vars.put("PG_PASSWORD", setting("FRESHCACHE_PG_PASSWORD"));
    vars.put("READY_TIMEOUT_S", setting("FRESHCACHE_READY_TIMEOUT_S"));
  }

  @Test
  void everyServiceOfTheStackExists() {
    List<String> expected = new ArrayList<>();
    redisPorts.forEach(p -> expected.add("redis-" + p));
    expected.addAll(List.of("redis-cluster-create", "kafka", "kafka-topics-init", "postgres",
        "cdc-ingest", "cache-writer", "prometheus", "redis-exporter", "demo"));
    assertThat(services.keySet()).as("services of docker-compose.yml")
        .containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void everyServiceUsesHostNetworking() {
    SoftAssertions soft = new SoftAssertions();
    services.keySet().forEach(name -> soft.assertThat(service(name).get("network_mode"))
        .as("%s: network_mode (the file reaches every service at %s)", name, host)
        .isEqualTo("host"));
    soft.assertAll();
  }

  @Test
  void redisNodesRunWithDevStackPortsAndFlags() {
    Map<String, String> devFlags = devRedisFlags();
    assertThat(devFlags).as("redis-server flags parsed from dev/stack").containsKeys("--port",
        "--cluster-enabled", "--cluster-port", "--cluster-node-timeout");
    SoftAssertions soft = new SoftAssertions();
    for (String port : redisPorts) {
      String name = "redis-" + port;
      Map<String, Object> node = service(name);
      Map<String, String> nodeVars = new LinkedHashMap<>(vars);
      nodeVars.put("p", port);
      Map<String, String> expected = new TreeMap<>();
      devFlags.forEach((flag, value) -> {
        if (!REDIS_PROCESS_FLAGS.contains(flag)) {
          expected.put(flag, resolve(value, nodeVars, "dev/stack's redis-server " + flag));
        }
      });
      List<String> words = ShellWords.split(string(node.get("command"), name + ".command"));
      soft.assertThat(words).as("%s: command", name).isNotEmpty().first().isEqualTo("redis-server");
      Map<String, String> actual = new TreeMap<>(flags(words.subList(1, words.size())));
      String dataDir = actual.remove("--dir");
      // the port is a compose variable, so the file leaves the bus port to Redis's default
      if (!actual.containsKey("--cluster-port")
          && String.valueOf(Integer.parseInt(port) + 10000).equals(expected.get("--cluster-port"))) {
        expected.remove("--cluster-port");
      }
      soft.assertThat(actual).as("%s: redis-server flags (dev/stack passes %s)", name, expected)
          .containsExactlyInAnyOrderEntriesOf(expected);
      soft.assertThat(string(node.get("image"), name + ".image")).as("%s: image", name)
          .startsWith("redis:7.0");
      soft.assertThat(namedVolumeTargets(name)).as("%s: a named volume on --dir %s (keeps nodes-%s.conf)",
          name, dataDir, port).contains(dataDir);
      soft.assertThat(healthcheck(name)).as("%s: healthcheck", name).contains("-p " + port);
    }
    soft.assertAll();
  }

  @Test
  void redisClusterCreateFormsTheClusterOfAllNodes() throws IOException {
    String name = "redis-cluster-create";
    Map<String, String> env = environment(name);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(env.get("REDIS_NODES")).as("%s: REDIS_NODES", name).isEqualTo(redisNodes());
    soft.assertThat(env.get("FRESHCACHE_READY_TIMEOUT_S")).as("%s: FRESHCACHE_READY_TIMEOUT_S", name)
        .isEqualTo(vars.get("READY_TIMEOUT_S"));
    Map<String, String> expectedDeps = new TreeMap<>();
    redisPorts.forEach(p -> expectedDeps.put("redis-" + p, "service_healthy"));
    soft.assertThat(dependsOn(name)).as("%s: depends_on", name)
        .containsExactlyInAnyOrderEntriesOf(expectedDeps);

    Matcher create = Pattern.compile("redis-cli --cluster create \"\\$\\{nodes\\[@]}\" ([^\\\\>\\n]*?)\\s*(\\\\|>|\\n)")
        .matcher(stack);
    assertThat(create.find()).as("`redis-cli --cluster create` in dev/stack").isTrue();
    String script = Files.readString(mountedFile(name, "./docker/redis/cluster-create.sh"));
    soft.assertThat(script).as("docker/redis/cluster-create.sh").contains("redis-cli --cluster create")
        .contains(create.group(1));
    soft.assertAll();
  }

  @Test
  void kafkaRunsDevStackServerProperties() throws IOException {
    String name = "kafka";
    Matcher version = Pattern.compile("<kafka\\.version>([^<]+)</kafka\\.version>")
        .matcher(Files.readString(repo.resolve("dev/kafka/pom.xml")));
    assertThat(version.find()).as("kafka.version in dev/kafka/pom.xml").isTrue();
    assertThat(string(service(name).get("image"), "kafka.image")).as("kafka: image (dev/stack runs %s)",
        version.group(1)).isEqualTo("apache/kafka:" + version.group(1));

    Map<String, String> kafkaVars = new LinkedHashMap<>(vars);
    kafkaVars.put("KAFKA_DIR", "<dev/stack state dir>");
    Map<String, String> expected = properties(resolve(heredoc("cat >\"$KAFKA_PROPS\" <<EOF"),
        kafkaVars, "dev/stack's server.properties"));
    Path file = mountedFile(name, "./docker/kafka/server.properties");
    Map<String, String> actual = properties(Files.readString(file));
    String logDirs = actual.remove("log.dirs");
    expected.remove("log.dirs");
    assertThat(expected).as("server.properties parsed from dev/stack").containsKeys("listeners",
        "auto.create.topics.enable", "group.initial.rebalance.delay.ms",
        "log.cleaner.dedupe.buffer.size", "offsets.topic.replication.factor");

    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(actual).as("docker/kafka/server.properties vs the one dev/stack writes")
        .containsExactlyInAnyOrderEntriesOf(expected);
    soft.assertThat(namedVolumeTargets(name)).as("kafka: a named volume on log.dirs").contains(logDirs);
    soft.assertThat(Files.readString(mountedFile(name, "./docker/kafka/start.sh")))
        .as("docker/kafka/start.sh: starts the broker with the mounted server.properties")
        .contains(mountTarget(name, "./docker/kafka/server.properties"));
    soft.assertThat(healthcheck(name)).as("kafka: healthcheck")
        .contains(host + ":" + vars.get("KAFKA_PORT"));
    soft.assertAll();
  }

  @Test
  void kafkaTopicsInitCreatesTheTopicsDevStackCreates() throws IOException {
    String name = "kafka-topics-init";
    Matcher topics = Pattern.compile("EVENT_TOPICS\\s*=\\s*List\\.of\\(([^)]*)\\)")
        .matcher(Files.readString(repo.resolve("dev/kafka/KafkaReady.java")));
    assertThat(topics.find()).as("EVENT_TOPICS in dev/kafka/KafkaReady.java").isTrue();
    List<String> expected = Pattern.compile("\"([^\"]+)\"").matcher(topics.group(1)).results()
        .map(m -> m.group(1)).collect(Collectors.toList());

    Map<String, String> env = environment(name);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(split(env.get("FRESHCACHE_TOPICS"))).as("%s: FRESHCACHE_TOPICS", name)
        .containsExactlyElementsOf(expected);
    soft.assertThat(env.get("FRESHCACHE_KAFKA_PARTITIONS")).as("%s: FRESHCACHE_KAFKA_PARTITIONS", name)
        .isEqualTo(vars.get("KAFKA_PARTITIONS"));
    soft.assertThat(env.get("BOOTSTRAP_SERVER")).as("%s: BOOTSTRAP_SERVER", name)
        .isEqualTo(host + ":" + vars.get("KAFKA_PORT"));
    soft.assertThat(env.get("FRESHCACHE_READY_TIMEOUT_S")).as("%s: FRESHCACHE_READY_TIMEOUT_S", name)
        .isEqualTo(vars.get("READY_TIMEOUT_S"));
    soft.assertThat(dependsOn(name)).as("%s: depends_on", name)
        .containsExactlyInAnyOrderEntriesOf(Map.of("kafka", "service_healthy"));
    soft.assertThat(Files.readString(mountedFile(name, "./docker/kafka/topics-init.sh")))
        .as("docker/kafka/topics-init.sh").contains("--replication-factor 1");
    soft.assertAll();
  }

  @Test
  void postgresRunsWithDevStackSettings() throws IOException {
    String name = "postgres";
    Map<String, String> env = environment(name);
    List<String> words = ShellWords.split(string(service(name).get("command"), "postgres.command"));
    Map<String, String> settings = new TreeMap<>();
    for (int i = 0; i < words.size(); i++) {
      if (words.get(i).equals("-c") && i + 1 < words.size()) {
        String[] kv = words.get(++i).split("=", 2);
        settings.put(kv[0], kv.length > 1 ? kv[1] : "");
      }
    }
    String hbaFile = settings.remove("hba_file");

    Map<String, String> pgVars = new LinkedHashMap<>(vars);
    pgVars.put("PG_SOCKET_DIR", "<dev/stack state dir>");
    Map<String, String> expected = new TreeMap<>();
    for (String line : resolve(heredoc("tee \"$PG_DATA/freshcache.conf\" >/dev/null <<EOF"), pgVars,
        "dev/stack's freshcache.conf").split("\n")) {
      Matcher m = Pattern.compile("^\\s*([a-z_]+)\\s*=\\s*(.*?)\\s*$").matcher(line);
      if (!line.trim().startsWith("#") && m.matches()) {
        expected.put(m.group(1), m.group(2).replaceAll("^'(.*)'$", "$1"));
      }
    }
    PG_PROCESS_SETTINGS.forEach(expected::remove);
    assertThat(expected).as("freshcache.conf parsed from dev/stack").containsKeys("port", "wal_level");

    Matcher pgVersion = Pattern.compile("/usr/lib/postgresql/(\\d+)/bin").matcher(stack);
    assertThat(pgVersion.find()).as("the PostgreSQL version dev/stack prefers").isTrue();

    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(string(service(name).get("image"), "postgres.image")).as("postgres: image")
        .isEqualTo("postgres:" + pgVersion.group(1));
    soft.assertThat(settings).as("postgres: -c settings vs dev/stack's freshcache.conf")
        .containsExactlyInAnyOrderEntriesOf(expected);
    soft.assertThat(settings.get("wal_level")).as("postgres: wal_level").isEqualTo("logical");
    soft.assertThat(env).as("postgres: environment").containsEntry("POSTGRES_DB", vars.get("PG_DB"))
        .containsEntry("POSTGRES_USER", vars.get("PG_USER"))
        .containsEntry("POSTGRES_PASSWORD", vars.get("PG_PASSWORD"))
        .containsEntry("PGPORT", vars.get("PG_PORT"));
    soft.assertThat(hbaFile).as("postgres: -c hba_file is the mounted docker/postgres/pg_hba.conf")
        .isEqualTo(mountTarget(name, "./docker/postgres/pg_hba.conf"));
    soft.assertThat(hbaRules(Files.readString(mountedFile(name, "./docker/postgres/pg_hba.conf"))))
        .as("docker/postgres/pg_hba.conf vs the one dev/stack writes")
        .containsExactlyElementsOf(hbaRules(resolve(heredoc("tee \"$PG_DATA/pg_hba.conf\" >/dev/null <<EOF"),
            pgVars, "dev/stack's pg_hba.conf")));
    soft.assertThat(healthcheck(name)).as("postgres: healthcheck").contains("-p " + vars.get("PG_PORT"))
        .contains("wal_level");
    soft.assertAll();
  }

  @Test
  void cdcIngestGetsTheStackSettings() {
    String name = "cdc-ingest";
    Map<String, String> env = environment(name);
    SoftAssertions soft = new SoftAssertions();
    devStackEnv().forEach((key, value) -> {
      if (key.startsWith("PG_") || key.equals("KAFKA_BOOTSTRAP_SERVERS")) {
        soft.assertThat(env.get(key)).as("%s: %s (dev/stack env exports %s)", name, key, value)
            .isEqualTo(value);
      }
    });
    soft.assertThat(env).as("%s: environment", name).containsKeys("PG_HOST", "PG_PORT", "PG_DB",
        "PG_USER", "PG_PASSWORD", "KAFKA_BOOTSTRAP_SERVERS", "CDC_CONNECTOR_NAME", "CDC_SLOT_NAME",
        "CDC_PUBLICATION_NAME", "CDC_OFFSET_FILE", "CDC_RULES");
    soft.assertThat(env.get("CDC_RULES")).as("%s: CDC_RULES", name).isEqualTo(CdcIngestConfig.DEFAULT_RULES);
    String offsetFile = env.getOrDefault("CDC_OFFSET_FILE", "");
    String offsetDir = offsetFile.contains("/") ? offsetFile.substring(0, offsetFile.lastIndexOf('/')) : "";
    soft.assertThat(namedVolumeTargets(name)).as("%s: a named volume holding CDC_OFFSET_FILE %s", name,
        offsetFile).contains(offsetDir);
    soft.assertThatCode(() -> CdcIngestConfig.fromEnv(env)).as("%s: CdcIngestConfig.fromEnv", name)
        .doesNotThrowAnyException();
    soft.assertThat(dependsOn(name)).as("%s: depends_on", name).containsExactlyInAnyOrderEntriesOf(
        Map.of("postgres", "service_healthy", "kafka-topics-init", "service_completed_successfully"));
    checkJavaService(soft, name, "cdc-ingest", "io.freshcache.cdc.CdcIngestMain");
    soft.assertAll();
  }

  @Test
  void cacheWriterGetsTheStackSettings() {
    String name = "cache-writer";
    Map<String, String> env = environment(name);
    Map<String, String> devEnv = devStackEnv();
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(env.get("KAFKA_BOOTSTRAP_SERVERS")).as("%s: KAFKA_BOOTSTRAP_SERVERS", name)
        .isEqualTo(devEnv.get("KAFKA_BOOTSTRAP_SERVERS"));
    soft.assertThat(env.get("REDIS_NODES")).as("%s: REDIS_NODES", name).isEqualTo(redisNodes());
    soft.assertThat(env.get("WRITER_GROUP_ID")).as("%s: WRITER_GROUP_ID", name).isNotBlank();
    soft.assertThatCode(() -> CacheWriterConfig.fromEnv(env)).as("%s: CacheWriterConfig.fromEnv", name)
        .doesNotThrowAnyException();
    soft.assertThat(dependsOn(name)).as("%s: depends_on", name).containsExactlyInAnyOrderEntriesOf(
        Map.of("redis-cluster-create", "service_completed_successfully",
            "kafka-topics-init", "service_completed_successfully"));
    checkJavaService(soft, name, "cache-writer", "io.freshcache.writer.CacheWriterMain");
    soft.assertAll();
  }

  @Test
  void bindMountedFilesExist() {
    SoftAssertions soft = new SoftAssertions();
    services.keySet().forEach(name -> mounts(name).forEach((source, target) -> {
      if (source.startsWith("./docker/") || source.startsWith("./deploy/")) {
        soft.assertThat(repo.resolve(source)).as("%s: mounted file %s", name, source).exists();
      }
    }));
    soft.assertAll();
  }

  @Test
  void shellWordsSplitsLikeTheShell() {
    assertThat(ShellWords.split("a --save '' \"b c\" $((p + 1)) \"$(f \"$p\")\" x) y"))
        .containsExactly("a", "--save", "", "b c", "$((p + 1))", "$(f \"$p\")", "x");
    assertThatCode(() -> ShellWords.split("")).doesNotThrowAnyException();
  }

  /** The apps run the image dev/images builds (docker/service/Dockerfile) for the module. */
  private static void checkJavaService(SoftAssertions soft, String name, String module, String mainClass) {
    soft.assertThat(string(service(name).get("image"), name + ".image")).as("%s: image", name)
        .isEqualTo("freshcache/" + module + ":0.1.0-SNAPSHOT");
    soft.assertThat(service(name).get("command")).as("%s: command (the image's entrypoint runs %s)",
        name, mainClass).isNull();
    soft.assertThat(rawVolumes(name)).as("%s: volumes", name).noneMatch(v -> v.contains("/target"));
  }

  @Test
  void prometheusScrapesBothServicesAndLoadsTheAlertRules() throws IOException {
    String name = "prometheus";
    Map<String, String> mounts = mounts(name);
    assertThat(mounts).as("%s: mounts", name).containsKeys("./deploy/prometheus/prometheus.yml",
        "./deploy/prometheus/freshcache-alerts.yml");
    String config = Files.readString(repo.resolve("deploy/prometheus/prometheus.yml"));
    Object command = service(name).get("command");
    String text = command instanceof List<?> list
        ? list.stream().map(String::valueOf).collect(Collectors.joining(" ")) : String.valueOf(command);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(config).as("deploy/prometheus/prometheus.yml").contains("- freshcache-alerts.yml")
        .contains("job_name: freshcache-cache-writer").contains("job_name: freshcache-cdc-ingest")
        .contains("\"" + host + ":" + environment("cache-writer").get("WRITER_HTTP_PORT") + "\"")
        .contains("\"" + host + ":" + environment("cdc-ingest").get("CDC_HTTP_PORT") + "\"");
    soft.assertThat(text).as("%s: command", name).contains("--config.file=").contains("freshcache-alerts.yml");
    soft.assertAll();
  }

  /**
   * Compose's substitution when no variable is set: {@code ${NAME:-default}} becomes
   * {@code default} in every string of the file ({@code $$} stays, as compose leaves it to the
   * container's shell as one {@code $}).
   */
  private static Object defaults(Object node) {
    if (node instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), defaults(v)));
      return out;
    }
    if (node instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(v -> out.add(defaults(v)));
      return out;
    }
    if (node instanceof String str) {
      return Pattern.compile("(?<!\\$)\\$\\{\\w+:-([^}]*)}").matcher(str)
          .replaceAll(r -> Matcher.quoteReplacement(r.group(1)));
    }
    return node;
  }

  // ---------------------------------------------------------------------------------------------
  // dev/stack

  private static Path findRepo() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("dev/stack"))) {
        return d;
      }
    }
    throw new AssertionError("no dev/stack in " + dir + " or any parent directory");
  }

  /** The default of {@code ${NAME:-default}} in dev/stack. */
  private static String setting(String name) {
    Matcher m = Pattern.compile("\\$\\{" + name + ":-([^}]*)}").matcher(stack);
    if (!m.find()) {
      fail("dev/stack no longer reads ${" + name + ":-default}; update DockerComposeTest");
    }
    return m.group(1);
  }

  /** The value of a top-level {@code NAME=value} assignment in dev/stack. */
  private static String constant(String name) {
    Matcher m = Pattern.compile("(?m)^" + name + "=(\\S+)").matcher(stack);
    if (!m.find()) {
      fail("dev/stack no longer sets " + name + "=...; update DockerComposeTest");
    }
    return m.group(1);
  }

  /** The body of the here-document that starts on the line containing {@code start}. */
  private static String heredoc(String start) {
    int at = stack.indexOf(start);
    if (at < 0) {
      fail("dev/stack no longer writes a file with `" + start + "`; update DockerComposeTest");
    }
    int from = stack.indexOf('\n', at) + 1;
    Matcher end = Pattern.compile("(?m)^EOF$").matcher(stack);
    if (!end.find(from)) {
      fail("no EOF after `" + start + "` in dev/stack");
    }
    return stack.substring(from, end.start());
  }

  /** The redis-server flags of redis_start_node, unresolved ({@code "$p"} stays). */
  private static Map<String, String> devRedisFlags() {
    String joined = stack.replace("\\\n", " ");
    int at = joined.indexOf("exec redis-server ");
    if (at < 0) {
      fail("dev/stack no longer runs `exec redis-server`; update DockerComposeTest");
    }
    List<String> words = ShellWords.split(joined.substring(at + "exec redis-server ".length()));
    return flags(words);
  }

  /** What {@code dev/stack env} exports for clients, resolved with the default settings. */
  private static Map<String, String> devStackEnv() {
    Matcher body = Pattern.compile("(?ms)^cmd_env\\(\\) \\{\\n(.*?)^}").matcher(stack);
    assertThat(body.find()).as("cmd_env in dev/stack").isTrue();
    Map<String, String> env = new TreeMap<>();
    Matcher line = Pattern.compile("export_line (\\w+) \"(.*)\"").matcher(body.group(1));
    while (line.find()) {
      env.put(line.group(1), line.group(1).equals("REDIS_NODES") ? redisNodes()
          : resolve(line.group(2), vars, "dev/stack env's " + line.group(1)));
    }
    assertThat(env).as("variables exported by dev/stack env").containsKeys("REDIS_NODES",
        "KAFKA_BOOTSTRAP_SERVERS", "PG_HOST", "PG_PORT", "PG_DB", "PG_USER", "PG_PASSWORD");
    return env;
  }

  private static String redisNodes() {
    return redisPorts.stream().map(p -> host + ":" + p).collect(Collectors.joining(","));
  }

  /** Substitutes {@code $((name + N))}, {@code $name} and {@code ${name}}; fails on anything else. */
  private static String resolve(String text, Map<String, String> values, String what) {
    Matcher arith = Pattern.compile("\\$\\(\\(\\s*(\\w+)\\s*\\+\\s*(\\d+)\\s*\\)\\)").matcher(text);
    StringBuilder out = new StringBuilder();
    while (arith.find()) {
      String base = values.get(arith.group(1));
      if (base == null) {
        fail(what + ": cannot resolve " + arith.group() + "; update DockerComposeTest");
      }
      arith.appendReplacement(out, String.valueOf(Integer.parseInt(base) + Integer.parseInt(arith.group(2))));
    }
    arith.appendTail(out);
    Matcher var = Pattern.compile("\\$\\{?(\\w+)}?").matcher(out.toString());
    StringBuilder result = new StringBuilder();
    while (var.find()) {
      String value = values.get(var.group(1));
      if (value == null) {
        fail(what + " uses $" + var.group(1) + ", which DockerComposeTest does not know: "
            + "mirror it in docker-compose.yml and teach the test its value");
      }
      var.appendReplacement(result, Matcher.quoteReplacement(value));
    }
    var.appendTail(result);
    if (result.indexOf("$") >= 0) {
      fail(what + ": cannot resolve '" + result + "'; update DockerComposeTest");
    }
    return result.toString();
  }

  /** {@code --flag value...} pairs; the values of one flag are joined with a space. */
  private static Map<String, String> flags(List<String> words) {
    Map<String, String> flags = new LinkedHashMap<>();
    String flag = null;
    for (String w : words) {
      if (w.startsWith("--")) {
        flag = w;
        flags.put(flag, null);
      } else if (flag != null) {
        String before = flags.get(flag);
        flags.put(flag, before == null ? w : before + " " + w);
      } else {
        fail("redis-server argument '" + w + "' is not after a --flag");
      }
    }
    flags.replaceAll((k, v) -> v == null ? "" : v);
    return flags;
  }

  private static Map<String, String> properties(String text) {
    Properties props = new Properties();
    try {
      props.load(new StringReader(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> map = new TreeMap<>();
    props.forEach((k, v) -> map.put(k.toString(), v.toString()));
    return map;
  }

  /** The non-comment lines of a pg_hba.conf, whitespace normalised. */
  private static List<String> hbaRules(String text) {
    return text.lines().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .map(l -> l.replaceAll("\\s+", " ")).collect(Collectors.toList());
  }

  private static List<String> split(String text) {
    return text == null ? List.of() : Arrays.asList(text.trim().split("[\\s,]+"));
  }

  // ---------------------------------------------------------------------------------------------
  // docker-compose.yml

  private static Map<String, Object> service(String name) {
    Object service = services.get(name);
    if (service == null) {
      fail("docker-compose.yml has no service " + name + " (services: " + services.keySet() + ")");
    }
    return map(service, "services." + name);
  }

  private static Map<String, String> environment(String name) {
    Object env = service(name).get("environment");
    Map<String, String> result = new TreeMap<>();
    if (env instanceof Map<?, ?> m) {
      m.forEach((k, v) -> result.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
    } else if (env instanceof List<?> list) {
      list.forEach(e -> {
        String[] kv = String.valueOf(e).split("=", 2);
        result.put(kv[0], kv.length > 1 ? kv[1] : "");
      });
    }
    return result;
  }

  /** depends_on as service to condition ({@code service_started} for the short form). */
  private static Map<String, String> dependsOn(String name) {
    Object deps = service(name).get("depends_on");
    Map<String, String> result = new TreeMap<>();
    if (deps instanceof Map<?, ?> m) {
      m.forEach((k, v) -> result.put(String.valueOf(k), v instanceof Map<?, ?> c
          ? String.valueOf(c.get("condition")) : "service_started"));
    } else if (deps instanceof List<?> list) {
      list.forEach(d -> result.put(String.valueOf(d), "service_started"));
    }
    return result;
  }

  private static String healthcheck(String name) {
    Object check = service(name).get("healthcheck");
    if (!(check instanceof Map<?, ?> m) || m.get("test") == null) {
      return "<no healthcheck>";
    }
    Object test = m.get("test");
    return test instanceof List<?> list
        ? list.stream().map(String::valueOf).collect(Collectors.joining(" ")) : String.valueOf(test);
  }

  private static List<String> rawVolumes(String name) {
    Object vols = service(name).get("volumes");
    List<String> result = new ArrayList<>();
    if (vols instanceof List<?> list) {
      list.forEach(v -> result.add(String.valueOf(v)));
    }
    return result;
  }

  /** Short-syntax volumes as source to target. */
  private static Map<String, String> mounts(String name) {
    Map<String, String> result = new LinkedHashMap<>();
    for (String v : rawVolumes(name)) {
      String[] parts = v.split(":");
      if (parts.length >= 2) {
        result.put(parts[0], parts[1]);
      }
    }
    return result;
  }

  /** Targets of the named volumes (declared under the top-level volumes) of a service. */
  private static List<String> namedVolumeTargets(String name) {
    return mounts(name).entrySet().stream().filter(e -> volumes.containsKey(e.getKey()))
        .map(Map.Entry::getValue).collect(Collectors.toList());
  }

  private static String mountTarget(String name, String source) {
    String target = mounts(name).get(source);
    if (target == null) {
      fail(name + " does not mount " + source + " (volumes: " + rawVolumes(name) + ")");
    }
    return target;
  }

  private static Path mountedFile(String name, String source) {
    mountTarget(name, source);
    Path file = repo.resolve(source);
    assertThat(file).as("%s mounts %s", name, source).isRegularFile();
    return file;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value, String what) {
    if (!(value instanceof Map)) {
      fail(what + " in docker-compose.yml is not a mapping: " + value);
    }
    return (Map<String, Object>) value;
  }

  private static String string(Object value, String what) {
    if (value == null) {
      fail(what + " is missing in docker-compose.yml");
    }
    return value instanceof List<?> list
        ? list.stream().map(String::valueOf).collect(Collectors.joining(" ")) : String.valueOf(value);
  }

  /**
   * Splits shell words the way bash and Compose do for these commands: single and double quotes
   * (an empty {@code ''} is a word), backslash escapes, and {@code $(...)} / {@code $((...))}
   * kept as written. Stops at an unquoted {@code )} that closes a subshell, or a redirection.
   */
  static final class ShellWords {
    private ShellWords() {}

    static List<String> split(String text) {
      List<String> words = new ArrayList<>();
      StringBuilder word = new StringBuilder();
      boolean inWord = false;
      char quote = 0;
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (quote == 0 && (c == ')' || c == '<' || c == '>' || c == ';' || c == '\n')) {
          break;
        }
        if (c == '$' && quote != '\'' && i + 1 < text.length() && text.charAt(i + 1) == '(') {
          int depth = 0;
          int j = i;
          for (; j < text.length(); j++) {
            if (text.charAt(j) == '(') {
              depth++;
            } else if (text.charAt(j) == ')' && --depth == 0) {
              break;
            }
          }
          word.append(text, i, Math.min(j + 1, text.length()));
          inWord = true;
          i = j;
        } else if (quote != 0) {
          if (c == quote) {
            quote = 0;
          } else if (c == '\\' && quote == '"' && i + 1 < text.length()) {
            word.append(text.charAt(++i));
          } else {
            word.append(c);
          }
        } else if (c == '\'' || c == '"') {
          quote = c;
          inWord = true;
        } else if (c == '\\' && i + 1 < text.length()) {
          word.append(text.charAt(++i));
          inWord = true;
        } else if (Character.isWhitespace(c)) {
          if (inWord) {
            words.add(word.toString());
            word.setLength(0);
            inWord = false;
          }
        } else {
          word.append(c);
          inWord = true;
        }
      }
      if (inWord) {
        words.add(word.toString());
      }
      return words;
    }
  }
}
