package io.freshcache.writer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class NamespaceEvictorTest {

  private static List<byte[]> keys(String... physical) {
    return Stream.of(physical).map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
  }

  @Test
  void valueLeaseAndFenceKeysBecomeTargetsAndStrangersDoNot() {
    CacheKey a = CacheKey.parse("catalog:product:1");
    CacheKey b = CacheKey.parse("catalog:product:2:x");
    List<NamespaceEvictor.Target> t = NamespaceEvictor.targets(keys(
        a.valueKey(1), a.valueKey(3), a.leaseKey(), a.fenceKey(), b.leaseKey(),
        "{catalog:product:3}:vx", "{catalog:product:3}:v0", "{catalog:product:4}:other", "plain",
        CacheKey.parse("catalog:product:5").fenceKey()));
    assertThat(t).containsExactly(new NamespaceEvictor.Target(a, 1), new NamespaceEvictor.Target(a, 3),
        new NamespaceEvictor.Target(b, 1), new NamespaceEvictor.Target(CacheKey.parse("catalog:product:5"), 1));
  }
}
