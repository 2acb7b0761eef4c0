package io.freshcache.client.internal;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The client's end of the freshness heartbeat: when a notice names a heartbeat key
 * ({@code freshcache:heartbeat:<n>}), the row's value in Redis carries the heartbeat's time as its
 * data version (cdc-ingest versions the heartbeat rows by their {@code beat_ms} column, set by the
 * heartbeat's UPDATE in the same transaction as its commit); the time from it to the notice's
 * arrival is recorded in {@value ClientMeters#HEARTBEAT_NOTICE_LAG}. The read of the value runs
 * on a thread of its own, one at a time (a backlog of at most 64 is kept; more are dropped), so
 * the notice thread never waits; the arrival time is taken on the notice thread.
 */
public final class HeartbeatProbe implements java.util.function.BiConsumer<String, Long>, AutoCloseable {
  private final RedisLink link;
  private final Timer lag;
  private final ExecutorService reader = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
      new LinkedBlockingQueue<>(64), r -> {
        Thread t = new Thread(r, "freshcache-heartbeat-probe");
        t.setDaemon(true);
        return t;
      }, new ThreadPoolExecutor.DiscardPolicy());

  /**
   * @param link where the heartbeat values are read
   * @param registry where the lag timer is registered
   */
  public HeartbeatProbe(RedisLink link, MeterRegistry registry) {
    this.link = link;
    this.lag = Timer.builder(ClientMeters.HEARTBEAT_NOTICE_LAG)
        .description("freshness heartbeat: its database commit to its notice received by this client")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60)).register(registry);
  }

  @Override
  public void accept(String key, Long arrivedNanos) {
    long arrivedMs = System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - arrivedNanos);
    try {
      reader.execute(() -> record(key, arrivedMs));
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private void record(String key, long arrivedMs) {
    try {
      CacheKey k = CacheKey.parse(key);
      byte[] v = link.commandsOrThrow().get(k.valueKey(1).getBytes(StandardCharsets.UTF_8));
      if (v == null) {
        return; // expired or not an upsert rule: nothing to learn the beat's time from
      }
      long beatMs = Envelope.decode(v).dataVersion();
      if (beatMs > 0 && beatMs <= arrivedMs) {
        lag.record(arrivedMs - beatMs, TimeUnit.MILLISECONDS);
      }
    } catch (RuntimeException e) {
      // a measurement only: Redis unavailable or an unexpected value is not an error of the client
    }
  }

  @Override
  public void close() {
    reader.shutdownNow();
  }
}
