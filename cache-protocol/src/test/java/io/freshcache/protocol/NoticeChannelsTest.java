package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class NoticeChannelsTest {
  @Test
  void channelAndSequenceKeyShareTheHashTag() {
    assertThat(NoticeChannels.channel(3)).isEqualTo("freshcache:notices:{n3}");
    assertThat(NoticeChannels.sequenceKey(3)).isEqualTo("freshcache:notices:{n3}:seq");
    assertThat(NoticeChannels.parseChannel("freshcache:notices:{n3}")).isEqualTo(3);
    assertThat(NoticeChannels.parseChannel("other")).isEqualTo(-1);
    assertThatThrownBy(() -> NoticeChannels.channel(NoticeChannels.COUNT)).hasMessageContaining("but was 16");
  }

  @Test
  void keysSpreadOverAllChannelsStably() {
    int[] seen = new int[NoticeChannels.COUNT];
    for (int i = 0; i < 1000; i++) {
      seen[NoticeChannels.indexOf(CacheKey.of("catalog", "product", i))]++;
    }
    for (int n : seen) {
      assertThat(n).isPositive();
    }
    // String.hashCode is specified, so every JVM maps a key to the same channel
    assertThat(NoticeChannels.indexOf(CacheKey.parse("catalog:product:42")))
        .isEqualTo(Math.floorMod("catalog:product:42".hashCode(), 16));
  }

  @Test
  void messageRoundTrips() {
    byte[] body = NoticeChannels.body(List.of(CacheKey.parse("a:b:1"), CacheKey.parse("a:b:2")));
    byte[] message = ("17\n" + new String(body, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
    NoticeChannels.Notice n = NoticeChannels.parse(message);
    assertThat(n.sequence()).isEqualTo(17);
    assertThat(n.keys()).containsExactly("a:b:1", "a:b:2");
    assertThatThrownBy(() -> NoticeChannels.parse("x\na:b:1".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aStarLineNamesAWholeNamespaceAndIsNotAKey() {
    byte[] ns = NoticeChannels.namespaceBody(CacheKey.namespace("catalog", "product"));
    assertThat(new String(ns, StandardCharsets.UTF_8)).isEqualTo("*catalog:product");
    NoticeChannels.Notice n = NoticeChannels.parse(
        ("3\na:b:1\n*catalog:product").getBytes(StandardCharsets.UTF_8));
    assertThat(n.keys()).containsExactly("a:b:1");
    assertThat(n.namespaces()).containsExactly("catalog:product");
  }
}
