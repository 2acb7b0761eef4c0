package io.freshcache.bench.writer;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The baseline: a bare Lettuce cluster client sending the writer's {@code apply} script with
 * {@code EVALSHA}, pipelined in batches of the writer's size, with the same keys and arguments
 * the writer sends (envelope built per event, as the writer does). No Kafka, no JSON, no
 * notices, no commits: what is left is the Redis cost the writer cannot avoid.
 */
final class RawApplier implements AutoCloseable {
  private final RedisClusterClient client;
  private final StatefulRedisClusterConnection<byte[], byte[]> connection;
  private final RedisAdvancedClusterAsyncCommands<byte[], byte[]> async;
  private final byte[] fenceTtlMs;

  RawApplier(List<String> nodes, Duration fenceTtl) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String n : nodes) {
      int colon = n.lastIndexOf(':');
      seeds.add(RedisURI.create(n.substring(0, colon), Integer.parseInt(n.substring(colon + 1))));
    }
    client = RedisClusterClient.create(seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(Duration.ofSeconds(1)).enableAllAdaptiveRefreshTriggers().build())
        .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(5))).build());
    connection = client.connect(ByteArrayCodec.INSTANCE);
    async = connection.async();
    fenceTtlMs = ApplyEvents.utf8(Long.toString(fenceTtl.toMillis()));
    connection.sync().scriptLoad(ApplyEvents.utf8(CacheScripts.APPLY.source()));
  }

  /**
   * Applies events {@code 0..count-1} in batches of {@code batch}.
   *
   * @param batchLatencyMicros records each batch's round trip
   * @return events applied (not stale)
   */
  long run(ApplyEvents events, long count, int batch, Histogram batchLatencyMicros) throws Exception {
    long applied = 0;
    List<RedisFuture<Long>> futures = new ArrayList<>(batch);
    for (long from = 0; from < count; from += batch) {
      long to = Math.min(count, from + batch);
      long t0 = System.nanoTime();
      futures.clear();
      connection.setAutoFlushCommands(false);
      try {
        for (long i = from; i < to; i++) {
          futures.add(send(events.event(i)));
        }
      } finally {
        connection.flushCommands();
        connection.setAutoFlushCommands(true);
      }
      for (RedisFuture<Long> f : futures) {
        if (f.get(10, TimeUnit.SECONDS) == CacheScripts.APPLY_APPLIED) {
          applied++;
        }
      }
      batchLatencyMicros.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
    }
    return applied;
  }

  private RedisFuture<Long> send(CacheEvent e) {
    CacheKey k = e.key();
    long now = System.currentTimeMillis();
    byte[] envelope = new Envelope(Codecs.byName(e.codec()).id(), 0, e.version(), now, now + e.ttlMs(), 0,
        e.payload()).encode();
    byte[][] keys = {ApplyEvents.utf8(k.fenceKey()), ApplyEvents.utf8(k.leaseKey()),
        ApplyEvents.utf8(k.valueKey(e.schema()))};
    byte[][] args = {ApplyEvents.utf8(CacheScripts.opArg(e.op())), ApplyEvents.utf8(Long.toString(e.version())),
        envelope, ApplyEvents.utf8(Long.toString(e.ttlMs())), ApplyEvents.utf8(CacheScripts.schemaField(e.schema())),
        fenceTtlMs, ApplyEvents.utf8(k.valueKeyPrefix())};
    return async.evalsha(CacheScripts.APPLY.sha1(), ScriptOutputType.INTEGER, keys, args);
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
