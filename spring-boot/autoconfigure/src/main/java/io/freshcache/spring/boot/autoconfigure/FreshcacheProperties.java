package io.freshcache.spring.boot.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code freshcache.*} settings of a Spring Boot application. Every setting left unset keeps
 * the default of the client's configuration builder ({@code CacheClientConfig},
 * {@code RedisConnectionConfig}, {@code CachePolicy}), listed in {@code docs/configuration.md};
 * the Redis connection falls back to {@code spring.data.redis.*} when
 * {@code freshcache.client.redis.nodes} is not set.
 */
@ConfigurationProperties(prefix = "freshcache")
public class FreshcacheProperties {
  /** The client: Redis connection, breaker, loader budget, near cache, publishing. */
  private final Client client = new Client();
  /** Cache policies by name; a name is also the policy's metrics tag. The presets catalog (3600 s), profiles (300 s) and sessions (900 s) exist without being listed; an entry of the same name replaces one. */
  private Map<String, Policy> policies = new LinkedHashMap<>();
  /** The Spring Cache integration (a CacheManager over the client). */
  private final Cache cache = new Cache();

  public Client getClient() {
    return client;
  }

  public Map<String, Policy> getPolicies() {
    return policies;
  }

  public void setPolicies(Map<String, Policy> policies) {
    this.policies = policies;
  }

  public Cache getCache() {
    return cache;
  }

  /** {@code freshcache.client.*}. */
  public static class Client {
    /** Redis connection: topology, credentials, TLS, timeouts. */
    private final Redis redis = new Redis();
    /** Circuit breaker, one per Redis master. */
    private final Breaker breaker = new Breaker();
    /** Loader budget while Redis is bypassed, and the async loader pool. */
    private final Loader loader = new Loader();
    /** Near cache, dropped by sequenced invalidation notices. */
    private final NearCache nearCache = new NearCache();
    /** Write-behind publishing to Kafka (publishWrite, publishInvalidate). */
    private final Publishing publishing = new Publishing();
    /** Name of the policy (under freshcache.policies) used where none is given: invalidate and reads without a policy. Default: a policy named "default" with a 3600 s TTL. */
    private String defaultPolicy;
    /** Base64 AES key (16, 24 or 32 bytes) for policies with encrypted=true. Never shown. */
    private String encryptionKey;
    /** Replicas that must acknowledge invalidate and @CachePut writes (WAIT); 0 = off. Default 1. */
    private Integer replicaAcks;
    /** How long invalidate and @CachePut writes wait for those acknowledgements. Default 1s. */
    private Duration replicaAckTimeout;

    public Redis getRedis() {
      return redis;
    }

    public Breaker getBreaker() {
      return breaker;
    }

    public Loader getLoader() {
      return loader;
    }

    public NearCache getNearCache() {
      return nearCache;
    }

    public Publishing getPublishing() {
      return publishing;
    }

    public String getDefaultPolicy() {
      return defaultPolicy;
    }

    public void setDefaultPolicy(String defaultPolicy) {
      this.defaultPolicy = defaultPolicy;
    }

    public String getEncryptionKey() {
      return encryptionKey;
    }

    public void setEncryptionKey(String encryptionKey) {
      this.encryptionKey = encryptionKey;
    }

    public Integer getReplicaAcks() {
      return replicaAcks;
    }

    public void setReplicaAcks(Integer replicaAcks) {
      this.replicaAcks = replicaAcks;
    }

    public Duration getReplicaAckTimeout() {
      return replicaAckTimeout;
    }

    public void setReplicaAckTimeout(Duration replicaAckTimeout) {
      this.replicaAckTimeout = replicaAckTimeout;
    }
  }

  /** {@code freshcache.client.redis.*}. */
  public static class Redis {
    /** cluster, standalone or sentinel. Default cluster (or what spring.data.redis.* describes when nodes is unset). */
    private String mode;
    /** Cluster seed nodes, the standalone server, or the Sentinels, as host:port. Unset: taken from spring.data.redis.*. */
    private List<String> nodes = new ArrayList<>();
    /** ACL user name (needs a password). */
    private String username;
    /** Password of that user, or requirepass. Never shown. */
    private String password;
    /** Sentinel mode: the monitored master and the Sentinels' own password. */
    private final Sentinel sentinel = new Sentinel();
    /** TLS to Redis. */
    private final Tls tls = new Tls();
    /** Command timeout. Default 500ms. */
    private Duration commandTimeout;
    /** Connect timeout. Default 1s. */
    private Duration connectTimeout;
    /** Periodic cluster topology refresh. Default 1s. */
    private Duration topologyRefresh;
    /** Where reads of policies with replica-reads go: replica-preferred, replica, lowest-latency, master. Default replica-preferred. */
    private String readFrom;
    /** An unreachable Redis fails the application start instead of being retried in the background. Default false. */
    private Boolean failFast;

