import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Waits until a Kafka broker is really usable, for dev/stack. An open port is not enough: topic
 * creation only works about a second later, and on Kafka 4.4 an idempotent producer that sends
 * right after createTopics can lose its first batches (KAFKA-15591, fixed in 4.5). So this
 * program, in order:
 *
 * <ol>
 *   <li>waits for an admin describeCluster to answer;
 *   <li>creates the freshcache topics that are missing: freshcache.changes, freshcache.writes and
 *       freshcache.dlq (FRESHCACHE_KAFKA_PARTITIONS partitions, default 6) and freshcache.ready
 *       (1 partition), all with replication factor 1;
 *   <li>waits until every partition of them has a leader and admin listOffsets(latest) answers for
 *       all of them (the KAFKA-15591 workaround);
 *   <li>produces one record to freshcache.ready with an idempotent acks=all producer and waits for
 *       the acknowledgement;
 *   <li>with {@code --sasl HOST:PORT}: connects to the SASL_SSL listener as the SCRAM-SHA-512 user
 *       FRESHCACHE_KAFKA_SASL_USER (password FRESHCACHE_KAFKA_SASL_PASSWORD, trusting
 *       FRESHCACHE_TLS_DIR/truststore.p12); when the broker refuses that user, creates or updates its
 *       SCRAM credential through the plaintext listener's admin API first (not with --check).
 * </ol>
 *
 * <p>Run with the Java source launcher and the broker's classpath:
 * {@code java -cp "$(cat .stack/kafka/classpath.txt)" dev/kafka/KafkaReady.java 127.0.0.1:9092}.
 * Options: {@code --timeout-s N} (default 60), {@code --broker-pid PID} (fail at once when that
 * process exits), {@code --check} (read only: no topic creation, no produce, no SCRAM update;
 * missing topics fail), {@code --sasl HOST:PORT} (see above).
 * Exit status 0 when ready, 1 when not ready in time, 2 on bad usage.
 */
public final class KafkaReady {
  private static final List<String> EVENT_TOPICS =
      List.of("freshcache.changes", "freshcache.writes", "freshcache.dlq");
  private static final String READY_TOPIC = "freshcache.ready";
  private static final long ATTEMPT_TIMEOUT_MS = 5_000;
  private static final long RETRY_PAUSE_MS = 200;

  private final String bootstrap;
  private final long deadlineNanos;
  private final long timeoutSeconds;
  private final long brokerPid;
  private final boolean checkOnly;
  private final int eventPartitions;
  private final String saslBootstrap;
  private final long startNanos = System.nanoTime();

  private KafkaReady(String bootstrap, long timeoutSeconds, long brokerPid, boolean checkOnly, int eventPartitions,
      String saslBootstrap) {
    this.saslBootstrap = saslBootstrap;
    this.bootstrap = bootstrap;
    this.timeoutSeconds = timeoutSeconds;
    this.deadlineNanos = startNanos + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    this.brokerPid = brokerPid;
    this.checkOnly = checkOnly;
    this.eventPartitions = eventPartitions;
  }

