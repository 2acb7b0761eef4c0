package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.protocol.config.EnvSettings;
import io.freshcache.protocol.config.RedisConnectionConfig;
import io.freshcache.redis.RedisTopology;
import io.freshcache.writer.internal.FencedApplier;
import io.freshcache.writer.internal.NamespaceEvictor;
import io.freshcache.writer.internal.NoticePublisher;
import io.freshcache.writer.internal.ReplicaAcks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * cache-writer's Redis work on a standalone server and through Sentinel (dev/stack's
 * {@code redis-standalone} and {@code sentinel}, started by {@code dev/test}): fenced applies
 * (a newer version applied, an older one refused), replica acknowledgements ({@code WAIT} for the
 * one replica), notices on every channel, and namespace eviction.
 */
class TopologyWriterIT {

  static String env(String name) {
    String v = System.getenv(name);
    assertThat(v).as("%s (exported by `eval \"$(dev/stack env)\"`)", name).isNotBlank();
    return v;
  }

  static RedisTopology connect(Map<String, String> vars) {
    RedisTopology t = new RedisTopology(RedisConnectionConfig.fromEnv(EnvSettings.of(vars)).toBuilder()
        .commandTimeout(ItSupport.PATIENT).build(), null);
    t.connect();
    return t;
  }

  @Test
  void standalone() {
    everything(Map.of("REDIS_MODE", "standalone", "REDIS_NODES", env("FRESHCACHE_REDIS_STANDALONE_NODE")), "standalone");
  }

  @Test
  void sentinel() {
    everything(Map.of("REDIS_MODE", "sentinel", "REDIS_NODES", env("FRESHCACHE_REDIS_SENTINELS"),
        "REDIS_SENTINEL_MASTER", env("FRESHCACHE_REDIS_SENTINEL_MASTER")), "sentinel");
  }

  /**
   * The packaged service pointed at the wrong kind of Redis (standalone mode at a cluster node)
   * exits with status 2 and a one-line message naming the node and what it found, not a stack
   * trace and status 1.
   */
  @Test
  void theServiceExitsWithStatus2NamingTheWrongKindOfRedis() throws Exception {
    String node = ItSupport.BASE.redis().nodes().get(0);
    WorkerProcess p = WorkerProcess.start(ItSupport.BASE.withGroupId("wrong-kind-" + ItSupport.RUN), "wrong-kind",
        Map.of("REDIS_MODE", "standalone", "REDIS_NODES", node));
    assertThat(p.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("exited").isTrue();
    assertThat(p.process.exitValue()).as("exit status; output:%n%s", p.output()).isEqualTo(2);
    assertThat(p.output()).contains("cache-writer: Redis at " + node + " is a cluster server")
        .doesNotContain("\tat io.freshcache");
  }

  static void everything(Map<String, String> vars, String name) {
    try (RedisTopology redis = connect(vars)) {
      assertThat(redis.masters()).as("%s: one master", name).hasSize(1);
      FencedApplier applier = new FencedApplier(redis, ItSupport.PATIENT, Duration.ofHours(1),
          new ReplicaAcks(redis, 1, Duration.ofSeconds(2), ItSupport.PATIENT));
      String entity = name + ItSupport.RUN;
      CacheKey k = CacheKey.of("it", entity, 1);
      assertThat(applier.apply(List.of(CacheEvent.invalidate(k, 5, 0))).applied()).as("%s: v5 applied", name).isEqualTo(1);
      FencedApplier.Result older = applier.apply(List.of(CacheEvent.invalidate(k, 4, 0)));
      assertThat(older.applied()).as("%s: v4 after v5", name).isZero();
      assertThat(older.stale()).as("%s: v4 is stale", name).isEqualTo(1);
      String fence = new String(redis.sync().hget(k.fenceKey().getBytes(StandardCharsets.UTF_8),
          "v".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
      assertThat(fence).as("%s: fence", name).isEqualTo("5");

      byte[] envelope = new Envelope(Codecs.byName("json").id(), 0, 5, System.currentTimeMillis(),
          System.currentTimeMillis() + 600_000, 0, "\"old\"".getBytes(StandardCharsets.UTF_8)).encode();
      List<CacheKey> keys = new ArrayList<>();
      for (int i = 10; i < 60; i++) {
        CacheKey key = CacheKey.of("it", entity, i);
        keys.add(key);
        redis.sync().set(key.valueKey(1).getBytes(StandardCharsets.UTF_8), envelope);
      }
      NamespaceEvictor.Result evicted = new NamespaceEvictor(redis, ItSupport.PATIENT)
          .evict(CacheKey.namespace("it", entity));
      assertThat(evicted.invalidated()).as("%s: evicted", name).isGreaterThanOrEqualTo(keys.size());
      for (CacheKey key : keys) {
        assertThat(redis.sync().exists(key.valueKey(1).getBytes(StandardCharsets.UTF_8))).as("%s: %s", name, key).isZero();
      }
      NoticePublisher.Published p = new NoticePublisher(redis, ItSupport.PATIENT)
          .publishNamespace(CacheKey.namespace("it", entity));
      assertThat(p.notices()).as("%s: a notice on every channel", name).isEqualTo(NoticeChannels.COUNT);
    }
  }
}