    public String getMode() {
      return mode;
    }

    public void setMode(String mode) {
      this.mode = mode;
    }

    public List<String> getNodes() {
      return nodes;
    }

    public void setNodes(List<String> nodes) {
      this.nodes = nodes;
    }

    public String getUsername() {
      return username;
    }

    public void setUsername(String username) {
      this.username = username;
    }

    public String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password;
    }

    public Sentinel getSentinel() {
      return sentinel;
    }

    public Tls getTls() {
      return tls;
    }

    public Duration getCommandTimeout() {
      return commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
      this.commandTimeout = commandTimeout;
    }

    public Duration getConnectTimeout() {
      return connectTimeout;
    }

    public void setConnectTimeout(Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
    }

    public Duration getTopologyRefresh() {
      return topologyRefresh;
    }

    public void setTopologyRefresh(Duration topologyRefresh) {
      this.topologyRefresh = topologyRefresh;
    }

    public String getReadFrom() {
      return readFrom;
    }

    public void setReadFrom(String readFrom) {
      this.readFrom = readFrom;
    }

    public Boolean getFailFast() {
      return failFast;
    }

    public void setFailFast(Boolean failFast) {
      this.failFast = failFast;
    }
  }

  /** {@code freshcache.client.redis.sentinel.*}. */
  public static class Sentinel {
    /** The master name the Sentinels monitor (sentinel mode only). */
    private String master;
    /** The Sentinels' own password. Never shown. */
    private String password;

    public String getMaster() {
      return master;
    }

    public void setMaster(String master) {
      this.master = master;
    }

    public String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password;
    }
  }

  /** {@code freshcache.client.redis.tls.*}. */
  public static class Tls {
    /** Connect with TLS. Default false (or spring.data.redis.ssl.enabled when nodes come from there). */
    private Boolean enabled;
    /** PEM file of the CA(s) to trust. Default the JVM's trust store. */
    private Path caFile;
    /** A PKCS12/JKS trust store instead of a PEM file. */
    private Path trustStore;
    /** Password of the trust store. Never shown. */
    private String trustStorePassword;
    /** Client certificate (PEM) for mutual TLS; with key-file. */
    private Path certFile;
    /** PKCS#8 private key (PEM) of the client certificate; with cert-file. */
    private Path keyFile;
    /** The server certificate must name the host. Default true. */
    private Boolean verifyHostname;

    public Boolean getEnabled() {
      return enabled;
    }

    public void setEnabled(Boolean enabled) {
      this.enabled = enabled;
    }

    public Path getCaFile() {
      return caFile;
    }

    public void setCaFile(Path caFile) {
      this.caFile = caFile;
    }

    public Path getTrustStore() {
      return trustStore;
    }

    public void setTrustStore(Path trustStore) {
      this.trustStore = trustStore;
    }

    public String getTrustStorePassword() {
      return trustStorePassword;
    }

    public void setTrustStorePassword(String trustStorePassword) {
      this.trustStorePassword = trustStorePassword;
    }

    public Path getCertFile() {
      return certFile;
    }

    public void setCertFile(Path certFile) {
      this.certFile = certFile;
    }

    public Path getKeyFile() {
      return keyFile;
    }

    public void setKeyFile(Path keyFile) {
      this.keyFile = keyFile;
    }

    public Boolean getVerifyHostname() {
      return verifyHostname;
    }

    public void setVerifyHostname(Boolean verifyHostname) {
      this.verifyHostname = verifyHostname;
    }
  }

  /** {@code freshcache.client.breaker.*}. */
  public static class Breaker {
    /** Failure rate (%) of a master's calls that opens its breaker. Default 5. */
    private Double threshold;
    /** Time open before half-open. Default 10s. */
    private Duration timeout;
    /** Slow-call threshold (80% slow in 10 s opens it). Default 2 x the slowest of 21 round trips at start, at least 250ms. */
    private Duration slowCallThreshold;

    public Double getThreshold() {
      return threshold;
    }

    public void setThreshold(Double threshold) {
      this.threshold = threshold;
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      this.timeout = timeout;
    }

    public Duration getSlowCallThreshold() {
      return slowCallThreshold;
    }

    public void setSlowCallThreshold(Duration slowCallThreshold) {
      this.slowCallThreshold = slowCallThreshold;
    }
  }

  /** {@code freshcache.client.loader.*}. */
  public static class Loader {
    /** Loader calls per second while Redis is bypassed. Default 200. */
    private Integer rateLimit;
    /** How long a bypassed read waits for that budget before LoadSheddingException; 0 = do not wait. Default 500ms. */
    private Duration rateLimitWait;
    /** Threads running async loaders, 1..1024. Default 8. */
    private Integer threads;

    public Integer getRateLimit() {
      return rateLimit;
    }

    public void setRateLimit(Integer rateLimit) {
      this.rateLimit = rateLimit;
    }

    public Duration getRateLimitWait() {
      return rateLimitWait;
    }

    public void setRateLimitWait(Duration rateLimitWait) {
      this.rateLimitWait = rateLimitWait;
    }

    public Integer getThreads() {
      return threads;
    }

    public void setThreads(Integer threads) {
      this.threads = threads;
    }
  }

  /** {@code freshcache.client.near-cache.*}. */
  public static class NearCache {
    /** Near-cache size bound. Default 10000. */
    private Long maxEntries;
    /** Period of the notice watchdog that detects lost notices; 0 = off. Default 500ms. */
    private Duration noticeCheck;
    /** Near entries the consistency sampler compares with Redis per second; 0 = off. Default 0. */
    private Integer samplePerSecond;
    /** M: when the sampler checks an apparently stale entry again. Default 10s. */
    private Duration sampleDelay;
    /** The sampler's longer re-check windows, increasing, each longer than sample-delay. Default 1m,5m,10m. */
    private List<Duration> sampleWindows;

    public Long getMaxEntries() {
      return maxEntries;
    }

    public void setMaxEntries(Long maxEntries) {
      this.maxEntries = maxEntries;
    }

    public Duration getNoticeCheck() {
      return noticeCheck;
    }

    public void setNoticeCheck(Duration noticeCheck) {
      this.noticeCheck = noticeCheck;
    }

    public Integer getSamplePerSecond() {
      return samplePerSecond;
    }

    public void setSamplePerSecond(Integer samplePerSecond) {
      this.samplePerSecond = samplePerSecond;
    }

    public Duration getSampleDelay() {
      return sampleDelay;
    }

    public void setSampleDelay(Duration sampleDelay) {
      this.sampleDelay = sampleDelay;
    }

    public List<Duration> getSampleWindows() {
      return sampleWindows;
    }

    public void setSampleWindows(List<Duration> sampleWindows) {
      this.sampleWindows = sampleWindows;
    }
  }

  /** {@code freshcache.client.publishing.*}. */
  public static class Publishing {
    /** Kafka bootstrap servers, host:port[,host:port...]; unset = publishing off. */
    private String bootstrapServers;
    /** Topic of publishWrite. Default freshcache.writes. */
    private String topic;
    /** Any other Kafka producer property (security.protocol, sasl.jaas.config, ssl.truststore.location...); acks, enable.idempotence and the serializers are reserved. Secret ones are masked. */
    private Map<String, String> properties = new LinkedHashMap<>();

    public String getBootstrapServers() {
      return bootstrapServers;
    }

    public void setBootstrapServers(String bootstrapServers) {
      this.bootstrapServers = bootstrapServers;
    }

    public String getTopic() {
      return topic;
    }

    public void setTopic(String topic) {
      this.topic = topic;
    }

    public Map<String, String> getProperties() {
      return properties;
    }

    public void setProperties(Map<String, String> properties) {
      this.properties = properties;
    }
  }

  /** {@code freshcache.policies.<name>.*}: one cache policy. */
  public static class Policy {
    /** Time to live before jitter. Default 3600s. */
    private Duration ttl;
    /** Relative TTL jitter in [0, 0.9]. Default 0.2. */
    private Double jitter;
    /** Schema version of the value's shape; bump it when the class changes incompatibly. Default 1. */
    private Integer schemaVersion;
    /** How long a loader may hold the lease. */
    private Duration leaseTime;
    /** How long version fences are kept (at least the longest jittered TTL). */
    private Duration fenceTtl;
    /** XFetch early-refresh beta in [0, 100]; 0 = off. */
    private Double earlyRefreshBeta;
    /** Largest encoded value cached, in bytes. */
    private Integer maxValueBytes;
    /** Codec: json, cbor, smile or msgpack. Default json. */
    private String codec;
    /** Encrypt values with AES-GCM (needs freshcache.client.encryption-key). Default false. */
    private Boolean encrypted;
    /** How long a "not found" is cached; 0 = not cached. Default 0. */
    private Duration negativeTtl;
    /** Hits may be read from replicas. Default false. */
    private Boolean replicaReads;
    /** Use the near cache. Default false. */
    private Boolean nearCache;
    /** Longest life of a near-cache entry. */
    private Duration nearCacheTtl;

    public Duration getTtl() {
      return ttl;
    }

    public void setTtl(Duration ttl) {
      this.ttl = ttl;
    }

    public Double getJitter() {
      return jitter;
    }

    public void setJitter(Double jitter) {
      this.jitter = jitter;
    }

    public Integer getSchemaVersion() {
      return schemaVersion;
    }

    public void setSchemaVersion(Integer schemaVersion) {
      this.schemaVersion = schemaVersion;
    }

    public Duration getLeaseTime() {
      return leaseTime;
    }

    public void setLeaseTime(Duration leaseTime) {
      this.leaseTime = leaseTime;
    }

    public Duration getFenceTtl() {
      return fenceTtl;
    }

    public void setFenceTtl(Duration fenceTtl) {
      this.fenceTtl = fenceTtl;
    }

    public Double getEarlyRefreshBeta() {
      return earlyRefreshBeta;
    }

    public void setEarlyRefreshBeta(Double earlyRefreshBeta) {
      this.earlyRefreshBeta = earlyRefreshBeta;
    }

    public Integer getMaxValueBytes() {
      return maxValueBytes;
    }

    public void setMaxValueBytes(Integer maxValueBytes) {
      this.maxValueBytes = maxValueBytes;
    }

    public String getCodec() {
      return codec;
    }

    public void setCodec(String codec) {
      this.codec = codec;
    }

    public Boolean getEncrypted() {
      return encrypted;
    }

    public void setEncrypted(Boolean encrypted) {
      this.encrypted = encrypted;
    }

    public Duration getNegativeTtl() {
      return negativeTtl;
    }

    public void setNegativeTtl(Duration negativeTtl) {
      this.negativeTtl = negativeTtl;
    }

    public Boolean getReplicaReads() {
      return replicaReads;
    }

    public void setReplicaReads(Boolean replicaReads) {
      this.replicaReads = replicaReads;
    }

    public Boolean getNearCache() {
      return nearCache;
    }

    public void setNearCache(Boolean nearCache) {
      this.nearCache = nearCache;
    }

    public Duration getNearCacheTtl() {
      return nearCacheTtl;
    }

    public void setNearCacheTtl(Duration nearCacheTtl) {
      this.nearCacheTtl = nearCacheTtl;
    }
  }

  /** {@code freshcache.cache.*}: the Spring Cache integration. */
  public static class Cache {
    /** Create the freshcache CacheManager (unless the application defines a CacheManager). */
    private boolean enabled = true;
    /** Cache null results (as a cached "not found" when the policy's negative-ttl is set, else not stored). */
    private boolean allowNullValues = true;
    /** Service part of the keys of caches without a key-prefix: keys are service:cacheName:key. Default: spring.application.name, else "app". */
    private String service;
    /** Per cache name: its key prefix, policy, value type and version property. Caches not listed are created on first use with the defaults. */
    private Map<String, CacheSpec> caches = new LinkedHashMap<>();

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public boolean isAllowNullValues() {
      return allowNullValues;
    }

    public void setAllowNullValues(boolean allowNullValues) {
      this.allowNullValues = allowNullValues;
    }

    public String getService() {
      return service;
    }

    public void setService(String service) {
      this.service = service;
    }

    public Map<String, CacheSpec> getCaches() {
      return caches;
    }

    public void setCaches(Map<String, CacheSpec> caches) {
      this.caches = caches;
    }
  }

  /** {@code freshcache.cache.caches.<cacheName>.*}. */
  public static class CacheSpec {
    /** service:entity of the cache's keys, e.g. catalog:product (then @Cacheable key 42 is catalog:product:42). Default: service:cacheName. */
    private String keyPrefix;
    /** Name of the policy under freshcache.policies. Default: the client's default policy. */
    private String policy;
    /** The type cached values are decoded as when the method's return type cannot tell (e.g. without @EnableCaching's freshcache resolver). Default: the method's return type, else Object. */
    private Class<?> valueType;
    /** The property of a value that holds its row version, read by @CachePut for the fenced write (a record component, getter or field). Default "version"; a value without it is invalidated instead of written. */
    private String versionProperty = "version";

    public String getKeyPrefix() {
      return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
      this.keyPrefix = keyPrefix;
    }

    public String getPolicy() {
      return policy;
    }

    public void setPolicy(String policy) {
      this.policy = policy;
    }

    public Class<?> getValueType() {
      return valueType;
    }

    public void setValueType(Class<?> valueType) {
      this.valueType = valueType;
    }

    public String getVersionProperty() {
      return versionProperty;
    }

    public void setVersionProperty(String versionProperty) {
      this.versionProperty = versionProperty;
    }
  }
}
