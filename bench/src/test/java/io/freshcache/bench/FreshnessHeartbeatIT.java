package io.freshcache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.cdc.CdcIngest;
import io.freshcache.cdc.CdcIngestConfig;
import io.freshcache.cdc.FreshnessHeartbeat;
import io.freshcache.client.CacheClient;
import io.freshcache.client.CacheClientConfig;
import io.freshcache.client.CachePolicy;
import io.freshcache.writer.CacheWriter;
import io.freshcache.writer.CacheWriterConfig;
import io.freshcache.writer.WriterMetricNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Always-on freshness on real parts, with no application writes at all: cdc-ingest's heartbeat
 * rows flow PostgreSQL → cdc-ingest → Kafka → cache-writer → Redis → notices; the writer's
 * {@code freshcache.heartbeat.apply.lag} and the client's {@code freshcache.heartbeat.notice.lag}
 * get samples; a client with a silence budget serves its near cache while the heartbeat runs
 * (every channel hears it) and refuses near hits (fail closed to Redis) once it stops.
 */
class FreshnessHeartbeatIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final String TABLE = "public.fhb_" + RUN;
  static final String SLOT = "fhb_" + RUN;

  @Test
  void theHeartbeatIsMeasuredEndToEndAndKeepsEveryNoticeChannelAlive() throws Exception {
    CdcIngestConfig base = CdcIngestConfig.fromEnv().toBuilder().connectorName("fhb-" + RUN).slotName(SLOT)
        .publicationName(SLOT).httpPort(0).rules(List.of(FreshnessHeartbeat.rule(TABLE))).build();
    FreshnessHeartbeat.prepare(base, TABLE);
    CdcIngest cdc = null;
    CacheWriter writer = null;
    CacheClient client = null;
    FreshnessHeartbeat beat = null;
    try {
      cdc = CdcIngest.start(base);
      assertThat(cdc.awaitStreaming(Duration.ofSeconds(60))).as("cdc-ingest streaming").isTrue();
      CacheWriterConfig wc = CacheWriterConfig.fromEnv().toBuilder().httpPort(0).sink(null).build().withGroupId("fhb-" + RUN);
      EndToEndSupport.startGroupAtTheEnd(wc);
      SimpleMeterRegistry writerMeters = new SimpleMeterRegistry();
      writer = CacheWriter.start(wc, writerMeters);
      client = CacheClient.create(CacheClientConfig.fromEnv().toBuilder().commandTimeout(Duration.ofSeconds(5))
          .slowCallThreshold(Duration.ofSeconds(5)).nearCacheSilenceBudget(Duration.ofMillis(1500)).build());
      CacheClient c = client;
      await().atMost(EndToEndSupport.PATIENCE).until(() -> c.meters().get("cache.near.subscribed").gauge().value() == 1);
      beat = FreshnessHeartbeat.start(base, new FreshnessHeartbeat.Settings(Duration.ofMillis(300), TABLE),
          new SimpleMeterRegistry());

      await("heartbeats applied and noticed").atMost(EndToEndSupport.PATIENCE).untilAsserted(() -> {
        assertThat(writerMeters.get(WriterMetricNames.HEARTBEAT_APPLY_LAG).timer().count()).isGreaterThanOrEqualTo(16 * 5);
        assertThat(c.meters().get("freshcache.heartbeat.notice.lag").timer().count()).isGreaterThanOrEqualTo(16 * 5);
      });
      assertThat(c.meters().get("freshcache.heartbeat.notice.lag").timer().max(java.util.concurrent.TimeUnit.SECONDS))
          .as("commit → notice of a heartbeat").isLessThan(10);

      // near hits are served for longer than the budget while only the heartbeat speaks
      CachePolicy near = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true).nearCacheTtl(Duration.ofMinutes(10)).build();
      String key = "e2e:fhb" + RUN + ":1";
      assertThat(client.getOrLoad(key, String.class, near, () -> "v")).isEqualTo("v");
      long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      while (System.nanoTime() < until) {
        assertThat(client.getOrLoad(key, String.class, near, () -> "v")).isEqualTo("v");
        Thread.sleep(100);
      }
      assertThat(client.meters().get("cache.near.silent.refusals").counter().count()).isZero();
      assertThat(client.stats().nearHits()).isGreaterThan(20);

      // the heartbeat stops: the silent channel's hits are refused after the budget
      beat.close();
      beat = null;
      await("near hits refused after the silence budget").atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(c.getOrLoad(key, String.class, near, () -> "v")).isEqualTo("v");
        assertThat(c.meters().get("cache.near.silent.refusals").counter().count()).isGreaterThan(0);
      });
    } finally {
      if (beat != null) {
        beat.close();
      }
      EndToEndIT.stopPath(SLOT, client, writer, cdc);
      EndToEndIT.sql("DROP TABLE IF EXISTS " + TABLE);
    }
  }
}
