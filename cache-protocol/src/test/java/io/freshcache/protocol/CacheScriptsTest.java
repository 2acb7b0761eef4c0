package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CacheScriptsTest {
  @Test
  void scriptsLoadWithTheirDigests() {
    for (CacheScripts.Script s : new CacheScripts.Script[] {CacheScripts.GET_OR_LEASE,
        CacheScripts.FILL, CacheScripts.APPLY, CacheScripts.RELEASE, CacheScripts.NOTIFY,
        CacheScripts.EVICT}) {
      assertThat(s.source()).contains("redis.call");
      assertThat(s.sha1()).matches("[0-9a-f]{40}");
    }
  }

  @Test
  void applyReadsTheVersionWhereTheEnvelopePutsIt() {
    // apply.lua unpacks the data version with struct.unpack('>i8', value, 4): 1-based offset 4 is
    // byte 3, right after format version, codec id and flags
    byte[] e = new Envelope((byte) 1, 0, 0x0102030405060708L, 0, 0, 0, new byte[0]).encode();
    assertThat(e[3]).isEqualTo((byte) 1);
    assertThat(e[10]).isEqualTo((byte) 8);
    assertThat(CacheScripts.APPLY.source()).contains("struct.unpack('>i8', cur, 4)");
  }
}
