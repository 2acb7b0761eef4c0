package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.search.RequiredSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

class ClientMetersTest {

  private static double gets(SimpleMeterRegistry r, String cache, String result) {
    FunctionCounter c = RequiredSearch.in(r).name("cache.gets").tag("cache", cache)
        .tag("result", result).functionCounter();
    return c.count();
  }

  @Test
  void standardCacheGetsCountHitsOfBothTiersAndMissesWithFallbacks() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ClientMeters meters = new ClientMeters(registry);
    ClientMeters.Entity catalog = meters.entity("catalog");
    ClientMeters.Entity profiles = meters.entity("profiles");

    catalog.nearHits.increment();
    catalog.redisHits.increment(2);
    catalog.nearMisses.increment(3); // a near miss goes on to Redis: not a miss of the cache yet
    catalog.redisMisses.increment(4);
    catalog.fallbacks.increment(5);
    profiles.redisHits.increment(7);

    assertThat(gets(registry, "catalog", "hit")).isEqualTo(3);
    assertThat(gets(registry, "catalog", "miss")).isEqualTo(9);
    assertThat(gets(registry, "profiles", "hit")).isEqualTo(7);
    assertThat(gets(registry, "profiles", "miss")).isZero();
  }

  @Test
  void prometheusShowsCacheGetsTotalBesideFreshcacheOwnMeters() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ClientMeters meters = new ClientMeters(registry);
    meters.entity("catalog").redisHits.increment();
    meters.entity("catalog").redisMisses.increment();

    String scrape = registry.scrape();
    assertThat(scrape)
        .contains("cache_gets_total{cache=\"catalog\",result=\"hit\"} 1.0")
        .contains("cache_gets_total{cache=\"catalog\",result=\"miss\"} 1.0")
        .contains("cache_hit_total{entity=\"catalog\",tier=\"redis\"} 1.0")
        .contains("cache_miss_total{entity=\"catalog\",tier=\"redis\"} 1.0");
  }
}
