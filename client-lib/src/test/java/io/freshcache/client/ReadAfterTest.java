package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReadAfterTest {
  @Test
  void anLsnIsItsHighAndLowWords() {
    assertThat(ReadAfter.lsn("0/16B3748").version()).isEqualTo(0x16B3748L);
    assertThat(ReadAfter.lsn("1/0").version()).isEqualTo(1L << 32);
    assertThat(ReadAfter.lsn("7FFFFFFF/FFFFFFFF").version()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void badTokensAreNamed() {
    assertThatThrownBy(() -> ReadAfter.lsn("16B3748")).hasMessageContaining("'16B3748'");
    assertThatThrownBy(() -> ReadAfter.lsn("1/2/3")).hasMessageContaining("'1/2/3'");
    assertThatThrownBy(() -> ReadAfter.version(-1)).hasMessageContaining("-1");
  }
}
