package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.protocol.config.EnvSettings;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreshnessHeartbeatTest {
  @Test
  void oneRowPerNoticeChannel() {
    int[] ids = FreshnessHeartbeat.rowIds();
    assertThat(ids).hasSize(NoticeChannels.COUNT);
    Set<Integer> channels = new HashSet<>();
    for (int i = 0; i < ids.length; i++) {
      int ch = NoticeChannels.indexOf(CacheKey.parse("freshcache:heartbeat:" + ids[i]));
      assertThat(ch).isEqualTo(i);
      channels.add(ch);
    }
    assertThat(channels).hasSize(NoticeChannels.COUNT);
  }

  @Test
  void settingsHaveDefaultsAndNameBadValues() {
    FreshnessHeartbeat.Settings d = FreshnessHeartbeat.Settings.fromEnv(EnvSettings.of(Map.of()));
    assertThat(d.interval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(d.table()).isEqualTo("public.freshcache_heartbeat");
    assertThat(FreshnessHeartbeat.Settings.fromEnv(EnvSettings.of(Map.of("CDC_HEARTBEAT_INTERVAL_MS", "0"))).enabled())
        .isFalse();
    assertThatThrownBy(() -> FreshnessHeartbeat.Settings.fromEnv(EnvSettings.of(Map.of("CDC_HEARTBEAT_INTERVAL_MS", "50"))))
        .hasMessageContaining("CDC_HEARTBEAT_INTERVAL_MS").hasMessageContaining("50");
    assertThatThrownBy(() -> FreshnessHeartbeat.Settings.fromEnv(EnvSettings.of(Map.of("CDC_HEARTBEAT_TABLE", "no table"))))
        .hasMessageContaining("CDC_HEARTBEAT_TABLE").hasMessageContaining("no table");
  }

  @Test
  void theRuleUpsertsVersionedByTheBeat() {
    TableRule r = FreshnessHeartbeat.rule("public.freshcache_heartbeat");
    assertThat(r.operation()).isEqualTo(TableRule.Operation.UPSERT);
    assertThat(r.versionColumn()).isEqualTo("beat_ms");
  }
}
