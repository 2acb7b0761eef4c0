package io.freshcache.ops;

import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.KafkaClientConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The one place where the ops tools build Kafka clients, from the services' Kafka model
 * ({@link KafkaClientConfig#fromEnv}): {@code KAFKA_BOOTSTRAP_SERVERS} (default
 * {@code 127.0.0.1:9092}) and every other {@code KAFKA_*} variable passed through as a client
 * property ({@code KAFKA_SECURITY_PROTOCOL=SASL_SSL}, {@code KAFKA_SASL_JAAS_CONFIG},
 * {@code KAFKA_SSL_TRUSTSTORE_LOCATION}...), so the tools reach a secured Kafka like the services.
 *
 * @param config the bootstrap servers and pass-through properties
 */
public record OpsKafka(KafkaClientConfig config) {
  /** Default bootstrap servers, the local stack's. */
  public static final String DEFAULT_BOOTSTRAP = KafkaClientConfig.DEFAULT_BOOTSTRAP_SERVERS;

  /** Properties the checker's consumer sets itself: it reads the events as bytes. */
  static final Set<String> RESERVED = Set.of(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
      ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ConsumerConfig.GROUP_ID_CONFIG);

  /**
   * @param env the environment
   * @return the settings from {@code KAFKA_*}
   * @throws io.freshcache.protocol.config.ConfigException naming a variable and its bad value
   */
  public static OpsKafka fromEnv(Map<String, String> env) {
    OpsKafka kafka = new OpsKafka(KafkaClientConfig.fromEnv(EnvSettings.of(env), null));
    kafka.consumer("check"); // a reserved property passed through fails here, at start
    return kafka;
  }

  /** @return Kafka's bootstrap servers */
  public String bootstrapServers() {
    return config.bootstrapServers();
  }

  /**
   * @param group the consumer group
   * @return properties of a byte-array consumer of {@code group} that starts at the end of a
   *     partition it has no offset for and commits automatically (pass-through properties may
   *     change all but the deserializers and the group)
   * @throws io.freshcache.protocol.config.ConfigException if a reserved property was passed
   */
  public Map<String, Object> consumer(String group) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "freshcache-" + group);
    return config.apply(p, RESERVED);
  }

  /**
   * @param timeoutMs request and API timeout, ms
   * @return a new admin client with the pass-through properties (security...); close it
   */
  public Admin admin(int timeoutMs) {
    Map<String, Object> p = new HashMap<>();
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
    Map<String, Object> all = config.apply(p, Set.of());
    // consumer-only pass-through properties would make the admin client warn; keep only its own
    all.keySet().retainAll(AdminClientConfig.configNames());
    return Admin.create(all);
  }
}
