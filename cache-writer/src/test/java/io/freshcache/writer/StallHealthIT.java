package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.ServiceEndpoints;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A stuck worker says so: one shard frozen (its master and its replica stopped with
 * {@code SIGSTOP}, so no failover can help) leaves a fetched event unapplied; {@code /health} and
 * {@code /health/ready} turn DOWN once it has waited longer than the bound, {@code /health/live}
 * stays UP, the oldest-unapplied gauge grows and the lag counts the event. Once the shard is
 * thawed, the event is applied and all of it clears.
 */
class StallHealthIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }

  @Test
  void aWorkerStuckOnAFrozenShardIsReportedDownWithAGrowingUnappliedAgeAndItsLag() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("stall").toBuilder()
        .redisTimeout(CacheWriterConfig.DEFAULT_REDIS_TIMEOUT).maxUnappliedAge(Duration.ofSeconds(2)).build();
    String topic = config.topics().get(0);
    CacheKey k = CacheKey.of("it", "stall", ItSupport.RUN);
    RedisClusterNode master = ReplicaAckIT.masterOf(k);
    RedisClusterNode replica = ReplicaAckIT.replicaOf(master);
    try (CacheWriter w = CacheWriter.start(config);
        ServiceEndpoints http = ServiceEndpoints.start(0, "writer", w::health,
            ((PrometheusMeterRegistry) w.meterRegistry())::scrape)) {
      ItSupport.sendAsync(topic, ItSupport.upsert(k, 1, "v1"));
      ItSupport.producer.flush();
      await().atMost(Duration.ofSeconds(30)).until(() -> "\"v1\"".equals(ItSupport.stored(k)));
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
        assertThat(HttpEndpointsIT.get(http.port(), "/health").statusCode()).isEqualTo(200);
        assertThat(HttpEndpointsIT.get(http.port(), "/health/ready").statusCode()).isEqualTo(200);
        assertThat(HttpEndpointsIT.get(http.port(), "/health/live").statusCode()).isEqualTo(200);
      });
      assertThat(age(w)).isZero();
      ReplicaAckIT.signal("STOP", replica);
      try {
        ReplicaAckIT.signal("STOP", master);
        ItSupport.sendAsync(topic, ItSupport.upsert(k, 2, "v2"));
        ItSupport.producer.flush();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
          HttpResponse<String> h = HttpEndpointsIT.get(http.port(), "/health");
          assertThat(h.statusCode()).isEqualTo(503);
          assertThat(h.body()).contains("\"status\":\"DOWN\"", "\"applying\":\"DOWN\"", "\"worker\":\"UP\"");
          assertThat(HttpEndpointsIT.get(http.port(), "/health/ready").statusCode()).isEqualTo(503);
          assertThat(HttpEndpointsIT.get(http.port(), "/health/live").statusCode()).isEqualTo(200);
        });
        double seen = age(w);
        assertThat(seen).as("oldest unapplied age, s").isGreaterThan(2.0);
        await().atMost(Duration.ofSeconds(30)).until(() -> age(w) > seen + 1);
        assertThat(w.consumerLag()).as("the fetched, unapplied event is lag").isPositive();
        String metrics = ((PrometheusMeterRegistry) w.meterRegistry()).scrape();
        assertThat(metrics).containsPattern("freshcache_writer_oldest_unapplied_age_seconds\\{group=\"" + config.groupId()
            + "\"} [1-9]");
        assertThat(metrics).containsPattern("freshcache_writer_consumer_lag_records\\{group=\"" + config.groupId()
            + "\",partition=\"\\d\",topic=\"" + topic.replace(".", "\\.") + "\"} 1\\.0");
      } finally {
        ReplicaAckIT.signal("CONT", master);
        ReplicaAckIT.signal("CONT", replica);
      }
      await().atMost(Duration.ofSeconds(90)).until(() -> "\"v2\"".equals(ItSupport.stored(k)));
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        assertThat(HttpEndpointsIT.get(http.port(), "/health").statusCode()).isEqualTo(200);
        assertThat(age(w)).isZero();
        assertThat(w.consumerLag()).isZero();
      });
    }
  }

  private static double age(CacheWriter w) {
    return w.meterRegistry().get(WriterMetricNames.OLDEST_UNAPPLIED_AGE).gauge().value();
  }
}
