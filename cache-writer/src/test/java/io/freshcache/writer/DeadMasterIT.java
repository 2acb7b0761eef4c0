package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A Redis master is killed ({@code kill -9}) and stays down after its replica was promoted: the
 * failed node is still listed in the topology (flags {@code master,fail}, no slots) and must not
 * stall the writer. Events for keys of every shard are applied while it is down, whether the
 * worker was started after the kill (it never had a connection to the dead node) or was running
 * before it, and so is a namespace invalidation (it scans every master). The node is restarted ({@code dev/stack up redis}) at the end of each test.
 */
class DeadMasterIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void aWorkerStartedAfterAMasterDiedAppliesEveryShardWhileTheDeadNodeStaysDown() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("deadmaster-after").toBuilder()
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).build(); // the failure path as shipped
    String topic = config.topics().get(0);
    int dead = killAMasterAndAwaitPromotion();
    try {
      List<CacheKey> keys = keysOnEveryShard("after");
      try (CacheWriter w = CacheWriter.start(config)) {
        for (CacheKey k : keys) {
          ItSupport.sendAsync(topic, ItSupport.upsert(k, 1, "v1"));
        }
        ItSupport.producer.flush();
        awaitStored(keys, "v1");
        // a truncate scans every master: the dead one, still listed, must not stall it either
        ItSupport.sendAsync(topic, CacheEvent.invalidateNamespace("it", "deadmaster", 1, null,
            System.currentTimeMillis()));
        ItSupport.producer.flush();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
          for (CacheKey k : keys) {
            assertThat(ItSupport.stored(k)).as("%s after the namespace invalidation", k).isNull();
          }
        });
        // and is complete: its offset is committed (an eviction that fails on the dead node has
        // done the live ones already, but is retried for ever)
        ItSupport.awaitDrained(config.groupId(), topic, Duration.ofSeconds(90));
        assertThat(deadNodeStillListedAsFailedMaster(dead)).as("the dead node stayed down and listed").isTrue();
        assertThat(w.isRunning()).isTrue();
      }
    } finally {
      ItSupport.devStack("up", "redis");
    }
  }

  @Test
  void aWorkerRunningBeforeAMasterDiedAppliesEveryShardWhileTheDeadNodeStaysDown() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("deadmaster-before").toBuilder()
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).build();
    String topic = config.topics().get(0);
    List<CacheKey> keys = keysOnEveryShard("before");
    try (CacheWriter w = CacheWriter.start(config)) {
      for (CacheKey k : keys) {
        ItSupport.sendAsync(topic, ItSupport.upsert(k, 1, "v1"));
      }
      ItSupport.producer.flush();
      awaitStored(keys, "v1"); // every master's connection is open
      int dead = killAMasterAndAwaitPromotion();
      try {
        for (CacheKey k : keys) {
          ItSupport.sendAsync(topic, ItSupport.upsert(k, 2, "v2"));
        }
        ItSupport.producer.flush();
        awaitStored(keys, "v2");
        assertThat(deadNodeStillListedAsFailedMaster(dead)).as("the dead node stayed down and listed").isTrue();
        assertThat(w.isRunning()).isTrue();
      } finally {
        ItSupport.devStack("up", "redis");
      }
    }
  }

  /** Keys spread so that every master serving slots now (after any promotion) owns some. */
  static List<CacheKey> keysOnEveryShard(String tag) {
    ItSupport.redis.refreshPartitions();
    Map<String, Integer> perMaster = new HashMap<>();
    List<CacheKey> keys = new ArrayList<>();
    for (int i = 0; keys.size() < 30 || perMaster.size() < 3; i++) {
      CacheKey k = CacheKey.of("it", "deadmaster", tag + "-" + ItSupport.RUN + "-" + i);
      keys.add(k);
      perMaster.merge(masterOf(k).getNodeId(), 1, Integer::sum);
      assertThat(i).as("keys on 3 masters").isLessThan(10_000);
    }
    return keys;
  }

  static void awaitStored(List<CacheKey> keys, String payload) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      for (CacheKey k : keys) {
        assertThat(ItSupport.stored(k)).as("%s on %s", k, masterOf(k).getUri()).isEqualTo("\"" + payload + "\"");
      }
    });
  }

  /**
   * Kills the master that serves slot 0 and waits until its replica serves those slots and the
   * dead node is listed as a failed master without slots, as a worker started now would see it.
   *
   * @return the port of the killed node
   */
  static int killAMasterAndAwaitPromotion() throws Exception {
    ItSupport.redis.refreshPartitions();
    int port = ItSupport.conn.getPartitions().getMasterBySlot(0).getUri().getPort();
    ItSupport.devStack("kill", "redis:" + port);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
      ItSupport.redis.refreshPartitions();
      RedisClusterNode m = ItSupport.conn.getPartitions().getMasterBySlot(0);
      return m != null && m.getUri().getPort() != port && deadNodeStillListedAsFailedMaster(port);
    });
    return port;
  }

  static boolean deadNodeStillListedAsFailedMaster(int port) {
    ItSupport.redis.refreshPartitions();
    for (RedisClusterNode n : ItSupport.conn.getPartitions()) {
      if (n.getUri().getPort() == port) {
        return n.is(RedisClusterNode.NodeFlag.UPSTREAM) && n.is(RedisClusterNode.NodeFlag.FAIL) && n.hasNoSlots();
      }
    }
    return false;
  }

  static RedisClusterNode masterOf(CacheKey k) {
    int slot = SlotHash.getSlot(k.fenceKey().getBytes(StandardCharsets.UTF_8));
    return ItSupport.conn.getPartitions().getMasterBySlot(slot);
  }
}
