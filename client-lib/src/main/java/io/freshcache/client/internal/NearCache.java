package io.freshcache.client.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubListener;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The optional in-process tier: decoded values in a bounded Caffeine cache, dropped by the
 * invalidation notices that cache-writer and clients publish on the sharded notice channels.
 *
 * <p>Why it stays coherent:
 * <ul>
 *   <li>Each notice channel carries a sequence number. A notice whose number is not the last
 *       seen plus one means notices were lost: every entry of that channel is dropped. A
 *       reconnect of the pub/sub connection drops everything and takes new baselines.</li>
 *   <li>A read that goes to Redis captures its channel's epoch first (bumped by every notice and
 *       flush of the channel) and stores its result only if the epoch is unchanged afterwards.
 *       Otherwise a notice that arrived between the Redis read and the store would be undone by
 *       the store. The read paths add the rest of the rule: only a master hit or a load whose
 *       fill Redis accepted is stored (a rejected fill is old data by definition, and a replica
 *       can lag behind a notice already handled), and a load in flight is shared only by callers
 *       that captured the same epoch (the flight's key includes it), so no caller stores a load
 *       that started before a notice it has seen.</li>
 *   <li>The client's own invalidation drops the key before and after the Redis apply: a local
 *       read that captured the epoch between the two drops read Redis before the apply, and its
 *       store fails on the second bump.</li>
 *   <li>A namespace notice ({@code *service:entity}, after a truncate) arrives on every channel
 *       and drops every entry of that entity.</li>
 *   <li>Entries live at most the policy's near-cache TTL, which bounds staleness even if the
 *       pub/sub subscription itself is lost without a reconnect event.</li>
 * </ul>
 */
public final class NearCache implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NearCache.class);
  private record Key(CacheKey key, int schema) {}

  private record Entry(Object value, long ttlNanos) {}

  private final Cache<Key, Entry> cache;
  private final AtomicLongArray lastSeq = new AtomicLongArray(NoticeChannels.COUNT);
  private final AtomicLongArray epochs = new AtomicLongArray(NoticeChannels.COUNT);
  private final Runnable onFlush;
  private final Runnable onNoticeSeen;
  private volatile StatefulRedisClusterPubSubConnection<byte[], byte[]> pubSub;
  private volatile boolean subscribed;

  /**
   * @param maxEntries size bound
   * @param onFlush called on every flush (gap or reconnect), for metrics
   * @param onNoticeSeen called for every notice received, after it was handled, for metrics
   */
  public NearCache(long maxEntries, Runnable onFlush, Runnable onNoticeSeen) {
    this.onFlush = onFlush;
    this.onNoticeSeen = onNoticeSeen;
    this.cache = Caffeine.newBuilder()
        .maximumSize(maxEntries)
        .expireAfter(Expiry.<Key, Entry>writing((k, e) -> Duration.ofNanos(e.ttlNanos())))
        .build();
  }

  /**
   * @param key the logical key
   * @param schema the policy's schema version
   * @return the cached value, or {@code null} if absent or not subscribed
   */
  public Object get(CacheKey key, int schema) {
    if (!subscribed) {
      return null;
    }
    Entry e = cache.getIfPresent(new Key(key, schema));
    return e == null ? null : e.value();
  }

  /**
   * The entry held for {@code key}, whether or not notices are being received; for tests that
   * compare every entry with the source of truth.
   *
   * @param key the logical key
   * @param schema the policy's schema version
   * @return the value held, or {@code null}
   */
  public Object peek(CacheKey key, int schema) {
    Entry e = cache.getIfPresent(new Key(key, schema));
    return e == null ? null : e.value();
  }

  /**
   * @param key the logical key
   * @return the epoch of {@code key}'s channel, to pass to {@link #put}
   */
  public long epoch(CacheKey key) {
    return epochs.get(NoticeChannels.indexOf(key));
  }

  /**
   * Stores {@code value} unless a notice or flush touched its channel since {@code epoch}.
   *
   * @param key the logical key
   * @param schema the policy's schema version
   * @param value the decoded value; {@code null} is not stored
   * @param epoch from {@link #epoch(CacheKey)}, taken before the Redis read
   * @param ttl the entry's lifetime
   */
  public void put(CacheKey key, int schema, Object value, long epoch, Duration ttl) {
    if (!subscribed || value == null) {
      return;
    }
    Key k = new Key(key, schema);
    int ch = NoticeChannels.indexOf(key);
    if (epochs.get(ch) != epoch) {
      return;
    }
    cache.put(k, new Entry(value, ttl.toNanos()));
    // a notice may have slipped in between the check and the put
    if (epochs.get(ch) != epoch) {
      cache.invalidate(k);
    }
  }

  /**
   * Drops every schema version of {@code key} (for the client's own invalidations).
   *
   * @param key the logical key
   */
  public void drop(CacheKey key) {
    epochs.incrementAndGet(NoticeChannels.indexOf(key));
    cache.asMap().keySet().removeIf(k -> k.key().equals(key));
  }

  /** @return the number of entries */
  public long size() {
    return cache.estimatedSize();
  }

  /** @return whether notices are being received (the near cache serves only then) */
  public boolean subscribed() {
    return subscribed;
  }

  /**
   * Subscribes to every notice channel on the cluster of {@code link}; called on each
   * (re)connection. Until it succeeds the near cache serves nothing.
   *
   * @param link the client's Redis link
   */
  public synchronized void subscribe(RedisLink link) {
    if (pubSub != null) {
      return;
    }
    try {
      StatefulRedisClusterPubSubConnection<byte[], byte[]> c = link.client().connectPubSub(ByteArrayCodec.INSTANCE);
      c.addListener(new RedisClusterPubSubListener<byte[], byte[]>() {
        @Override
        public void message(RedisClusterNode node, byte[] channel, byte[] message) {}

        @Override
        public void message(RedisClusterNode node, byte[] pattern, byte[] channel, byte[] message) {}

        @Override
        public void subscribed(RedisClusterNode node, byte[] channel, long count) {}

        @Override
        public void psubscribed(RedisClusterNode node, byte[] pattern, long count) {}

        @Override
        public void unsubscribed(RedisClusterNode node, byte[] channel, long count) {}

        @Override
        public void punsubscribed(RedisClusterNode node, byte[] pattern, long count) {}

        @Override
        public void smessage(RedisClusterNode node, byte[] channel, byte[] message) {
          onNotice(new String(channel, StandardCharsets.UTF_8), message);
        }
      });
      c.addListener(new RedisConnectionStateListener() {
        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
          // Lettuce re-subscribes a node's sharded channels in one SSUBSCRIBE, which fails with
          // CROSSSLOT when they span slots: subscribe again one by one, off the I/O thread
          subscribed = false;
          flushAll();
          Thread t = new Thread(() -> resubscribe(link), "freshcache-near-resubscribe");
          t.setDaemon(true);
          t.start();
        }

        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
          flushAll();
        }
      });
      // one SSUBSCRIBE per channel: the channels live in different slots
      for (int i = 0; i < NoticeChannels.COUNT; i++) {
        c.sync().ssubscribe(NoticeChannels.channel(i).getBytes(StandardCharsets.UTF_8));
      }
      pubSub = c;
      rebaseline(link);
    } catch (RedisException | RedisLink.Unavailable e) {
      log.warn("near cache off until the next reconnect: cannot subscribe to notices: {}", e.toString());
      flushAll();
    }
  }

  private void resubscribe(RedisLink link) {
    StatefulRedisClusterPubSubConnection<byte[], byte[]> c = pubSub;
    if (c == null) {
      return;
    }
    for (int attempt = 0; attempt < 50; attempt++) {
      try {
        for (int i = 0; i < NoticeChannels.COUNT; i++) {
          c.sync().ssubscribe(NoticeChannels.channel(i).getBytes(StandardCharsets.UTF_8));
        }
        rebaseline(link);
        return;
      } catch (RuntimeException e) {
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    log.warn("near cache stays off: re-subscribing to notices failed after a reconnect");
  }

  private void rebaseline(RedisLink link) {
    subscribed = false;
    flushAll();
    try {
      for (int i = 0; i < NoticeChannels.COUNT; i++) {
        byte[] v = link.connectionOrThrow().sync().get(NoticeChannels.sequenceKey(i).getBytes(StandardCharsets.UTF_8));
        lastSeq.set(i, v == null ? 0 : Long.parseLong(new String(v, StandardCharsets.UTF_8)));
      }
      subscribed = true;
    } catch (RuntimeException e) {
      // stay unsubscribed: the near cache is bypassed until the next reconnect succeeds
    }
  }

  void onNotice(String channel, byte[] message) {
    int ch = NoticeChannels.parseChannel(channel);
    if (ch < 0) {
      return;
    }
    try {
      handleNotice(ch, message);
    } finally {
      onNoticeSeen.run();
    }
  }

  private void handleNotice(int ch, byte[] message) {
    epochs.incrementAndGet(ch);
    NoticeChannels.Notice n;
    try {
      n = NoticeChannels.parse(message);
    } catch (IllegalArgumentException e) {
      flushChannel(ch);
      return;
    }
    long last = lastSeq.get(ch);
    if (n.sequence() > last + 1) {
      flushChannel(ch);
    } else {
      for (String k : n.keys()) {
        try {
          CacheKey key = CacheKey.parse(k);
          cache.asMap().keySet().removeIf(e -> e.key().equals(key));
        } catch (IllegalArgumentException e) {
          flushChannel(ch);
        }
      }
      for (String namespace : n.namespaces()) {
        dropNamespace(namespace);
      }
    }
    lastSeq.accumulateAndGet(ch, n.sequence(), Math::max);
  }

  /**
   * Drops every entry of a namespace {@code service:entity} (a truncate). The notice comes on
   * every channel, and each bumps its own channel's epoch before this runs, so a read of any key
   * of the namespace that raced the eviction does not store its result.
   */
  private void dropNamespace(String namespace) {
    cache.asMap().keySet().removeIf(k -> k.key().namespaceName().equals(namespace));
  }

  private void flushChannel(int ch) {
    epochs.incrementAndGet(ch);
    cache.asMap().keySet().removeIf(k -> NoticeChannels.indexOf(k.key()) == ch);
    onFlush.run();
  }

  /** Drops every entry. */
  public void flushAll() {
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      epochs.incrementAndGet(i);
    }
    cache.invalidateAll();
    onFlush.run();
  }

  @Override
  public void close() {
    subscribed = false;
    StatefulRedisClusterPubSubConnection<byte[], byte[]> c = pubSub;
    if (c != null) {
      c.close();
    }
    cache.invalidateAll();
  }
}
