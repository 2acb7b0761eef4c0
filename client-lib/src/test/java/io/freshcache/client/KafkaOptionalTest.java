package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.Test;

/** kafka-clients is optional: publishing without it fails with an error naming the dependency. */
class KafkaOptionalTest {
  @Test
  void publishingWithoutKafkaClientsNamesTheMissingDependency() {
    // a class loader that sees the JDK only: kafka-clients is absent, as in an app without it
    ClassLoader jdkOnly = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader());
    assertThatThrownBy(() -> CacheClient.requireKafkaClients(jdkOnly, CacheClient.KAFKA_PRODUCER_CLASS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("org.apache.kafka:kafka-clients")
        .hasMessageContaining("optional dependency");
    assertThatCode(() -> CacheClient.requireKafkaClients(getClass().getClassLoader(), CacheClient.KAFKA_PRODUCER_CLASS))
        .doesNotThrowAnyException();
  }

  @Test
  void theClientApiLoadsNoKafkaClassUntilPublishing() throws Exception {
    // the public classes link without Kafka: CacheClient, its config and policies load in a
    // class loader that has client-lib and cache-protocol but no kafka-clients
    URL[] urls = {
        CacheClient.class.getProtectionDomain().getCodeSource().getLocation(),
        io.freshcache.protocol.CacheKey.class.getProtectionDomain().getCodeSource().getLocation()};
    try (URLClassLoader noKafka = new URLClassLoader(urls, new FilteringLoader(getClass().getClassLoader()))) {
      Class<?> client = Class.forName(CacheClient.class.getName(), true, noKafka);
      assertThat(client.getMethods()).isNotEmpty(); // links every method signature
      Class.forName(CacheClientConfig.class.getName(), true, noKafka);
      assertThatThrownBy(() -> Class.forName(CacheClient.KAFKA_PRODUCER_CLASS, false, noKafka))
          .isInstanceOf(ClassNotFoundException.class);
    }
  }

  /** Delegates to the test class path, except for Kafka and the freshcache classes themselves. */
  static final class FilteringLoader extends ClassLoader {
    FilteringLoader(ClassLoader parent) {
      super(parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (name.startsWith("org.apache.kafka.") || name.startsWith("io.freshcache.")) {
        throw new ClassNotFoundException(name);
      }
      return super.loadClass(name, resolve);
    }
  }
}
