package io.freshcache.ops.checker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.ops.KeySnapshot;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckerConfigTest {
  @Test
  void defaults() {
    CheckerConfig c = CheckerConfig.fromEnv(Map.of());
    assertThat(c.topics()).containsExactly("freshcache.changes", "freshcache.writes");
    assertThat(c.delay()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.windows()).containsExactly(Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(10));
    assertThat(c.windowLabels()).containsExactly("10s", "1m", "5m", "10m");
    assertThat(c.groupId()).isEqualTo("freshcache-checker");
    assertThat(c.httpPort()).isEqualTo(8083);
  }

  @Test
  void durationsInEveryForm() {
    CheckerConfig c = CheckerConfig.fromEnv(Map.of("CHECKER_DELAY", "1500", "CHECKER_WINDOWS", "2s, PT3S,250000ms,1h"));
    assertThat(c.delay()).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.windowLabels()).containsExactly("1500ms", "2s", "3s", "250s", "1h");
  }

  @Test
  void badSettingsNameTheVariableAndTheValue() {
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_DELAY", "soon")))
        .hasMessageContaining("CHECKER_DELAY").hasMessageContaining("'soon'");
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_WINDOWS", "5m,1m")))
        .hasMessageContaining("CHECKER_WINDOWS must increase");
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_WINDOWS", "5s")))
        .hasMessageContaining("longer than CHECKER_DELAY");
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_SAMPLE_RATE", "0")))
        .hasMessage("CHECKER_SAMPLE_RATE must be in (0, 1] but was 0.0");
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_CONFIRM_RATE", "x")))
        .hasMessageContaining("CHECKER_CONFIRM_RATE must be a number but was 'x'");
    assertThatThrownBy(() -> CheckerConfig.fromEnv(Map.of("CHECKER_HTTP_PORT", "70000")))
        .hasMessageContaining("CHECKER_HTTP_PORT");
  }

  @Test
  void aKeyIsInconsistentOnlyWhileAValueIsOlderThanTheEvent() {
    CacheKey key = CacheKey.parse("catalog:product:1");
    CacheEvent event = new CacheEvent(CacheEvent.Op.INVALIDATE, key, 10, 0, 1, null, null,
        new CacheEvent.Source("c", "db", "public.products", 1, 1, 5_000), 5_010);
    assertThat(ConsistencyChecker.inconsistency(event, snap(key))).as("absent").isNull();
    assertThat(ConsistencyChecker.inconsistency(event, snap(key, value(10, 1_000)))).as("same version").isNull();
    assertThat(ConsistencyChecker.inconsistency(event, snap(key, value(11, 1_000)))).as("newer").isNull();
    assertThat(ConsistencyChecker.inconsistency(event, snap(key, value(9, 9_000))))
        .isEqualTo("v1 holds version 9 < event version 10");
    assertThat(ConsistencyChecker.inconsistency(event, snap(key, value(Envelope.NO_VERSION, 6_000))))
        .as("unversioned, written after the commit").isNull();
    assertThat(ConsistencyChecker.inconsistency(event, snap(key, value(Envelope.NO_VERSION, 4_000))))
        .as("unversioned, written before the commit").contains("unversioned value written at");
  }

  private static KeySnapshot.Value value(long version, long writtenAt) {
    return new KeySnapshot.Value(1, new Envelope((byte) 1, 0, version, writtenAt, writtenAt, 0, new byte[0]).encode(), 1000);
  }

  private static KeySnapshot snap(CacheKey key, KeySnapshot.Value... values) {
    return new KeySnapshot(key, Map.of(), -2, null, -2, List.of(values));
  }
}
