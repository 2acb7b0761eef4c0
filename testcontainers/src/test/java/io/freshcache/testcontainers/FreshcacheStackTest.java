package io.freshcache.testcontainers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FreshcacheStackTest {
  @Test
  void builderNamesTheBadSetting() {
    assertThatThrownBy(() -> FreshcacheStack.builder().services("public.products"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'public.products'");
    assertThatThrownBy(() -> FreshcacheStack.builder().redisImage(" "))
        .hasMessageContaining("redisImage");
    assertThatThrownBy(() -> FreshcacheStack.builder().startupTimeout(Duration.ZERO))
        .hasMessageContaining("PT0S");
    assertThatThrownBy(() -> FreshcacheStack.builder().initSql(""))
        .hasMessageContaining("initSql");
  }

  @Test
  void freePortsAreDistinctAndLeaveRoomForTheClusterBus() {
    FreePorts ports = new FreePorts();
    var redis = ports.redis(6);
    int other = ports.next();
    assertThat(redis).doesNotHaveDuplicates().allMatch(p -> p >= 20000 && p <= 29999);
    assertThat(redis).doesNotContain(other);
  }

  @Test
  void aStackNotStartedHasNoServicePorts() {
    FreshcacheStack stack = FreshcacheStack.builder().build();
    assertThat(stack.cdcIngestHttpPort()).isZero();
    assertThat(stack.redisNodes()).hasSize(6).allMatch(n -> n.startsWith("127.0.0.1:"));
    stack.close(); // nothing started: nothing to stop
  }
}
