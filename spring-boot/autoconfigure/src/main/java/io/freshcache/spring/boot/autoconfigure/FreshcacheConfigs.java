package io.freshcache.spring.boot.autoconfigure;

import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.config.ConfigException;
import io.freshcache.protocol.config.KafkaClientConfig;
import io.freshcache.protocol.config.RedisConnectionConfig;
import java.net.URI;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;

/**
 * Turns {@link FreshcacheProperties} (and {@code spring.data.redis.*} as the fallback for the
 * connection) into the client's immutable configs, through their validating builders: every
 * property left unset keeps the builder's default, and a bad value fails the start with the
 * builder's message prefixed by {@code freshcache.}.
 *
 * <p>Fallback rule (as Redisson's starter does): when {@code freshcache.client.redis.nodes} is
 * not set, the connection comes from {@code spring.data.redis.*} — {@code cluster.nodes} (cluster
 * mode), else {@code sentinel.master} and {@code sentinel.nodes} (sentinel mode), else {@code url}
 * or {@code host}/{@code port} (standalone mode) — with {@code username}, {@code password},
 * {@code ssl.enabled} ({@code ssl.bundle} turns TLS on with a warning: SSL bundles are not read, the
 * trust material comes from {@code freshcache.client.redis.tls.*} or the JVM's defaults),
 * {@code timeout} and {@code connect-timeout}; a freshcache setting that is
 * set still wins over its spring.data.redis counterpart.
 */
public final class FreshcacheConfigs {
  private FreshcacheConfigs() {}

  /**
   * @param props the bound {@code freshcache.*} properties
   * @return the policies by name: the presets {@code catalog} (3600 s), {@code profiles} (300 s)
   *     and {@code sessions} (900 s), and those of {@code freshcache.policies} (which may replace
   *     a preset)
   * @throws ConfigException naming the property and the bad value
   */
  public static Map<String, CachePolicy> policies(FreshcacheProperties props) {
    Map<String, CachePolicy> out = new LinkedHashMap<>();
    // the presets, by their names; a freshcache.policies entry of the same name replaces one
    for (CachePolicy preset : List.of(CachePolicy.PRODUCT_CATALOG, CachePolicy.USER_PROFILES, CachePolicy.SESSION_TOKENS)) {
      out.put(preset.name(), preset);
    }
    props.getPolicies().forEach((name, p) -> out.put(name, policy(name, p)));
    return out;
  }

  static CachePolicy policy(String name, FreshcacheProperties.Policy p) {
    try {
      CachePolicy.Builder b = CachePolicy.builder(name);
      set(p.getTtl(), b::ttl);
      set(p.getJitter(), b::jitter);
      set(p.getSchemaVersion(), b::schemaVersion);
      set(p.getLeaseTime(), b::leaseTime);
      set(p.getFenceTtl(), b::fenceTtl);
      set(p.getEarlyRefreshBeta(), b::earlyRefreshBeta);
      set(p.getMaxValueBytes(), b::maxValueBytes);
      set(p.getCodec(), b::codec);
      set(p.getEncrypted(), b::encrypted);
      set(p.getNegativeTtl(), b::negativeTtl);
      set(p.getReplicaReads(), b::replicaReads);
      set(p.getNearCache(), b::nearCache);
      set(p.getNearCacheTtl(), b::nearCacheTtl);
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException("freshcache.policies." + name + ": " + e.getMessage(), e);
    }
  }