  public static void main(String[] args) {
    String bootstrap = null;
    long timeoutSeconds = 60;
    long brokerPid = -1;
    boolean checkOnly = false;
    String sasl = null;
    int partitions;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--timeout-s" -> timeoutSeconds = Long.parseLong(args[++i]);
          case "--broker-pid" -> brokerPid = Long.parseLong(args[++i]);
          case "--check" -> checkOnly = true;
          case "--sasl" -> sasl = args[++i];
          default -> {
            if (args[i].startsWith("-") || bootstrap != null) {
              throw new IllegalArgumentException("unknown argument " + args[i]);
            }
            bootstrap = args[i];
          }
        }
      }
      if (bootstrap == null) {
        throw new IllegalArgumentException("missing <bootstrap servers>");
      }
      String env = System.getenv().getOrDefault("FRESHCACHE_KAFKA_PARTITIONS", "6");
      partitions = Integer.parseInt(env.trim());
      if (partitions < 1) {
        throw new IllegalArgumentException("FRESHCACHE_KAFKA_PARTITIONS must be >= 1 but was " + env);
      }
    } catch (RuntimeException e) {
      System.err.println("KafkaReady: " + e.getMessage());
      System.err.println("usage: java -cp <kafka classpath> KafkaReady.java <bootstrap servers>"
          + " [--timeout-s N] [--broker-pid PID] [--check] [--sasl HOST:PORT]");
      System.exit(2);
      return;
    }
    try {
      new KafkaReady(bootstrap, timeoutSeconds, brokerPid, checkOnly, partitions, sasl).run();
      System.exit(0);
    } catch (NotReady e) {
      System.err.println("kafka at " + bootstrap + " not ready: " + e.getMessage());
      System.exit(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      System.err.println("kafka at " + bootstrap + " not ready: interrupted");
      System.exit(1);
    }
  }

  private void run() throws NotReady, InterruptedException {
    Map<String, Integer> wanted = new LinkedHashMap<>();
    EVENT_TOPICS.forEach(t -> wanted.put(t, eventPartitions));
    wanted.put(READY_TOPIC, 1);

    Admin admin = Admin.create(adminConfig());
    try {
      String cluster = retry("the broker to answer describeCluster", () -> {
        DescribeClusterResult result = admin.describeCluster();
        int nodes = result.nodes().get(attemptMs(), TimeUnit.MILLISECONDS).size();
        if (nodes == 0) {
          throw new IllegalStateException("describeCluster returned no nodes");
        }
        return result.clusterId().get(attemptMs(), TimeUnit.MILLISECONDS) + " (" + nodes + " broker)";
      });
      String created = retry("the freshcache topics to exist", () -> ensureTopics(admin, wanted));
      List<TopicPartition> partitions = retry("every topic partition to have a leader",
          () -> partitionsWithLeaders(admin, wanted.keySet()));
      retry("listOffsets(latest) to answer for " + partitions.size() + " partitions", () -> {
        Map<TopicPartition, OffsetSpec> query = new LinkedHashMap<>();
        partitions.forEach(tp -> query.put(tp, OffsetSpec.latest()));
        return admin.listOffsets(query).all().get(attemptMs(), TimeUnit.MILLISECONDS);
      });
      String produced = checkOnly ? "no produce (--check)" : retry("an acknowledged produce to " + READY_TOPIC, this::produceOne);
      String sasl = saslBootstrap == null ? ""
          : "; " + retry("the SASL_SSL listener " + saslBootstrap + " to accept its SCRAM user", () -> saslReady(admin));
      System.out.printf("kafka ready in %.1fs: cluster %s; topics %s%s; %s%s%n",
          (System.nanoTime() - startNanos) / 1e9, cluster, describe(partitions), created, produced, sasl);
    } finally {
      // close() without a timeout would wait for calls still pending against a dead broker.
      admin.close(Duration.ofMillis(500));
    }
  }

  /**
   * One SASL_SSL round trip as the dev user; on an authentication failure its SCRAM credential is
   * (re)written through the plaintext admin connection and the attempt fails, so the retry tries
   * again (the credential reaches the listener through the metadata log within milliseconds).
   */
  private String saslReady(Admin admin) throws Exception {
    Map<String, String> env = System.getenv();
    String user = env.getOrDefault("FRESHCACHE_KAFKA_SASL_USER", "freshcache");
    String password = env.getOrDefault("FRESHCACHE_KAFKA_SASL_PASSWORD", "");
    String truststore = env.getOrDefault("FRESHCACHE_TLS_DIR", ".stack/tls") + "/truststore.p12";
    Properties security = KafkaSaslProbe.security(user, password, truststore,
        env.getOrDefault("FRESHCACHE_TLS_STORE_PASSWORD", ""));
    try {
      KafkaSaslProbe.probe(saslBootstrap, security, attemptMs(), false);
      return "SASL_SSL " + saslBootstrap + " accepts SCRAM-SHA-512 user " + user;
    } catch (Exception e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      if (!(cause instanceof SaslAuthenticationException)) {
        throw e;
      }
      if (checkOnly) {
        throw new Fatal("SASL_SSL " + saslBootstrap + " refuses user " + user + ": " + cause.getMessage());
      }
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
          new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password)))
          .all().get(attemptMs(), TimeUnit.MILLISECONDS);
      throw new IllegalStateException("SCRAM credential of " + user + " written; trying again");
    }
  }

  private String ensureTopics(Admin admin, Map<String, Integer> wanted) throws Exception {
    Set<String> existing = admin.listTopics().names().get(attemptMs(), TimeUnit.MILLISECONDS);
    List<NewTopic> missing = new ArrayList<>();
    wanted.forEach((name, count) -> {
      if (!existing.contains(name)) {
        missing.add(new NewTopic(name, count, (short) 1));
      }
    });
    if (missing.isEmpty()) {
      return "";
    }
    if (checkOnly) {
      throw new Fatal("missing topics " + missing.stream().map(NewTopic::name).toList());
    }
    try {
      admin.createTopics(missing).all().get(attemptMs(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
    return " (created " + missing.stream().map(NewTopic::name).toList() + ")";
  }

  private List<TopicPartition> partitionsWithLeaders(Admin admin, Set<String> topics) throws Exception {
    Map<String, TopicDescription> descriptions =
        admin.describeTopics(topics).allTopicNames().get(attemptMs(), TimeUnit.MILLISECONDS);
    List<TopicPartition> result = new ArrayList<>();
    for (TopicDescription description : descriptions.values()) {
      for (TopicPartitionInfo info : description.partitions()) {
        if (info.leader() == null || info.leader().isEmpty()) {
          throw new IllegalStateException(description.name() + "-" + info.partition() + " has no leader yet");
        }
        result.add(new TopicPartition(description.name(), info.partition()));
      }
    }
    return result;
  }

  private String produceOne() throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "freshcache-kafka-ready");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(attemptMs()));
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(attemptMs()));
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(attemptMs()));
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    KafkaProducer<String, String> producer = new KafkaProducer<>(props);
    try {
      RecordMetadata meta = producer
          .send(new ProducerRecord<>(READY_TOPIC, "ready", "dev/stack readiness check " + java.time.Instant.now()))
          .get(attemptMs(), TimeUnit.MILLISECONDS);
      return "produce acked at " + meta.topic() + "-" + meta.partition() + "@" + meta.offset();
    } finally {
      producer.close(Duration.ofMillis(500));
    }
  }

  private Properties adminConfig() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "freshcache-kafka-ready");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(ATTEMPT_TIMEOUT_MS));
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(ATTEMPT_TIMEOUT_MS));
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
    return props;
  }

  /** Runs one attempt after another until it succeeds, the deadline passes or the broker exits. */
  private <T> T retry(String what, Attempt<T> attempt) throws NotReady, InterruptedException {
    Throwable last = null;
    while (true) {
      checkBrokerAlive();
      try {
        return attempt.run();
      } catch (InterruptedException e) {
        throw e;
      } catch (Fatal e) {
        throw new NotReady(e.getMessage());
      } catch (Exception e) {
        last = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (last instanceof java.util.concurrent.TimeoutException && last.getMessage() == null) {
          last = new java.util.concurrent.TimeoutException("no answer within the attempt timeout");
        }
      }
      if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_PAUSE_MS) - deadlineNanos > 0) {
        throw new NotReady("timed out after " + timeoutSeconds + "s waiting for " + what
            + "; last error: " + last.getClass().getSimpleName() + ": " + last.getMessage());
      }
      Thread.sleep(RETRY_PAUSE_MS);
    }
  }

  /** Per-attempt timeout: at most ATTEMPT_TIMEOUT_MS and never past the overall deadline. */
  private long attemptMs() {
    long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    return Math.max(100, Math.min(ATTEMPT_TIMEOUT_MS, left));
  }

  /** A killed broker can stay a zombie for seconds, so read its state rather than asking kill -0. */
  private void checkBrokerAlive() throws NotReady {
    if (brokerPid <= 0) {
      return;
    }
    try {
      String stat = Files.readString(Path.of("/proc", String.valueOf(brokerPid), "stat"));
      char state = stat.substring(stat.lastIndexOf(')') + 2).charAt(0);
      if (state == 'Z' || state == 'X') {
        throw new NotReady("broker process " + brokerPid + " exited");
      }
    } catch (NoSuchFileException e) {
      throw new NotReady("broker process " + brokerPid + " exited");
    } catch (java.io.IOException e) {
      // Cannot tell: keep waiting on the admin calls alone.
    }
  }

  /** "topic(Np) ..." with the partition counts the broker reports (an existing topic keeps its own). */
  private static String describe(List<TopicPartition> partitions) {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    partitions.forEach(tp -> counts.merge(tp.topic(), 1, Integer::sum));
    List<String> parts = new ArrayList<>();
    counts.forEach((name, count) -> parts.add(name + "(" + count + "p)"));
    return String.join(" ", parts);
  }

  @FunctionalInterface
  private interface Attempt<T> {
    T run() throws Exception;
  }

  /** Not ready within the deadline, or the broker is gone: ends the program with exit status 1. */
  private static final class NotReady extends Exception {
    private static final long serialVersionUID = 1L;

    NotReady(String message) {
      super(message);
    }
  }

  /** A failure that waiting will not fix. */
  private static final class Fatal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Fatal(String message) {
      super(message);
    }
  }
}
