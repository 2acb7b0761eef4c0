package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.freshcache.redis.RedisSetupException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The client on every Redis topology and security setting dev/stack runs (its optional
 * components {@code redis-standalone}, {@code sentinel} and {@code redis-tls}, started by
 * {@code dev/test}): reads, leases, fills, invalidations and near-cache notices on a standalone
 * server and through Sentinel (also across a failover), over TLS with the minimal ACL of
 * {@code docs/redis-acl.md}; and the clear errors of a client pointed at the wrong kind of Redis,
 * with a wrong password, a wrong CA, or a user missing a permission.
 */
class TopologyIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true)
      .nearCacheTtl(Duration.ofMinutes(10)).build();
  static final List<CacheClient> clients = new ArrayList<>();

  static String env(String name) {
    String v = System.getenv(name);
    assertThat(v).as("%s (exported by `eval \"$(dev/stack env)\"` once dev/stack up redis-tls"
        + " redis-standalone sentinel ran; dev/test does both)", name).isNotBlank();
    return v;
  }

  /** A client config of these variables only (defaults otherwise), with patient timeouts. */
  static CacheClientConfig config(Map<String, String> vars) {
    Map<String, String> e = new HashMap<>();
    e.put("REDIS_COMMAND_TIMEOUT_MS", "5000");
    e.put("REDIS_CONNECT_TIMEOUT_MS", "3000");
    e.putAll(vars);
    return CacheClientConfig.fromEnv(e);
  }

  static CacheClient client(Map<String, String> vars) {
    CacheClient c = CacheClient.create(config(vars));
    clients.add(c);
    return c;
  }

  static Map<String, String> standalone() {
    return Map.of("REDIS_MODE", "standalone", "REDIS_NODES", env("FRESHCACHE_REDIS_STANDALONE_NODE"));
  }

  static Map<String, String> sentinel() {
    return Map.of("REDIS_MODE", "sentinel", "REDIS_NODES", env("FRESHCACHE_REDIS_SENTINELS"),
        "REDIS_SENTINEL_MASTER", env("FRESHCACHE_REDIS_SENTINEL_MASTER"));
  }

  static Map<String, String> tls(String user, String password) {
    Map<String, String> m = new HashMap<>();
    m.put("REDIS_NODES", env("FRESHCACHE_REDIS_TLS_NODES"));
    m.put("REDIS_TLS", "true");
    m.put("REDIS_TLS_CA_FILE", env("FRESHCACHE_TLS_CA_FILE"));
    m.put("REDIS_USERNAME", user);
    m.put("REDIS_PASSWORD", password);
    return m;
  }

  @AfterAll
  static void closeClients() {
    clients.forEach(CacheClient::close);
  }

  /** Waits until the client's near cache is on (its notices subscribed). */
  static void awaitNearCacheOn(CacheClient c) {
    await().atMost(Duration.ofSeconds(20)).until(() ->
        c.meters().get("cache.near.subscribed").gauge().value() == 1.0);
  }

  /**
   * Reads, fills, near-cache hits, and an invalidation by one client that drops the other's near
   * entry (a sharded notice), all on the given deployment.
   */
  static void wholeClientPath(Map<String, String> vars, String entity) {
    CacheClient a = client(vars);
    CacheClient b = client(vars);
    awaitNearCacheOn(a);
    awaitNearCacheOn(b);
    String key = "it:" + entity + ":" + RUN;
    AtomicInteger loadsA = new AtomicInteger();
    AtomicInteger loadsB = new AtomicInteger();
    String[] db = {"v1"};
    assertThat(a.getOrLoad(key, String.class, NEAR, () -> {
      loadsA.incrementAndGet();
      return db[0];
    })).isEqualTo("v1");
    assertThat(loadsA).as("a miss loads").hasValue(1);
    for (int i = 0; i < 3; i++) {
      assertThat(b.getOrLoad(key, String.class, NEAR, () -> {
        loadsB.incrementAndGet();
        return db[0];
      })).isEqualTo("v1");
    }
    assertThat(loadsB).as("b reads a's fill from Redis, then from its near cache").hasValue(0);
    assertThat(b.stats().nearHits()).as("near hits of b").isGreaterThanOrEqualTo(2);
    db[0] = "v2";
    a.invalidate(key);
    await().atMost(Duration.ofSeconds(10)).until(() -> "v2".equals(b.getOrLoad(key, String.class, NEAR, () -> {
      loadsB.incrementAndGet();
      return db[0];
    })));
    assertThat(loadsB).as("b's near entry was dropped by the notice, so b loaded").hasValue(1);
  }

  @Test
  void aStandaloneServerCarriesTheWholeClientPath() {
    wholeClientPath(standalone(), "standalone");
  }

  @Test
  void sentinelCarriesTheWholeClientPath() {
    wholeClientPath(sentinel(), "sentinel");
  }

  @Test
  void aTlsClusterWithTheMinimalAclCarriesTheWholeClientPath() throws Exception {
    long before = aclDenials("freshcache-client");
    wholeClientPath(tls(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD")), "tls");
    assertThat(aclDenials("freshcache-client")).as("ACL LOG entries of freshcache-client: the published"
        + " ACL must allow everything the client did").isEqualTo(before);
  }

  @Test
  void mutualTlsWithAClientCertificateWorks() {
    Map<String, String> vars = tls(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD"));
    vars.put("REDIS_TLS_CERT_FILE", env("FRESHCACHE_TLS_CLIENT_CERT_FILE"));
    vars.put("REDIS_TLS_KEY_FILE", env("FRESHCACHE_TLS_CLIENT_KEY_FILE"));
    vars.put("REDIS_FAIL_FAST", "true");
    CacheClient c = client(vars);
    assertThat(c.ping()).isTrue();
  }

  @Test
  void aClusterConfigPointedAtAStandaloneServerFailsNamingIt() {
    String node = env("FRESHCACHE_REDIS_STANDALONE_NODE");
    assertThatThrownBy(() -> client(Map.of("REDIS_NODES", node)))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at " + node + " is a standalone server")
        .hasMessageContaining("REDIS_MODE")
        .hasMessageContaining("is cluster");
  }

  @Test
  void aStandaloneConfigPointedAtAClusterNodeFailsNamingIt() {
    String node = env("REDIS_NODES").split(",")[0].trim();
    assertThatThrownBy(() -> client(Map.of("REDIS_MODE", "standalone", "REDIS_NODES", node)))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at " + node + " is a cluster server")
        .hasMessageContaining("is standalone");
  }

  @Test
  void aSentinelConfigPointedAtADataNodeFailsNamingIt() {
    String node = env("FRESHCACHE_REDIS_STANDALONE_NODE");
    assertThatThrownBy(() -> client(Map.of("REDIS_MODE", "sentinel", "REDIS_NODES", node,
        "REDIS_SENTINEL_MASTER", "freshcache")))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at " + node + " is a standalone server")
        .hasMessageContaining("is sentinel");
  }

  @Test
  void aWrongPasswordFailsNamingTheServer() {
    assertThatThrownBy(() -> client(tls(env("FRESHCACHE_REDIS_CLIENT_USER"), "not-the-password")))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("Redis at 127.0.0.1:")
        .hasMessageContaining("refused the credentials")
        .hasMessageContaining("REDIS_PASSWORD")
        .hasMessageNotContaining("not-the-password");
  }

  @Test
  void aWrongCaFailsNamingTheServer() {
    Map<String, String> vars = tls(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD"));
    vars.put("REDIS_TLS_CA_FILE", env("FRESHCACHE_TLS_WRONG_CA_FILE"));
    assertThatThrownBy(() -> client(vars))
        .isInstanceOf(RedisSetupException.class)
        .hasMessageContaining("TLS handshake with Redis at 127.0.0.1:")
        .hasMessageContaining("not signed by a trusted CA");
  }

  @Test
  void plainTextAgainstTheTlsPortFailsAtStartWithFailFast() {
    Map<String, String> vars = tls(env("FRESHCACHE_REDIS_CLIENT_USER"), env("FRESHCACHE_REDIS_CLIENT_PASSWORD"));
    vars.remove("REDIS_TLS_CA_FILE");
    vars.put("REDIS_TLS", "false");
    vars.put("REDIS_FAIL_FAST", "true");
    assertThatThrownBy(() -> client(vars)).isInstanceOf(RedisException.class)
        .hasMessageContaining("127.0.0.1:");
  }

  @Test
  void aUserMissingAPermissionFailsNamingTheServerAndTheCommand() throws Exception {
    String user = "freshcache-limited-" + RUN;
    forEachTlsNode(c -> c.sync().aclSetuser(user, io.lettuce.core.AclSetuserArgs.Builder.on()
        .addPassword("limited-pw").allKeys().allChannels().allCommands().removeCommand(
            io.lettuce.core.protocol.CommandType.EVALSHA)));
    try {
      assertThatThrownBy(() -> client(tls(user, "limited-pw")))
          .isInstanceOf(RedisSetupException.class)
          .hasMessageContaining("Redis at 127.0.0.1:")
          .hasMessageContaining("refused EVALSHA")
          .hasMessageContaining(user)
          .hasMessageContaining("docs/redis-acl.md");
    } finally {
      forEachTlsNode(c -> c.sync().aclDeluser(user));
    }
  }

  @Test
  void failFastTurnsAnUnreachableRedisIntoAnErrorAtStart() {
    assertThatThrownBy(() -> client(Map.of("REDIS_NODES", "127.0.0.1:1", "REDIS_FAIL_FAST", "true")))
        .isInstanceOf(RedisException.class)
        .hasMessageContaining("unreachable")
        .hasMessageContaining("127.0.0.1:1");
    // without it the client starts and serves reads from the loader
    CacheClient c = client(Map.of("REDIS_NODES", "127.0.0.1:1"));
    assertThat(c.getOrLoad("it:unreachable:" + RUN, String.class, () -> "from-db")).isEqualTo("from-db");
  }

  /**
   * A Sentinel failover (kill -9 of the master) while entries are cached: invalidations
   * acknowledged before the kill (the client waits for the replica, {@code REDIS_REPLICA_ACKS=1})
   * survive it, invalidations after it reach the promoted master, and afterwards every entry in
   * Redis equals its row or is absent.
   */
  @Test
  void aSentinelFailoverLosesNoAcknowledgedInvalidation() throws Exception {
    CacheClient c = client(sentinel());
    Map<String, String> db = new ConcurrentHashMap<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String key = "it:failover:" + RUN + "-" + i;
      keys.add(key);
      db.put(key, "v1");
      assertThat(c.getOrLoad(key, String.class, CachePolicy.PRODUCT_CATALOG, () -> db.get(key))).isEqualTo("v1");
    }
    for (int i = 0; i < 20; i++) {
      db.put(keys.get(i), "v2");
      c.invalidate(keys.get(i));
    }
    String oldMaster = sentinelMaster();
    stack("kill", "sentinel-master");
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
          .until(() -> sentinelMaster() != null && !sentinelMaster().equals(oldMaster));
      for (int i = 20; i < 30; i++) {
        String key = keys.get(i);
        db.put(key, "v3");
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> c.invalidate(key));
      }
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(c::ping);
      for (String key : keys) {
        assertThat(c.getOrLoad(key, String.class, CachePolicy.PRODUCT_CATALOG, () -> db.get(key)))
            .as("read of %s after the failover", key).isEqualTo(db.get(key));
      }
      // every entry in Redis equals its row or is absent
      RedisClient raw = RedisClient.create();
      try (StatefulRedisConnection<String, String> r = raw.connect(RedisURI.create("redis://" + sentinelMaster()))) {
        for (String key : keys) {
          String v = r.sync().get("{" + key + "}:v" + CachePolicy.PRODUCT_CATALOG.schemaVersion());
          if (v != null) {
            assertThat(v).as("Redis value of %s", key).contains("\"" + db.get(key) + "\"");
          }
        }
      } finally {
        raw.shutdown();
      }
    } finally {
      stack("up", "sentinel");
    }
  }

  /** @return the master the Sentinels name now, {@code host:port} */
  static String sentinelMaster() {
    RedisClient raw = RedisClient.create();
    try (StatefulRedisConnection<String, String> s = raw.connect(RedisURI.create(
        "redis://" + env("FRESHCACHE_REDIS_SENTINELS").split(",")[0].trim()))) {
      List<String> addr = s.sync().dispatch(io.lettuce.core.protocol.CommandType.SENTINEL,
          new io.lettuce.core.output.ValueListOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
          new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8)
              .add("get-master-addr-by-name").add(env("FRESHCACHE_REDIS_SENTINEL_MASTER")));
      return addr == null || addr.size() < 2 ? null : addr.get(0) + ":" + addr.get(1);
    } catch (RedisException e) {
      return null;
    } finally {
      raw.shutdown();
    }
  }

  static void stack(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("..", "dev", "stack").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    assertThat(p.waitFor()).as("dev/stack %s", String.join(" ", args)).isZero();
  }

  /** Denials (command, key or channel) ACL LOG holds for {@code user}, summed over the TLS nodes. */
  static long aclDenials(String user) throws Exception {
    long[] n = {0};
    forEachTlsNode(c -> {
      for (Object entry : c.sync().aclLog()) {
        if (entry instanceof Map<?, ?> m && user.equals(m.get("username"))) {
          Object count = m.get("count");
          n[0] += count instanceof Number num ? num.longValue() : 1;
        }
      }
    });
    return n[0];
  }

  interface NodeAction {
    void run(StatefulRedisConnection<String, String> c) throws Exception;
  }

  /** Runs {@code action} on an admin connection to each node of the TLS cluster. */
  static void forEachTlsNode(NodeAction action) throws Exception {
    RedisClient raw = RedisClient.create();
    raw.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder()
        .trustManager(new File(env("FRESHCACHE_TLS_CA_FILE"))).build()).build());
    try {
      for (String node : env("FRESHCACHE_REDIS_TLS_NODES").split(",")) {
        String[] hp = node.trim().split(":");
        RedisURI uri = RedisURI.builder().withHost(hp[0]).withPort(Integer.parseInt(hp[1])).withSsl(true)
            .withAuthentication(env("FRESHCACHE_REDIS_ADMIN_USER"), env("FRESHCACHE_REDIS_ADMIN_PASSWORD"))
            .build();
        try (StatefulRedisConnection<String, String> c = raw.connect(uri)) {
          action.run(c);
        }
      }
    } finally {
      raw.shutdown();
    }
  }
}