  /**
   * @param props the bound {@code freshcache.*} properties
   * @param policies the policies of {@link #policies}
   * @param env the environment, read for {@code spring.data.redis.*}
   * @return the client's config
   * @throws ConfigException naming the property and the bad value (secrets are never shown)
   */
  public static CacheClientConfig client(FreshcacheProperties props, Map<String, CachePolicy> policies, Environment env) {
    FreshcacheProperties.Client c = props.getClient();
    try {
      CacheClientConfig.Builder b = CacheClientConfig.builder().redis(redis(c.getRedis(), env));
      if (c.getDefaultPolicy() != null) {
        CachePolicy p = policies.get(c.getDefaultPolicy());
        if (p == null) {
          throw ConfigException.invalid("freshcache.client.default-policy", c.getDefaultPolicy(),
              "the name of a policy under freshcache.policies " + policies.keySet());
        }
        b.defaultPolicy(p);
      }
      set(c.getBreaker().getThreshold(), b::circuitBreakerThreshold);
      set(c.getBreaker().getTimeout(), b::circuitBreakerTimeout);
      set(c.getBreaker().getSlowCallThreshold(), b::slowCallThreshold);
      set(c.getLoader().getRateLimit(), b::loaderRateLimit);
      set(c.getLoader().getRateLimitWait(), b::loaderRateLimitWait);
      set(c.getLoader().getThreads(), b::loaderThreads);
      set(c.getNearCache().getMaxEntries(), b::nearCacheMaxEntries);
      set(c.getNearCache().getNoticeCheck(), b::nearCacheNoticeCheck);
      set(c.getNearCache().getSamplePerSecond(), b::nearCacheSamplePerSecond);
      set(c.getNearCache().getSampleDelay(), b::nearCacheSampleDelay);
      set(c.getNearCache().getSampleWindows(), b::nearCacheSampleWindows);
      set(c.getReplicaAcks(), b::replicaAcks);
      set(c.getReplicaAckTimeout(), b::replicaAckTimeout);
      if (c.getEncryptionKey() != null && !c.getEncryptionKey().isBlank()) {
        byte[] key;
        try {
          key = Base64.getDecoder().decode(c.getEncryptionKey().trim());
        } catch (IllegalArgumentException e) {
          throw ConfigException.invalidSecret("freshcache.client.encryption-key", "base64 of a 16, 24 or 32 byte AES key");
        }
        b.encryptionKey(key);
      }
      FreshcacheProperties.Publishing pub = c.getPublishing();
      set(pub.getTopic(), b::writesTopic);
      if (pub.getBootstrapServers() != null && !pub.getBootstrapServers().isBlank()) {
        b.kafka(KafkaClientConfig.builder().bootstrapServers(pub.getBootstrapServers())
            .properties(pub.getProperties()).build());
      } else if (!pub.getProperties().isEmpty()) {
        throw new ConfigException("freshcache.client.publishing.properties are set but"
            + " freshcache.client.publishing.bootstrap-servers is not: publishing is off without it");
      }
      return b.build();
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException("freshcache.client: " + e.getMessage(), e);
    }
  }

  static RedisConnectionConfig redis(FreshcacheProperties.Redis r, Environment env) {
    RedisConnectionConfig.Builder b = RedisConnectionConfig.builder();
    if (r.getNodes() == null || r.getNodes().isEmpty()) {
      springDataRedis(b, env);
    } else {
      b.nodes(r.getNodes());
    }
    if (r.getMode() != null) {
      b.mode(enumOf(RedisConnectionConfig.Mode.class, "freshcache.client.redis.mode", r.getMode()));
    }
    set(r.getSentinel().getMaster(), b::sentinelMaster);
    set(r.getSentinel().getPassword(), b::sentinelPassword);
    set(r.getUsername(), b::username);
    set(r.getPassword(), b::password);
    FreshcacheProperties.Tls t = r.getTls();
    set(t.getEnabled(), b::tls);
    set(t.getCaFile(), b::tlsCaFile);
    if (t.getTrustStore() != null) {
      b.tlsTrustStore(t.getTrustStore(), t.getTrustStorePassword());
    }
    if (t.getCertFile() != null || t.getKeyFile() != null) {
      b.tlsClientCert(t.getCertFile(), t.getKeyFile());
    }
    set(t.getVerifyHostname(), b::tlsVerifyHostname);
    set(r.getCommandTimeout(), b::commandTimeout);
    set(r.getConnectTimeout(), b::connectTimeout);
    set(r.getTopologyRefresh(), b::topologyRefresh);
    if (r.getReadFrom() != null) {
      b.readFrom(enumOf(RedisConnectionConfig.ReadFrom.class, "freshcache.client.redis.read-from", r.getReadFrom()));
    }
    set(r.getFailFast(), b::failFast);
    try {
      return b.build();
    } catch (ConfigException e) {
      throw new ConfigException("freshcache.client." + e.getMessage()
          + ((r.getNodes() == null || r.getNodes().isEmpty())
              ? " (freshcache.client.redis.nodes is unset, so the connection came from spring.data.redis.*)" : ""), e);
    }
  }

