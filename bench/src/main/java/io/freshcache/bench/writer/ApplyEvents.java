package io.freshcache.bench.writer;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The benchmark's events, made on demand from their index so that a million of them need no
 * memory: event {@code i} is an upsert of key {@code i % keys} at version {@code i / keys + 1},
 * so every key's versions rise in index order and every event is applied (none is stale).
 *
 * @param prefix the entity part of the keys; a fresh one per phase keeps phases apart in Redis
 * @param keys how many distinct keys
 * @param payloadBytes size of each upsert's JSON payload
 * @param ttlMs the values' Redis TTL
 */
record ApplyEvents(String prefix, int keys, int payloadBytes, long ttlMs) {

  CacheEvent event(long i) {
    CacheKey k = CacheKey.of("bench", prefix, Long.toString(i % keys));
    return new CacheEvent(CacheEvent.Op.UPSERT, k, i / keys + 1, ttlMs, 1, "json", payload(i),
        null, System.currentTimeMillis());
  }

  private byte[] payload(long i) {
    byte[] b = new byte[Math.max(2, payloadBytes)];
    Arrays.fill(b, (byte) ('a' + (int) (i % 26)));
    b[0] = '"';
    b[b.length - 1] = '"';
    return b;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
