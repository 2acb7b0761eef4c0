package io.freshcache.spring.boot.autoconfigure;

import io.freshcache.client.CacheClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;

/**
 * {@code /actuator/freshcache} (expose it with {@code management.endpoints.web.exposure.include})
 * and the {@code freshcache} section of {@code /actuator/info}: the breakers' states per Redis
 * master, the near cache's size, the notice gaps found (lost invalidation notices, each of which
 * dropped a channel's near entries) and the client's counters.
 */
@Endpoint(id = "freshcache")
public class FreshcacheEndpoint implements InfoContributor {
  private final CacheClient client;

  /** @param client the client */
  public FreshcacheEndpoint(CacheClient client) {
    this.client = client;
  }

  /** @return the client's state */
  @ReadOperation
  public Map<String, Object> state() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("circuit", client.circuitState().name());
    Map<String, String> breakers = new LinkedHashMap<>();
    client.circuitStates().forEach((node, st) -> breakers.put(node, st.name()));
    m.put("breakers", breakers);
    CacheClient.Stats s = client.stats();
    m.put("nearCacheSize", s.nearSize());
    m.put("noticeGaps", noticeGaps(client.meters()));
    Map<String, Long> counters = new LinkedHashMap<>();
    counters.put("hits", s.hits());
    counters.put("misses", s.misses());
    counters.put("nearHits", s.nearHits());
    counters.put("loaderCalls", s.loaderCalls());
    counters.put("fallbacks", s.fallbacks());
    counters.put("loadShed", s.loadShed());
    counters.put("leaseBusy", s.leaseBusy());
    counters.put("fillsRejected", s.fillsRejected());
    m.put("counters", counters);
    return m;
  }

  @Override
  public void contribute(Info.Builder builder) {
    builder.withDetail("freshcache", state());
  }

  /** @return lost-notice detections so far ({@code cache.near.notices.lost}, every reason) */
  static long noticeGaps(MeterRegistry registry) {
    double sum = 0;
    for (Counter c : registry.find("cache.near.notices.lost").counters()) {
      sum += c.count();
    }
    return (long) sum;
  }
}