  /** The connection settings of {@code spring.data.redis.*}, for an application that has them. */
  private static void springDataRedis(RedisConnectionConfig.Builder b, Environment env) {
    Binder binder = Binder.get(env);
    List<String> cluster = binder.bind("spring.data.redis.cluster.nodes", Bindable.listOf(String.class)).orElse(List.of());
    String sentinelMaster = binder.bind("spring.data.redis.sentinel.master", String.class).orElse(null);
    if (!cluster.isEmpty()) {
      b.mode(RedisConnectionConfig.Mode.CLUSTER).nodes(cluster);
    } else if (sentinelMaster != null) {
      b.mode(RedisConnectionConfig.Mode.SENTINEL).sentinelMaster(sentinelMaster)
          .nodes(binder.bind("spring.data.redis.sentinel.nodes", Bindable.listOf(String.class)).orElse(List.of()));
      binder.bind("spring.data.redis.sentinel.password", String.class).ifBound(b::sentinelPassword);
    } else {
      String url = binder.bind("spring.data.redis.url", String.class).orElse(null);
      if (url != null) {
        URI u = URI.create(url);
        b.mode(RedisConnectionConfig.Mode.STANDALONE).nodes(u.getHost() + ":" + (u.getPort() < 0 ? 6379 : u.getPort()));
        if ("rediss".equals(u.getScheme())) {
          b.tls(true);
        }
        if (u.getUserInfo() != null) {
          String ui = u.getUserInfo();
          int colon = ui.indexOf(':');
          if (colon < 0) {
            b.password(ui);
          } else {
            if (colon > 0) {
              b.username(ui.substring(0, colon));
            }
            b.password(ui.substring(colon + 1));
          }
        }
      } else {
        String host = binder.bind("spring.data.redis.host", String.class).orElse(null);
        Integer port = binder.bind("spring.data.redis.port", Integer.class).orElse(null);
        if (host != null || port != null) {
          b.mode(RedisConnectionConfig.Mode.STANDALONE).nodes((host == null ? "localhost" : host) + ":" + (port == null ? 6379 : port));
        }
      }
    }
    binder.bind("spring.data.redis.username", String.class).ifBound(b::username);
    binder.bind("spring.data.redis.password", String.class).ifBound(b::password);
    binder.bind("spring.data.redis.ssl.enabled", Boolean.class).ifBound(b::tls);
    binder.bind("spring.data.redis.ssl.bundle", String.class).ifBound(bundle -> {
      // a bundle turns TLS on in Spring Boot; its trust material is not read here
      b.tls(true);
      org.slf4j.LoggerFactory.getLogger(FreshcacheConfigs.class).warn("spring.data.redis.ssl.bundle={} turns TLS on, but"
          + " freshcache does not read SSL bundles: it trusts the JVM's default CAs unless"
          + " freshcache.client.redis.tls.ca-file or freshcache.client.redis.tls.trust-store is set", bundle);
    });
    binder.bind("spring.data.redis.timeout", Duration.class).ifBound(b::commandTimeout);
    binder.bind("spring.data.redis.connect-timeout", Duration.class).ifBound(b::connectTimeout);
  }

  private static <E extends Enum<E>> E enumOf(Class<E> type, String property, String value) {
    try {
      return Enum.valueOf(type, value.trim().replace('-', '_').toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      StringBuilder known = new StringBuilder();
      for (E v : type.getEnumConstants()) {
        known.append(known.length() == 0 ? "" : ", ").append(v.name().toLowerCase(Locale.ROOT).replace('_', '-'));
      }
      throw ConfigException.invalid(property, value, known.toString());
    }
  }

  private static <T> void set(T value, Consumer<T> setter) {
    if (value != null) {
      setter.accept(value);
    }
  }
}
