package io.freshcache.ops;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The one place where the ops tools build Kafka client properties, from the environment variable
 * the services read ({@code KAFKA_BOOTSTRAP_SERVERS}, default {@code 127.0.0.1:9092}).
 *
 * @param bootstrapServers Kafka's bootstrap servers
 */
public record OpsKafka(String bootstrapServers) {
  /** Default bootstrap servers, the local stack's. */
  public static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9092";

  /**
   * @param env the environment
   * @return the settings from {@code KAFKA_BOOTSTRAP_SERVERS}
   * @throws IllegalArgumentException if it is blank
   */
  public static OpsKafka fromEnv(Map<String, String> env) {
    String s = env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP);
    if (s.isBlank()) {
      throw new IllegalArgumentException("KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port...] but was blank");
    }
    return new OpsKafka(s.trim());
  }

  /**
   * @param group the consumer group
   * @return properties of a byte-array consumer of {@code group} that starts at the end of a
   *     partition it has no offset for and commits automatically
   */
  public Map<String, Object> consumer(String group) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "freshcache-" + group);
    return p;
  }

  /**
   * @param timeoutMs request and API timeout, ms
   * @return a new admin client; close it
   */
  public Admin admin(int timeoutMs) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs));
  }
}
