package io.freshcache.bench.client;

import io.freshcache.client.Loader;
import io.freshcache.protocol.Codec;
import io.freshcache.protocol.Codecs;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The stampede baselines on a raw Lettuce connection: the seed's lock algorithm ported as it was,
 * and no protection at all. Values are stored as plain JSON, as the seed stored them.
 */
final class Contenders {
  /** The seed's lock time. */
  static final long LOCK_MS = 5_000;
  /** The seed's fixed sleep before a loser retries. */
  static final long RETRY_SLEEP_MS = 100;
  static final long TTL_SECONDS = 300;

  private static final Codec JSON = Codecs.json();

  private Contenders() {}

  /**
   * The seed: {@code GET}; on a miss {@code SET lock NX PX}; the winner loads, {@code SETEX}s the
   * value and {@code DEL}s the lock; losers sleep 100 ms and start over with {@code GET}. The lock
   * key is a separate key ({@code lock:<key>}, another slot), and the winner does not re-check
   * the value after winning — both as in the seed.
   */
  static Stampede.Contender naiveLock(RedisAdvancedClusterCommands<byte[], byte[]> redis) {
    return new Stampede.Contender() {
      @Override
      public String name() {
        return "(b) seed: SET NX PX lock, sleep 100 ms";
      }

      @Override
      public BenchProduct read(String key, Loader<BenchProduct> loader) throws Exception {
        byte[] k = bytes(key);
        byte[] lock = bytes("lock:" + key);
        while (true) {
          byte[] v = redis.get(k);
          if (v != null) {
            return JSON.decode(v, BenchProduct.class);
          }
          byte[] token = bytes(UUID.randomUUID().toString());
          if ("OK".equals(redis.set(lock, token, SetArgs.Builder.nx().px(LOCK_MS)))) {
            BenchProduct loaded = loader.load();
            redis.set(k, JSON.encode(loaded), SetArgs.Builder.ex(TTL_SECONDS)); // SETEX
            redis.del(lock);
            return loaded;
          }
          Thread.sleep(RETRY_SLEEP_MS);
        }
      }
    };
  }

  /** No protection: {@code GET}; on a miss load and {@code SET}. */
  static Stampede.Contender unprotected(RedisAdvancedClusterCommands<byte[], byte[]> redis) {
    return new Stampede.Contender() {
      @Override
      public String name() {
        return "(c) no protection";
      }

      @Override
      public BenchProduct read(String key, Loader<BenchProduct> loader) throws Exception {
        byte[] k = bytes(key);
        byte[] v = redis.get(k);
        if (v != null) {
          return JSON.decode(v, BenchProduct.class);
        }
        BenchProduct loaded = loader.load();
        redis.set(k, JSON.encode(loaded), SetArgs.Builder.ex(TTL_SECONDS)); // SETEX
        return loaded;
      }
    };
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
