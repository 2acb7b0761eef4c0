package io.freshcache.writer.internal;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.NoticeChannels;
import io.freshcache.protocol.RetriableCacheException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends the near-cache invalidation notices of an applied batch: the batch's applied keys are
 * grouped by {@link NoticeChannels#indexOf}, de-duplicated, and each channel gets one
 * {@link CacheScripts#NOTIFY} call (more only when a channel has over {@value #MAX_KEYS_PER_NOTICE}
 * keys), all pipelined in one round trip.
 *
 * <p>Why after the apply and not beside it: a notice channel lives in another slot, usually on
 * another node, than the keys it names, so a notice sent together with its batch's applies could
 * reach a subscriber before the new value is in Redis; the near cache would drop the key, reload
 * the old value and keep it. So a batch's notices are sent only after every apply of that batch
 * was acknowledged; the worker queues them together with the next batch's applies
 * ({@link #enqueue}) to save a round trip, or publishes them at once when no batch follows.
 *
 * <p>Why retrying is safe: the script increments the channel's sequence and publishes in one
 * step, so a notice that is sent twice (the reply was lost, the batch is retried) only costs
 * subscribers one more drop of the same keys; it never creates a gap. A failed batch is reported
 * as {@link RetriableCacheException} and the caller commits no offset until the notices are out.
 *
 * <p>Not thread-safe; shares the worker's connection and thread with {@link FencedApplier}.
 */
public final class NoticePublisher {
  /** Most keys in one notice; larger channel groups are split into several notices. */
  public static final int MAX_KEYS_PER_NOTICE = 1000;

  private final RedisTopology connection;
  private final RedisClusterAsyncCommands<byte[], byte[]> async;
  private final Duration timeout;

  /**
   * Outcome of one publish.
   *
   * @param notices notices published (script calls)
   * @param keys distinct keys named in them
   */
  public record Published(int notices, int keys) {}

  /**
   * @param connection the worker's cluster connection
   * @param timeout how long to wait for the notices before the publish fails
   */
  public NoticePublisher(RedisTopology connection, Duration timeout) {
    this.connection = connection;
    this.async = connection.async();
    this.timeout = timeout;
  }

  /**
   * Publishes notices for {@code keys}: {@link #enqueue} with one flush, then {@link #await}.
   *
   * @param keys the applied keys, repeats allowed; empty publishes nothing
   * @return notices published and distinct keys named
   * @throws RetriableCacheException if a notice could not be published; some may have been
   */
  public Published publish(Collection<CacheKey> keys) {
    return await(Pipelining.write(connection, () -> enqueue(keys)));
  }

  /**
   * Publishes a namespace notice ({@code *service:entity}) on every channel: the namespace's keys
   * are spread over all channels, and each subscriber guards its reads per channel.
   *
   * @param namespace a namespace key {@code service:entity:*}
   * @return the notices published, one per channel, and no keys
   * @throws RetriableCacheException if a notice could not be published; some may have been
   */
  public Published publishNamespace(CacheKey namespace) {
    List<Notice> notices = new ArrayList<>(NoticeChannels.COUNT);
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      notices.add(new Notice(i, List.of(), namespace));
    }
    return await(Pipelining.write(connection, () -> new InFlight(notices, send(notices, false))));
  }

  /**
   * Writes the notices for {@code keys} to the connection without flushing; the caller has
   * switched the connection to manual flushing and flushes once for everything it queued.
   *
   * @param keys the applied keys, repeats allowed; empty queues nothing
   * @return the notices in flight, for {@link #await}
   */
  public InFlight enqueue(Collection<CacheKey> keys) {
    List<Notice> notices = keys.isEmpty() ? List.of() : group(keys);
    return new InFlight(notices, send(notices, false));
  }

  /**
   * Waits for the answers of enqueued notices. Sends a notice again with {@code EVAL} if its
   * node had no script.
   *
   * @param f the notices from {@link #enqueue}
   * @return notices published and distinct keys named
   * @throws RetriableCacheException if a notice could not be published; some may have been
   */
  public Published await(InFlight f) {
    if (f.notices.isEmpty()) {
      return new Published(0, 0);
    }
    List<Notice> noScript = new ArrayList<>();
    awaitAll(f.notices, f.futures, noScript);
    if (!noScript.isEmpty()) {
      // a node without the script (restarted, promoted): the script did not run there, so
      // sending those notices again with EVAL publishes each exactly once more
      List<RedisFuture<Long>> again = Pipelining.write(connection, () -> send(noScript, true));
      awaitAll(noScript, again, null);
    }
    int distinct = 0;
    for (Notice n : f.notices) {
      distinct += n.keys.size();
    }
    return new Published(f.notices.size(), distinct);
  }

  /** Notices whose commands are written and whose answers are outstanding. */
  public static final class InFlight {
    private final List<Notice> notices;
    private final List<RedisFuture<Long>> futures;

    private InFlight(List<Notice> notices, List<RedisFuture<Long>> futures) {
      this.notices = notices;
      this.futures = futures;
    }
  }

  /** @return the notices for {@code keys}, in channel order, each with at most the maximum keys */
  static List<Notice> group(Collection<CacheKey> keys) {
    List<Set<CacheKey>> byChannel = new ArrayList<>(NoticeChannels.COUNT);
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      byChannel.add(new LinkedHashSet<>());
    }
    for (CacheKey k : keys) {
      byChannel.get(NoticeChannels.indexOf(k)).add(k);
    }
    List<Notice> out = new ArrayList<>();
    for (int i = 0; i < NoticeChannels.COUNT; i++) {
      List<CacheKey> all = new ArrayList<>(byChannel.get(i));
      for (int from = 0; from < all.size(); from += MAX_KEYS_PER_NOTICE) {
        out.add(new Notice(i, all.subList(from, Math.min(all.size(), from + MAX_KEYS_PER_NOTICE))));
      }
    }
    return out;
  }

  private void awaitAll(List<Notice> notices, List<RedisFuture<Long>> futures, List<Notice> noScript) {
    long deadline = System.nanoTime() + timeout.toNanos() * 2;
    for (int i = 0; i < futures.size(); i++) {
      Notice n = notices.get(i);
      try {
        futures.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        if (noScript != null && e.getCause() instanceof RedisNoScriptException) {
          noScript.add(n);
        } else {
          throw failure(n, e.getCause());
        }
      } catch (TimeoutException e) {
        throw failure(n, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure(n, e);
      }
    }
  }

  private List<RedisFuture<Long>> send(List<Notice> notices, boolean withSource) {
    List<RedisFuture<Long>> futures = new ArrayList<>(notices.size());
    for (Notice n : notices) {
      byte[][] keys = {bytes(NoticeChannels.sequenceKey(n.channel))};
      byte[][] args = {bytes(NoticeChannels.channel(n.channel)), n.namespace == null
          ? NoticeChannels.body(n.keys) : NoticeChannels.namespaceBody(n.namespace)};
      futures.add(withSource
          ? async.eval(CacheScripts.NOTIFY.source(), ScriptOutputType.INTEGER, keys, args)
          : async.evalsha(CacheScripts.NOTIFY.sha1(), ScriptOutputType.INTEGER, keys, args));
    }
    return futures;
  }

  private static RetriableCacheException failure(Notice n, Throwable cause) {
    return new RetriableCacheException("writer", null,
        "notice on " + NoticeChannels.channel(n.channel) + " failed: " + cause, cause);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** One notice: a channel index and the keys it names, or the namespace it drops. */
  record Notice(int channel, List<CacheKey> keys, CacheKey namespace) {
    Notice(int channel, List<CacheKey> keys) {
      this(channel, keys, null);
    }
  }
}
