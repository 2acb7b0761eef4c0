package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.writer.internal.NamespaceEvictor;
import io.freshcache.writer.internal.NoticePublisher;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Regression and stress: the pipelined writes of the namespace evictor and the notice publisher
 * on a connection whose node connections are not open yet. Lettuce dispatches a command for a
 * node whose connection is still being opened once it is open; if that happens between the
 * caller's flush and its switch back to automatic flushing, the command stays in the node
 * connection's buffer and its answer never comes: an eviction failed in CI with "EVALSHA.
 * Command timed out" (NamespaceRaceIT). The window is narrow, so this test cannot make it happen
 * on demand; it runs the first pipelined write of many new cluster connections (the slot-routed
 * node connections of a cluster connection are opened only by such writes; a cluster SCAN
 * opens others), and {@code Pipelining} now opens every master's connection before it writes.
 */
class FreshConnectionPipelineIT {
  private static final int ROUNDS = 20;

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aFreshConnectionsFirstEvictionReachesEveryMaster() {
    byte[] envelope = new Envelope(Codecs.byName("json").id(), 0, 5, System.currentTimeMillis(),
        System.currentTimeMillis() + 600_000, 0, utf8("\"v\"")).encode();
    for (int round = 0; round < ROUNDS; round++) {
      String entity = "fresh" + round + ItSupport.RUN;
      List<CacheKey> keys = new ArrayList<>();
      for (int i = 0; i < 600; i++) { // spread over every slot range, so over every master
        CacheKey k = CacheKey.of("it", entity, i);
        keys.add(k);
        ItSupport.conn.sync().set(utf8(k.valueKey(1)), envelope);
      }
      try (io.freshcache.redis.RedisTopology fresh = ItSupport.topology()) {
        NamespaceEvictor.Result r = new NamespaceEvictor(fresh, ItSupport.PATIENT)
            .evict(CacheKey.namespace("it", entity));
        assertThat(r.invalidated()).as("round %d", round).isGreaterThanOrEqualTo(keys.size());
      }
      for (CacheKey k : keys) {
        assertThat(ItSupport.conn.sync().exists(utf8(k.valueKey(1)))).as("round %d: %s", round, k).isZero();
      }
    }
  }

  @Test
  void aFreshConnectionsFirstNoticesReachEveryMaster() {
    for (int round = 0; round < ROUNDS; round++) {
      String entity = "freshn" + round + ItSupport.RUN;
      try (io.freshcache.redis.RedisTopology fresh = ItSupport.topology()) {
        NoticePublisher.Published p = new NoticePublisher(fresh, ItSupport.PATIENT)
            .publishNamespace(CacheKey.namespace("it", entity));
        assertThat(p.notices()).as("round %d", round).isEqualTo(NoticeChannels.COUNT);
      }
    }
  }
}
