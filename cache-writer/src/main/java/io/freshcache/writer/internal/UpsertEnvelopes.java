package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;

/**
 * Wraps an upsert event's payload in the value envelope that readers decode: the event's codec,
 * its version as the data version, written now, soft expiry at now + TTL.
 */
final class UpsertEnvelopes {
  private UpsertEnvelopes() {}

  static byte[] envelope(CacheEvent e) {
    long now = System.currentTimeMillis();
    byte codec = Codecs.byName(e.codec()).id();
    return new Envelope(codec, 0, e.version(), now, now + e.ttlMs(), 0, e.payload()).encode();
  }
}
