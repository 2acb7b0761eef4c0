package io.freshcache.writer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplicaAcksTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void roleAnswersAreReadAsTheReplicasAMasterLists() {
    assertThat(ReplicaAcks.replicasListed(List.of(b("master"), 3129659L,
        List.of(List.of(b("127.0.0.1"), b("7104"), b("3129242")), List.of(b("127.0.0.1"), b("7105"), b("3129543"))))))
        .isEqualTo(2);
    assertThat(ReplicaAcks.replicasListed(List.of(b("master"), 0L, List.of()))).isZero();
    assertThat(ReplicaAcks.replicasListed(List.of("master", 0L))).as("no list").isZero();
    assertThat(ReplicaAcks.replicasListed(List.of(b("slave"), b("127.0.0.1"), 7101L, b("connected"), 3167038L)))
        .as("not a master").isEqualTo(-1);
    assertThat(ReplicaAcks.replicasListed(List.of())).isEqualTo(-1);
  }
}
