package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.ServiceEndpoints;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** {@code /health} and {@code /metrics} of a worker on the real stack. */
class HttpEndpointsIT {

  @AfterAll
  static void deleteTopics() {
    ItSupport.deleteTopics();
  }
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  static HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthIsUpAndMetricsShowAppliedEventsLatenciesAndLag() throws Exception {
    CacheWriterConfig config = ItSupport.freshTopics("http");
    String topic = config.topics().get(0);
    long commitTs = System.currentTimeMillis() - 1500;
    for (int i = 0; i < 50; i++) {
      CacheKey k = CacheKey.of("it", "http", ItSupport.RUN + "-" + i);
      ItSupport.sendAsync(topic, new CacheEvent(CacheEvent.Op.INVALIDATE, k, 10 + i, 0, 1, null, null,
          new CacheEvent.Source("pg-it", "shop", "public.t", 10 + i, 1, commitTs), System.currentTimeMillis()));
    }
    ItSupport.send(topic, "garbage", "not json".getBytes(StandardCharsets.UTF_8));
    try (CacheWriter w = CacheWriter.start(config);
        ServiceEndpoints endpoints = ServiceEndpoints.start(0, "writer", w::health, ((PrometheusMeterRegistry) w.meterRegistry())::scrape)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> w.applied() == 50 && w.deadLettered() == 1);
      await().atMost(Duration.ofSeconds(5)).until(() -> w.lastCommitToApplyMs() >= 1500);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        HttpResponse<String> h = get(endpoints.port(), "/health");
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).contains("\"status\":\"UP\"", "\"kafka\":\"UP\"", "\"redis\":\"UP\"");
      });
      HttpResponse<String> m = get(endpoints.port(), "/metrics");
      assertThat(m.statusCode()).isEqualTo(200);
      String group = "group=\"" + config.groupId() + "\"";
      assertThat(m.body())
          .contains("freshcache_writer_events_applied_total{" + group + "} 50.0")
          .contains("freshcache_writer_events_dead_lettered_total{" + group + "} 1.0")
          .contains("freshcache_writer_events_stale_total{" + group + "} 0.0")
          .contains("freshcache_writer_batch_retries_total{" + group + "} 0.0")
          .contains("freshcache_writer_batch_apply_seconds_bucket{")
          .contains("freshcache_writer_commit_to_apply_lag_seconds_bucket{")
          .contains("freshcache_writer_commit_to_apply_lag_seconds_count{" + group + "} 50")
          .contains("freshcache_writer_notices_published_total{")
          .containsPattern("freshcache_writer_consumer_lag_records\\{" + group + ",partition=\"0\",topic=\"" + topic.replace(".", "\\.") + "\"} 0\\.0");
      assertThat(get(endpoints.port(), "/metrics").headers().firstValue("Content-Type")).hasValueSatisfying(
          t -> assertThat(t).startsWith("text/plain"));
    }
  }

  @Test
  void healthIs503WhenKafkaCannotBeReached() throws Exception {
    CacheWriterConfig config = ItSupport.BASE.toBuilder().kafkaBootstrapServers("127.0.0.1:" + ItSupport.freePort())
        .groupId("it-http-down-" + ItSupport.RUN).build();
    try (CacheWriter w = CacheWriter.start(config);
        ServiceEndpoints endpoints = ServiceEndpoints.start(0, "writer", w::health, ((PrometheusMeterRegistry) w.meterRegistry())::scrape)) {
      // the first probe opens a Redis connection, which a loaded machine may take a while for:
      // ask until the answer has every part (Kafka reported UP never passes)
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
        HttpResponse<String> h = get(endpoints.port(), "/health");
        assertThat(h.statusCode()).isEqualTo(503);
        assertThat(h.body()).contains("\"status\":\"DOWN\"", "\"kafka\":\"DOWN\"", "\"redis\":\"UP\"");
      });
    }
  }
}
