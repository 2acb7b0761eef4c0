package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CdcHealthTest {
  @Test
  void upIsAJsonObjectWithoutAProblem() {
    assertThat(new CdcHealth(true, "running", true, 368, 12, 4.5, null).json())
        .isEqualTo("{\"status\":\"UP\",\"engine\":\"running\",\"slotActive\":true,\"slotLagBytes\":368,"
            + "\"eventsProduced\":12,\"lastCommitToProduceMs\":4.5}");
  }

  @Test
  void downNamesTheProblemEscaped() {
    assertThat(new CdcHealth(false, "failed", false, -1, 0, -1, "stopped: \"x\"\n").json())
        .startsWith("{\"status\":\"DOWN\",\"engine\":\"failed\"")
        .endsWith(",\"problem\":\"stopped: \\\"x\\\"\\u000a\"}");
  }

  @Test
  void liveWhileTheEngineRunsEvenIfTheSlotIsBrieflyInactive() {
    CdcHealth reconnecting = new CdcHealth(false, "running", false, -1, 3, 1.0, "slot not active");
    assertThat(reconnecting.live()).isTrue();
    assertThat(reconnecting.ready()).isFalse();
    assertThat(new CdcHealth(false, "starting", false, -1, 0, -1, "starting").live()).isTrue();
    assertThat(new CdcHealth(false, "failed", false, -1, 0, -1, "boom").live()).isFalse();
    assertThat(new CdcHealth(false, "stopped", false, -1, 0, -1, "engine stopped").live()).isFalse();
  }
}
