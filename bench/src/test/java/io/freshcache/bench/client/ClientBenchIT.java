package io.freshcache.bench.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the client-lib benchmark harness alive: its smoke run against the real stack must produce
 * a figure for every benchmark and a report. No timing, and no other measured value, is asserted.
 */
class ClientBenchIT {

  @Test
  void theSmokeRunMeasuresEveryBenchmarkAndWritesTheReport(@TempDir Path dir) throws Exception {
    // a smoke run needs no exclusive machine: do not fail because another JMH run holds the lock
    System.setProperty("jmh.ignoreLock", "true");
    ClientBench.Options o = ClientBench.Options.smoke(dir.resolve("client-smoke.md"));
    ClientBench.Results r = ClientBench.run(o);

    assertThat(r.hits()).extracting(HitLatency.Row::name)
        .containsExactlyInAnyOrder(HitLatency.CLIENT, HitLatency.RAW, HitLatency.RAW_DECODE);
    assertThat(r.hits()).allSatisfy(h -> {
      assertThat(h.count()).isPositive();
      assertThat(h.p50()).isPositive();
      assertThat(h.p99()).isGreaterThanOrEqualTo(h.p50());
    });

    assertThat(r.async()).extracting(AsyncThroughput.Row::name)
        .containsExactlyElementsOf(AsyncThroughput.names());
    assertThat(r.async()).allSatisfy(a -> assertThat(a.opsPerSecond()).isPositive());

    assertThat(r.near()).containsKeys("nearHit", "redisHit", "parseKey", "nearHit loaderCalls");
    assertThat(List.of(r.near().get("nearHit"), r.near().get("redisHit"), r.near().get("parseKey")))
        .allSatisfy(v -> assertThat(v).isNotEmpty().allSatisfy(x -> assertThat(x).isPositive()));

    assertThat(r.stampede()).extracting(Stampede.Round::contender).contains(ClientReport.CLIENT_ONE,
        ClientReport.CLIENT_FOUR);
    assertThat(r.stampede()).hasSize(4).allSatisfy(s -> {
      assertThat(s.loaderCalls()).isPositive();
      assertThat(s.p99()).isPositive();
    });

    assertThat(r.codecs()).containsKeys("encode[json]", "decode[json]", "encode[cbor]", "decode[cbor]",
        "encode[smile]", "decode[smile]", "encode[msgpack]", "decode[msgpack]");
    assertThat(r.sizes().payloadBytes()).containsOnlyKeys("json", "cbor", "smile", "msgpack")
        .allSatisfy((k, v) -> assertThat(v).isPositive());

    String report = ClientReport.render(o, r);
    ClientBench.write(o.out(), report);
    assertThat(Files.readString(o.out())).contains("## Summary", "## 1. Hit latency", "## 2. Async",
        "## 3. Near-cache", "## 4. Stampede", "## 5. Codecs", "nproc", "load average");
  }
}
