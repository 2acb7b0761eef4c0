import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Connects to dev/stack's SASL_SSL listener (SCRAM-SHA-512 over TLS) the way a client would:
 * admin describeCluster, then (with {@code --produce}) one acknowledged record to freshcache.ready.
 * Used by dev/stack's readiness check and by dev/check-secured-stack, which also runs it with a
 * wrong password and with the wrong CA to see both refused.
 *
 * <p>{@code java -cp <classes>:<kafka classpath> KafkaSaslProbe HOST:PORT --user NAME
 * --truststore FILE [--produce] [--timeout-ms N]}; the password comes from the environment variable
 * FRESHCACHE_PROBE_PASSWORD (never from the command line), the truststore is PEM unless its name
 * ends in .p12 (then PKCS12 with the password in FRESHCACHE_TLS_STORE_PASSWORD). Prints one line,
 * "ok: ..." or "refused: ExceptionClass: message"; exit status 0 when connected, 1 when not,
 * 2 on bad usage.
 */
public final class KafkaSaslProbe {
  private KafkaSaslProbe() {}

  public static void main(String[] args) {
    String bootstrap = null;
    String user = null;
    String truststore = null;
    boolean produce = false;
    long timeoutMs = 10_000;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--user" -> user = args[++i];
          case "--truststore" -> truststore = args[++i];
          case "--produce" -> produce = true;
          case "--timeout-ms" -> timeoutMs = Long.parseLong(args[++i]);
          default -> {
            if (args[i].startsWith("-") || bootstrap != null) {
              throw new IllegalArgumentException("unknown argument " + args[i]);
            }
            bootstrap = args[i];
          }
        }
      }
      if (bootstrap == null || user == null || truststore == null) {
        throw new IllegalArgumentException("needs <bootstrap>, --user and --truststore");
      }
    } catch (RuntimeException e) {
      System.err.println("KafkaSaslProbe: " + e.getMessage());
      System.exit(2);
      return;
    }
    String password = System.getenv().getOrDefault("FRESHCACHE_PROBE_PASSWORD", "");
    String storePassword = System.getenv().getOrDefault("FRESHCACHE_TLS_STORE_PASSWORD", "");
    try {
      System.out.println("ok: " + probe(bootstrap, security(user, password, truststore, storePassword), timeoutMs, produce));
      System.exit(0);
    } catch (Exception e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      StringBuilder line = new StringBuilder("refused: " + cause.getClass().getName() + ": " + cause.getMessage());
      for (Throwable c = cause.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
        line.append(" <- ").append(c.getClass().getName()).append(": ").append(c.getMessage());
      }
      System.out.println(line);
      System.exit(1);
    }
  }

  /** Client settings for SASL_SSL with SCRAM-SHA-512; the truststore type follows the file name. */
  static Properties security(String user, String password, String truststore, String storePassword) {
    Properties props = new Properties();
    props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
    props.put(SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-512");
    props.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required"
        + " username=\"" + user.replace("\"", "\\\"") + "\" password=\"" + password.replace("\"", "\\\"") + "\";");
    props.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststore);
    if (truststore.toLowerCase(Locale.ROOT).endsWith(".p12")) {
      props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PKCS12");
      props.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, storePassword);
    } else {
      props.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
    }
    return props;
  }

  /** describeCluster (and one produce) through the given listener; throws what the client threw. */
  static String probe(String bootstrap, Properties security, long timeoutMs, boolean produce) throws Exception {
    Properties props = new Properties();
    props.putAll(security);
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "freshcache-sasl-probe");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    String cluster;
    try (Admin admin = Admin.create(props)) {
      cluster = admin.describeCluster().clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
    }
    if (!produce) {
      return "describeCluster over SASL_SSL at " + bootstrap + ": cluster " + cluster;
    }
    Properties p = new Properties();
    p.putAll(security);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "freshcache-sasl-probe");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeoutMs));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      RecordMetadata meta = producer.send(new ProducerRecord<>("freshcache.ready", "sasl-probe", "SASL_SSL probe"))
          .get(timeoutMs, TimeUnit.MILLISECONDS);
      producer.close(Duration.ofMillis(500));
      return "describeCluster and produce over SASL_SSL at " + bootstrap + ": cluster " + cluster
          + ", record at " + meta.topic() + "-" + meta.partition() + "@" + meta.offset();
    }
  }
}
