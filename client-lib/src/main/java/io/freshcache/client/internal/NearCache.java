package io.freshcache.client.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

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
 *   <li>A notice channel can go silent without any error: Lettuce does not move a sharded
 *       subscription to the new owner of the channel's slot after a failover (lettuce #2940,
 *       #3213), and the gap rule above needs a later notice to fire. And the counter itself can
 *       go backward when the promoted replica lacked its last increments, which hides later
 *       gaps. So a watchdog reads the 16 counters from their masters every check period (and at
 *       once, and again a second later, after each topology change, since Lettuce can announce
 *       the change before its partitions show it, lettuce #2860). A counter that is ahead of the
 *       last notice handled at one check and whose notice still has not come at the next one,
 *       or that is behind the last notice handled, means lost notices: the channel's entries are
 *       dropped, the channel is subscribed again (which routes to the slot's current owner) and
 *       the counter becomes its baseline. A counter that cannot be read (its node is down)
 *       drops the channel's entries and keeps the channel out of the near cache (reads go to
 *       Redis, nothing is stored) until a check reads it again, subscribes again and takes a new
 *       baseline.</li>
 *   <li>Entries live at most the policy's near-cache TTL, which bounds staleness even with the
 *       watchdog off.</li>
 * </ul>
 *
 * <p>Each entry remembers the data version and written-at time of the envelope it came from and
 * when it was stored, so that {@link NearCacheSampler} can compare sampled entries with Redis.
 */
public final class NearCache implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NearCache.class);
  private record Key(CacheKey key, int schema) {}

  /** Sampler states of an entry: free to be sampled, being re-checked, found stale for good. */
  static final int FREE = 0;
  static final int PENDING = 1;
  static final int CONFIRMED = 2;

  /**
   * One near entry: the value, the type it was read as, its lifetime, and what the sampler needs:
   * the data version and written-at time of the envelope it was decoded from (or loaded and
   * filled with), when it was stored, and whether the sampler is following it. Compared by
   * identity: a re-read of the same key is another entry.
   */
  static final class Entry {
    final Object value;
    final java.lang.reflect.Type type;
    final long ttlNanos;
    final long dataVersion;
    final long writtenAtMs;
    final long storedAtNanos;
    final java.util.concurrent.atomic.AtomicInteger sampleState = new java.util.concurrent.atomic.AtomicInteger(FREE);

    Entry(Object value, java.lang.reflect.Type type, long ttlNanos, long dataVersion, long writtenAtMs) {
      this.value = value;
      this.type = type;
      this.ttlNanos = ttlNanos;
      this.dataVersion = dataVersion;
      this.writtenAtMs = writtenAtMs;
      this.storedAtNanos = System.nanoTime();
    }
  }

  /**
   * A near entry picked by {@link #sample}, for {@link NearCacheSampler}.
   *
   * @param key the logical key
   * @param schema the schema version of the value key the entry came from
   * @param entry the entry itself (identity: {@code holds} asks whether it is still the one held)
   */
  record Sample(CacheKey key, int schema, Entry entry) {
    long dataVersion() {
      return entry.dataVersion;
    }

    long writtenAtMs() {
      return entry.writtenAtMs;
    }

    long ageNanos() {
      return System.nanoTime() - entry.storedAtNanos;
    }

    int channel() {
      return NoticeChannels.indexOf(key);
    }
  }

  private final Cache<Key, Entry> cache;
  private final AtomicLongArray lastSeq = new AtomicLongArray(NoticeChannels.COUNT);
  private final AtomicLongArray epochs = new AtomicLongArray(NoticeChannels.COUNT);
  private final Runnable onFlush;
  private final Runnable onNoticeSeen;
  private final Consumer<String> onLost;
  /** 1 while a channel's counter could not be read: the channel is kept out of the near cache. */
  private final AtomicIntegerArray down = new AtomicIntegerArray(NoticeChannels.COUNT);
  /** A counter value seen ahead of the last notice handled at the last check, or 0. */
  private final AtomicLongArray aheadAt = new AtomicLongArray(NoticeChannels.COUNT);
  private final Duration checkPeriod;
  private final Duration checkTimeout;
  /** System.nanoTime() of each channel's last notice, or of the subscription that started it. */
  private final AtomicLongArray heardAt = new AtomicLongArray(NoticeChannels.COUNT);
  private volatile long silenceBudgetNanos;
  private volatile Runnable onSilentRefusal = () -> { };
  private volatile java.util.function.BiConsumer<String, Long> onHeartbeatNotice = (k, t) -> { };
  private final ScheduledExecutorService watchdog;
  private volatile StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
  private volatile RedisLink link;
  private volatile boolean subscribed;
  private volatile boolean closed;

  /**
   * A near cache without the notice watchdog (a lost subscription is bounded by the entries' TTL
   * only).
   *
   * @param maxEntries size bound
   * @param onFlush called on every flush (gap or reconnect), for metrics
   * @param onNoticeSeen called for every notice received, after it was handled, for metrics
   */
  public NearCache(long maxEntries, Runnable onFlush, Runnable onNoticeSeen) {
    this(maxEntries, onFlush, onNoticeSeen, reason -> { }, Duration.ZERO, Duration.ofSeconds(1));
  }

  /**
   * @param maxEntries size bound
   * @param onFlush called on every flush (gap or reconnect), for metrics
   * @param onNoticeSeen called for every notice received, after it was handled, for metrics
   * @param onLost called with the reason ({@code gap}, {@code backward}) each time the watchdog
   *     finds that notices of a channel were lost, for metrics
   * @param checkPeriod the watchdog's period; {@link Duration#ZERO} for no watchdog
   * @param checkTimeout how long one check waits for the counters (the command timeout)
   */
  public NearCache(long maxEntries, Runnable onFlush, Runnable onNoticeSeen, Consumer<String> onLost,
      Duration checkPeriod, Duration checkTimeout) {
    this.onFlush = onFlush;
    this.onNoticeSeen = onNoticeSeen;
    this.onLost = onLost;
    this.checkPeriod = checkPeriod;
    this.checkTimeout = checkTimeout;
    this.cache = Caffeine.newBuilder()
        .maximumSize(maxEntries)
        .expireAfter(Expiry.<Key, Entry>writing((k, e) -> Duration.ofNanos(e.ttlNanos)))
        .build();
    this.watchdog = checkPeriod.isZero() ? null : Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freshcache-near-watchdog");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Whether a hit of {@code key} may be served now: notices subscribed, its channel not down,
   * and (with a silence budget) its channel heard from within the budget; a refusal for silence
   * is counted.
   */
  private boolean servable(CacheKey key) {
    int ch = NoticeChannels.indexOf(key);
    if (!subscribed || down.get(ch) != 0) {
      return false;
    }
    long budget = silenceBudgetNanos;
    if (budget > 0 && System.nanoTime() - heardAt.get(ch) > budget) {
      onSilentRefusal.run(); // fail closed: the caller reads Redis
      return false;
    }
    return true;
  }

  /**
   * @param key the logical key
   * @param schema the policy's schema version
   * @param type the type the caller reads the key as
   * @return the cached value if it was stored by a read of exactly {@code type}, else
   *     {@code null} (also if absent or not subscribed)
   */
  public Object get(CacheKey key, int schema, java.lang.reflect.Type type) {
    if (!servable(key)) {
      return null;
    }
    Entry e = cache.getIfPresent(new Key(key, schema));
    return e == null || !e.type.equals(type) ? null : e.value;
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
    return e == null ? null : e.value;
  }

  /**
   * The data version of the entry held for {@code key}, for tests.
   *
   * @param key the logical key
   * @param schema the policy's schema version
   * @return the version of the envelope the entry came from ({@link
   *     io.freshcache.protocol.Envelope#NO_VERSION} if it had none), or {@code null} if no entry
   */
  public Long peekVersion(CacheKey key, int schema) {
    Entry e = cache.getIfPresent(new Key(key, schema));
    return e == null ? null : e.dataVersion;
  }

  /**
   * Up to {@code n} entries picked uniformly at random (one pass over the cache, reservoir
   * sampling) among those a read would be served now (see {@code servable}) and that the sampler
   * is not already following; each picked entry is marked as followed until {@link #release}.
   *
   * @param n how many, at most
   * @return the picked entries
   */
  List<Sample> sample(int n) {
    List<Sample> picked = new ArrayList<>(n);
    if (n <= 0 || !subscribed) {
      return picked;
    }
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    long seen = 0;
    for (java.util.Map.Entry<Key, Entry> e : cache.asMap().entrySet()) {
      Entry entry = e.getValue();
      if (entry.sampleState.get() != FREE || !servableQuietly(e.getKey().key())) {
        continue;
      }
      seen++;
      Sample s = new Sample(e.getKey().key(), e.getKey().schema(), entry);
      if (picked.size() < n) {
        picked.add(s);
      } else {
        long r = random.nextLong(seen);
        if (r < n) {
          picked.set((int) r, s);
        }
      }
    }
    picked.removeIf(s -> !s.entry().sampleState.compareAndSet(FREE, PENDING));
    return picked;
  }

  /**
   * @param s a sampled entry
   * @return whether this cache still holds that very entry for its key and would serve it now
   *     (notices subscribed, its channel not down and not silent beyond the budget)
   */
  boolean holds(Sample s) {
    return cache.getIfPresent(new Key(s.key(), s.schema())) == s.entry() && servableQuietly(s.key());
  }

  /**
   * Ends the sampler's following of an entry.
   *
   * @param s the entry
   * @param confirmed whether it was confirmed stale (then it is never sampled again)
   */
  void release(Sample s, boolean confirmed) {
    s.entry().sampleState.set(confirmed ? CONFIRMED : FREE);
  }

  /** Serves and stores without a Redis subscription: for unit tests only. */
  void subscribedForTests() {
    subscribed = true;
  }

  /** As {@code servable} without counting a refusal. */
  private boolean servableQuietly(CacheKey key) {
    int ch = NoticeChannels.indexOf(key);
    if (!subscribed || down.get(ch) != 0) {
      return false;
    }
    long budget = silenceBudgetNanos;
    return budget <= 0 || System.nanoTime() - heardAt.get(ch) <= budget;
  }

  /**
   * @param channel a notice channel index
   * @return the sequence number of the last notice handled on it (or its baseline)
   */
  long lastSequence(int channel) {
    return lastSeq.get(channel);
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
    put(key, schema, value == null ? Object.class : value.getClass(), value, epoch, ttl);
  }

  /**
   * As {@link #put(CacheKey, int, java.lang.reflect.Type, Object, long, long, long, Duration)}
   * for a value whose envelope is not known ({@link io.freshcache.protocol.Envelope#NO_VERSION}:
   * the sampler skips it).
   *
   * @param key the logical key
   * @param schema the policy's schema version
   * @param type the type {@code value} was decoded or loaded as
   * @param value the decoded value; {@code null} is not stored
   * @param epoch from {@link #epoch(CacheKey)}, taken before the Redis read
   * @param ttl the entry's lifetime
   */
  public void put(CacheKey key, int schema, java.lang.reflect.Type type, Object value, long epoch, Duration ttl) {
    put(key, schema, type, value, io.freshcache.protocol.Envelope.NO_VERSION, 0, epoch, ttl);
  }

  /**
   * Stores {@code value}, read as {@code type}, unless a notice or flush touched its channel
   * since {@code epoch}; only reads of the same type get it (see {@link #get(CacheKey, int,
   * java.lang.reflect.Type)}).
   *
   * @param key the logical key
   * @param schema the policy's schema version
   * @param type the type {@code value} was decoded or loaded as
   * @param value the decoded value; {@code null} is not stored
   * @param dataVersion the data version of the envelope {@code value} was decoded from or filled
   *     with, or {@link io.freshcache.protocol.Envelope#NO_VERSION}
   * @param writtenAtMs that envelope's written-at time, epoch ms
   * @param epoch from {@link #epoch(CacheKey)}, taken before the Redis read
   * @param ttl the entry's lifetime
   */
  public void put(CacheKey key, int schema, java.lang.reflect.Type type, Object value, long dataVersion,
      long writtenAtMs, long epoch, Duration ttl) {
    if (!subscribed || value == null) {
      return;
    }
    Key k = new Key(key, schema);
    int ch = NoticeChannels.indexOf(key);
    if (epochs.get(ch) != epoch || down.get(ch) != 0) {
      return;
    }
    cache.put(k, new Entry(value, type, ttl.toNanos(), dataVersion, writtenAtMs));
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

  /**
   * Refuses hits of a channel that has been silent (no notice, heartbeat or other) for longer
   * than {@code budget}, so that a lost or stalled notice stream fails closed to Redis instead of
   * serving entries whose invalidations may be missing. Meant for deployments whose cdc-ingest
   * writes the freshness heartbeat (a notice on every channel each heartbeat period), with a
   * budget a few periods long. A new subscription counts as hearing every channel.
   *
   * @param budget the longest silence a hit is served after; {@link Duration#ZERO} = off
   * @param onRefusal called for every refused hit, for metrics
   */
  public void refuseHitsAfterSilence(Duration budget, Runnable onRefusal) {
    long now = System.nanoTime();
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      heardAt.compareAndSet(i, 0, now);
    }
    this.onSilentRefusal = onRefusal;
    this.silenceBudgetNanos = budget.toNanos();
  }

  /**
   * @param listener called on the notice thread with each heartbeat key a notice names and the
   *     notice's arrival ({@link System#nanoTime()}); must not block
   */
  public void onHeartbeatNotice(java.util.function.BiConsumer<String, Long> listener) {
    this.onHeartbeatNotice = listener;
  }

  /**
   * @param key a logical key
   * @return nanoseconds since {@code key}'s notice channel last heard a notice (or was
   *     subscribed)
   */
  public long silentNanos(CacheKey key) {
    return System.nanoTime() - heardAt.get(NoticeChannels.indexOf(key));
  }

  /** @return the number of entries */
  public long size() {
    return cache.estimatedSize();
  }

  /** @return whether notices are being received (the near cache serves only then) */
  public boolean subscribed() {
    return subscribed;
  }

  /** @return the channels kept out of the near cache now because their counter could not be read */
  public int channelsDown() {
    int n = 0;
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      n += down.get(i);
    }
    return n;
  }

  /**
   * Subscribes to every notice channel on the cluster of {@code link}; called on each
   * (re)connection. Until it succeeds the near cache serves nothing.
   *
   * @param link the client's Redis link
   */
  public synchronized void subscribe(RedisLink link) {
    if (this.link == null && watchdog != null && !closed) {
      this.link = link;
      watchdog.scheduleWithFixedDelay(this::checkSafely, checkPeriod.toMillis(), checkPeriod.toMillis(),
          TimeUnit.MILLISECONDS);
      link.onTopologyChange(this::topologyChanged);
    }
    if (pubSub != null || closed) {
      return;
    }
    try {
      StatefulRedisPubSubConnection<byte[], byte[]> c = link.topology().connectShardedPubSub(
          (channel, message) -> onNotice(new String(channel, StandardCharsets.UTF_8), message));
      c.addListener(new RedisConnectionStateListener() {
        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
          // Lettuce re-subscribes a node's sharded channels in one SSUBSCRIBE, which fails with
          // CROSSSLOT when they span slots: subscribe again one by one, off the I/O thread
          log.info("near cache: notice connection to {} (re)connected; subscribing to every channel again", address);
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
      log.warn("near cache off until {}: cannot subscribe to notices: {}",
          watchdog != null ? "a watchdog check subscribes" : "the next reconnect", e.toString());
      flushAll();
    }
  }

  private void resubscribe(RedisLink link) {
    StatefulRedisPubSubConnection<byte[], byte[]> c = pubSub;
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
        byte[] v = link.commandsOrThrow().get(NoticeChannels.sequenceKey(i).getBytes(StandardCharsets.UTF_8));
        lastSeq.set(i, v == null ? 0 : Long.parseLong(new String(v, StandardCharsets.UTF_8)));
      }
      long now = System.nanoTime();
      for (int i = 0; i < NoticeChannels.COUNT; i++) {
        aheadAt.set(i, 0);
        down.set(i, 0);
        heardAt.set(i, now); // everything was flushed: the silence budget starts again
      }
      subscribed = true;
    } catch (RuntimeException e) {
      if (watchdog != null) {
        // a node is down: keep every channel out until a check reads its counter and takes it
        // back one by one, so the healthy shards' channels are not off for the whole outage
        for (int i = 0; i < NoticeChannels.COUNT; i++) {
          down.set(i, 1);
        }
        flushAll();
        subscribed = true;
      }
      // without the watchdog: stay unsubscribed, the near cache is bypassed until the next
      // reconnect succeeds
    }
  }

  private void topologyChanged() {
    ScheduledExecutorService w = watchdog;
    if (w == null || closed) {
      return;
    }
    try {
      w.execute(() -> {
        resubscribeAllChannels();
        checkSafely();
      });
      // Lettuce may publish the event before its partitions show the change (lettuce #2860)
      w.schedule(() -> {
        resubscribeAllChannels();
        checkSafely();
      }, 1, TimeUnit.SECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed
    }
  }

  /** After a topology change: each channel subscribed again on its slot's current owner. */
  private void resubscribeAllChannels() {
    if (pubSub == null || closed) {
      return;
    }
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      if (down.get(i) == 0 && !ssubscribe(i)) {
        // not known to be subscribed: out of the near cache until a check takes it back
        markDown(i);
      }
    }
  }

  private boolean ssubscribe(int ch) {
    StatefulRedisPubSubConnection<byte[], byte[]> c = pubSub;
    if (c == null) {
      return false;
    }
    try {
      c.sync().ssubscribe(NoticeChannels.channel(ch).getBytes(StandardCharsets.UTF_8));
      return true;
    } catch (RuntimeException e) {
      log.debug("near cache: SSUBSCRIBE {} failed: {}", NoticeChannels.channel(ch), e.toString());
      return false;
    }
  }

  private void checkSafely() {
    try {
      check();
    } catch (RuntimeException e) {
      log.warn("near-cache notice check failed: {}", e.toString());
    }
  }

  /**
   * One watchdog check: reads every channel's counter from its master (in one batch, each routed
   * to its slot) and compares it with the last notice this cache handled. Package-private for
   * tests; runs on the watchdog thread.
   */
  synchronized void check() {
    RedisLink l = link;
    if (l == null || closed) {
      return;
    }
    if (pubSub == null) {
      subscribe(l);
      return;
    }
    if (!subscribed) {
      return; // a reconnect's re-subscription is in progress and takes its own baselines
    }
    RedisClusterAsyncCommands<byte[], byte[]> c;
    try {
      c = l.asyncCommandsOrThrow();
    } catch (RedisLink.Unavailable e) {
      for (int i = 0; i < NoticeChannels.COUNT; i++) {
        markDown(i);
      }
      return;
    }
    long[] before = new long[NoticeChannels.COUNT];
    List<RedisFuture<byte[]>> reads = new ArrayList<>(NoticeChannels.COUNT);
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      before[i] = lastSeq.get(i);
      reads.add(c.get(NoticeChannels.sequenceKey(i).getBytes(StandardCharsets.UTF_8)));
    }
    long deadline = System.nanoTime() + checkTimeout.toNanos();
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      Long redis = read(reads.get(i), deadline);
      if (redis == null) {
        markDown(i);
        continue;
      }
      if (down.get(i) != 0) {
        restore(i, c);
        continue;
      }
      if (redis < before[i]) {
        // the counter went backward (a failover lost increments): later notices would reuse
        // numbers already seen and hide their gaps
        lost(i, "backward", c);
        continue;
      }
      long seen = lastSeq.get(i);
      long pending = aheadAt.get(i);
      if (redis > seen) {
        if (pending > 0 && seen < pending) {
          lost(i, "gap", c); // the notice seen pending at the last check never came
        } else if (pending == 0 || seen >= pending) {
          aheadAt.set(i, redis); // possibly in flight: judged at the next check
        }
      } else {
        aheadAt.set(i, 0);
      }
    }
  }

  private static Long read(RedisFuture<byte[]> f, long deadline) {
    try {
      byte[] v = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return v == null ? 0L : Long.parseLong(new String(v, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      return null;
    }
  }

  private void markDown(int ch) {
    if (down.getAndSet(ch, 1) == 0) {
      log.warn("near cache: notice channel {} unreadable; its keys bypass the near cache until it is back",
          NoticeChannels.channel(ch));
    }
    flushChannel(ch);
  }

  private void lost(int ch, String reason, RedisClusterAsyncCommands<byte[], byte[]> c) {
    log.warn("near cache: notices of channel {} were lost ({}); dropping its entries and subscribing again",
        NoticeChannels.channel(ch), reason);
    onLost.accept(reason);
    down.set(ch, 1);
    flushChannel(ch);
    restore(ch, c);
  }

  /**
   * Subscribes channel {@code ch} again, on its slot's current owner, and takes its counter as
   * the new baseline; the channel stays out of the near cache if either fails.
   */
  private void restore(int ch, RedisClusterAsyncCommands<byte[], byte[]> c) {
    if (!ssubscribe(ch)) {
      return;
    }
    // read after subscribing: a notice published after this read is received
    Long v = read(c.get(NoticeChannels.sequenceKey(ch).getBytes(StandardCharsets.UTF_8)),
        System.nanoTime() + checkTimeout.toNanos());
    if (v == null) {
      return;
    }
    lastSeq.set(ch, v);
    aheadAt.set(ch, 0);
    flushChannel(ch);
    if (down.getAndSet(ch, 0) != 0) {
      log.info("near cache: notice channel {} subscribed again", NoticeChannels.channel(ch));
    }
  }

  void onNotice(String channel, byte[] message) {
    int ch = NoticeChannels.parseChannel(channel);
    if (ch < 0) {
      return;
    }
    long now = System.nanoTime();
    heardAt.set(ch, now);
    if (HeartbeatKeys.mentioned(message)) {
      for (String k : HeartbeatKeys.keysIn(message)) {
        onHeartbeatNotice.accept(k, now);
      }
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
    if (n.sequence() > last + 1 || n.sequence() <= last) {
      // a gap, or a number already seen (the counter went backward in a failover): either way
      // notices may be lost; the watchdog takes a new baseline
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
    closed = true;
    subscribed = false;
    if (watchdog != null) {
      watchdog.shutdownNow();
    }
    StatefulRedisPubSubConnection<byte[], byte[]> c = pubSub;
    if (c != null) {
      c.close();
    }
    if (onHeartbeatNotice instanceof AutoCloseable probe) {
      try {
        probe.close();
      } catch (Exception e) {
        // closing
      }
    }
    cache.invalidateAll();
  }
}
