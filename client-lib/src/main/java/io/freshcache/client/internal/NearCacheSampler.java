package io.freshcache.client.internal;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.ConsistencyWindows;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.Envelope;
import io.freshcache.protocol.NoticeChannels;
import io.lettuce.core.ScriptOutputType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The near cache's own consistency sampler: the client-side counterpart of the ops consistency
 * checker. The checker follows the change events and checks Redis against each event (and then
 * against the database); this sampler checks the near cache against Redis, the source of truth
 * the client can see (a client has no database connection: whether Redis itself is right is the
 * checker's job).
 *
 * <p>How it works: every second it picks {@code perSecond} near entries at random (among those
 * a read would be served now and that it is not already following) and reads, in one script on
 * the key's Redis master, the key's fence ({@code v}, the highest version applied, and {@code d},
 * a delete's tombstone) and the header of the entry's schema's value. The entry remembers the data
 * version of the envelope it was decoded from. Redis holds something <em>newer</em> than the
 * entry, version {@code E}, if the fence is past {@code E}, or at {@code E} with a tombstone (the
 * row was deleted at {@code E}), or the value (or a cached "not found") has a version past
 * {@code E}. Otherwise the entry is consistent (an absent value without such a fence included).
 * Redis holding something newer is an <em>apparent</em> inconsistency only: the notice that drops
 * the entry may be in flight. So it is checked again {@code M} (the delay) after it was
 * first seen: if the near cache still holds that very entry (and would serve it) and Redis still
 * holds something newer, it is inconsistent within {@code M}; then again at each longer window,
 * until the entry is gone (dropped by a notice or the watchdog, or expired: consistent within
 * that window) or it outlasts the last window: a <em>confirmed</em> violation (against Redis),
 * after which that entry is not sampled again.
 *
 * <p>What it cannot see: an entry without a data version (a loader that returned none, {@link
 * Envelope#NO_VERSION}) is counted as {@code unversioned} and skipped: comparing written-at times
 * would be unsound, since any refill or early refresh of unchanged data writes a newer time
 * without any change to notice. Likewise an unversioned invalidation (version -1) leaves no fence,
 * so a lost notice of one is invisible, and a re-inserted row whose versions start again resets
 * the fence below an old incarnation's entry. Entries expire after the policy's near-cache TTL,
 * so windows longer than it can confirm nothing.
 *
 * <p>Metrics, in the style of the checker: {@code cache.near.sample.checks{window,result}} (window
 * {@code sample} with results consistent, apparent, unversioned, error, dropped; then the
 * label of {@code M} and of each window with consistent, inconsistent, error),
 * {@code cache.near.sample.violations{result=confirmed}}, {@code cache.near.sample.nines{window}}
 * ("nines consistent within" each window and {@code confirmed}, the checker's formula over the
 * versioned entries sampled) and {@code cache.near.sample.pending}. Each inconsistent and
 * confirmed finding is logged with the key, schema, entry version and age, what Redis held, and
 * the key's notice channel, its last notice's sequence number and how long it has been silent.
 *
 * <p>Threads: one daemon thread samples and re-checks; the Redis reads go through the key's
 * master breaker like any read.
 */
public final class NearCacheSampler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NearCacheSampler.class);
  /** Findings kept for {@link #findings()}. */
  private static final int KEEP = 100;
  /** Entries followed at once; samples beyond are counted as dropped. */
  static final int MAX_PENDING = 10_000;

  /** Reads the key's fence and value header atomically on its master. */
  static final CacheScripts.Script SAMPLE_SCRIPT = script("near_sample", """
      -- near_sample: KEYS[1] fence key, KEYS[2] value key of the entry's schema
      -- returns the fence's 'v' and 'd' ('' if absent) and the value's header ('' if absent)
      local v = redis.call('HGET', KEYS[1], 'v') or ''
      local d = redis.call('HGET', KEYS[1], 'd') or ''
      local h = redis.call('GETRANGE', KEYS[2], 0, 30)
      return {v, d, h}
      """);

  /**
   * What Redis holds for a key, as the sampler reads it.
   *
   * @param fenceVersion the fence's highest version applied, or -1 if no fence
   * @param tombstone whether that version came from a delete
   * @param valuePresent whether the schema's value key exists
   * @param value its header, or {@code null} if absent or unreadable
   */
  public record RedisView(long fenceVersion, boolean tombstone, boolean valuePresent, Envelope value) {
    /** @return the fence and value header, in one line */
    public String describe() {
      String fence = fenceVersion < 0 ? "no fence" : "fence v" + fenceVersion + (tombstone ? " (deleted)" : "");
      String val;
      if (!valuePresent) {
        val = "no value";
      } else if (value == null) {
        val = "an unreadable value";
      } else {
        val = (value.has(Envelope.FLAG_NOT_FOUND) ? "a cached not-found" : "a value") + " at "
            + (value.dataVersion() == Envelope.NO_VERSION ? "no version" : "v" + value.dataVersion())
            + " written at " + java.time.Instant.ofEpochMilli(value.writtenAtMs());
      }
      return fence + ", " + val;
    }

    /** @return the fence's version, or the value's if higher; -1 for neither */
    public long newestVersion() {
      long v = fenceVersion;
      if (value != null && value.dataVersion() > v) {
        v = value.dataVersion();
      }
      return v;
    }
  }

  /**
   * A finding, as logged.
   *
   * @param key the logical key
   * @param schema the schema version of the entry's value key
   * @param entryVersion the entry's data version
   * @param entryAgeMs how long the entry had been in the near cache, ms
   * @param redis what Redis held
   * @param reason why Redis holds something newer
   * @param window the window at which it was found, e.g. {@code 10s}
   * @param outcome {@code inconsistent} (at that window) or {@code confirmed}
   * @param channel the key's notice channel index
   * @param lastSequence the sequence number of the last notice handled on that channel
   * @param silentMs how long the channel had been silent, ms
   */
  public record Finding(String key, int schema, long entryVersion, long entryAgeMs, RedisView redis,
      String reason, String window, String outcome, int channel, long lastSequence, long silentMs) {
    /** @return everything known, in one line */
    public String describe() {
      return "near cache " + outcome + " at window " + window + ": " + key + " (schema " + schema
          + ") held at v" + entryVersion + " for " + entryAgeMs + " ms; " + reason + "; redis: "
          + redis.describe() + "; notice channel " + NoticeChannels.channel(channel) + " (index " + channel
          + "), last notice #" + lastSequence + ", silent for " + silentMs + " ms";
    }
  }

  private final NearCache near;
  private final Function<NearCache.Sample, RedisView> reader;
  private final int perSecond;
  private final Duration delay;
  private final List<Duration> windows;
  private final List<String> labels;
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final DelayQueue<Pending> queue = new DelayQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong sampled = new AtomicLong();
  private final List<Finding> findings = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  /**
   * Starts sampling on a daemon thread of its own.
   *
   * @param near the near cache
   * @param link the Redis link; reads go to the key's master
   * @param perSecond entries picked per second, at least 1
   * @param delay M: how long after an apparent inconsistency is first seen it is checked again
   * @param windows the longer re-check windows, increasing, each longer than {@code delay}
   * @param registry where the meters go
   * @return the running sampler; close it to stop
   */
  public static NearCacheSampler start(NearCache near, RedisLink link, int perSecond, Duration delay,
      List<Duration> windows, MeterRegistry registry) {
    NearCacheSampler s = new NearCacheSampler(near, sample -> read(link, sample.key(), sample.schema()),
        perSecond, delay, windows, registry);
    s.thread.start();
    log.info("near-cache sampler started: {} entries/s, M {}, windows {}", perSecond, ConsistencyWindows.label(delay),
        s.labels.subList(1, s.labels.size()));
    return s;
  }

  NearCacheSampler(NearCache near, Function<NearCache.Sample, RedisView> reader, int perSecond, Duration delay,
      List<Duration> windows, MeterRegistry registry) {
    if (perSecond < 1 || delay.isNegative() || delay.isZero() || windows.isEmpty()) {
      throw new IllegalArgumentException("perSecond >= 1, delay > 0 and at least one window needed");
    }
    this.near = near;
    this.reader = reader;
    this.perSecond = perSecond;
    this.delay = delay;
    this.windows = List.copyOf(windows);
    this.registry = registry;
    List<String> l = new ArrayList<>();
    l.add(ConsistencyWindows.label(delay));
    windows.forEach(w -> l.add(ConsistencyWindows.label(w)));
    this.labels = List.copyOf(l);
    for (String w : labels) {
      Gauge.builder(ClientMeters.NEAR_SAMPLE_NINES, () -> nines(w)).tag("window", w)
          .description("nines of sampled near entries not still held stale within the window").register(registry);
    }
    Gauge.builder(ClientMeters.NEAR_SAMPLE_NINES, this::ninesConfirmed).tag("window", "confirmed")
        .description("nines of sampled near entries without a confirmed violation").register(registry);
    Gauge.builder(ClientMeters.NEAR_SAMPLE_PENDING, pending, AtomicInteger::get)
        .description("near entries the sampler is following").register(registry);
    this.thread = new Thread(this::loop, "freshcache-near-sampler");
    this.thread.setDaemon(true);
  }

  /**
   * The decision: does Redis hold something newer than a near entry of version {@code entryVersion}?
   *
   * @param entryVersion the entry's data version, not {@link Envelope#NO_VERSION}
   * @param redis what Redis holds
   * @return why it does, or {@code null} if it does not (consistent)
   */
  static String newer(long entryVersion, RedisView redis) {
    if (redis.fenceVersion() >= 0) {
      if (redis.fenceVersion() > entryVersion) {
        return "the fence is at v" + redis.fenceVersion() + " > entry v" + entryVersion;
      }
      if (redis.tombstone() && redis.fenceVersion() == entryVersion) {
        return "the row was deleted at the entry's version v" + entryVersion;
      }
    }
    Envelope v = redis.value();
    if (v != null && v.dataVersion() != Envelope.NO_VERSION && v.dataVersion() > entryVersion) {
      return (v.has(Envelope.FLAG_NOT_FOUND) ? "a cached not-found" : "the value") + " is at v" + v.dataVersion()
          + " > entry v" + entryVersion;
    }
    return null;
  }

  /**
   * Reads a key's fence and value header on its master.
   *
   * @throws RedisLink.Unavailable or {@link io.lettuce.core.RedisException} if Redis cannot be read
   */
  static RedisView read(RedisLink link, CacheKey k, int schema) {
    List<Object> r = link.call(k.fenceKey(), c -> ScriptRunner.<List<Object>>run(c, SAMPLE_SCRIPT,
        ScriptOutputType.MULTI, new byte[][] {ReadContext.bytes(k.fenceKey()), ReadContext.bytes(k.valueKey(schema))}));
    return view((byte[]) r.get(0), (byte[]) r.get(1), (byte[]) r.get(2));
  }

  /** Parses the script's reply; package-private for tests. */
  static RedisView view(byte[] fence, byte[] deleted, byte[] header) {
    long f = fence == null || fence.length == 0 ? -1 : parseVersion(new String(fence, StandardCharsets.UTF_8));
    boolean tomb = deleted != null && "1".equals(new String(deleted, StandardCharsets.UTF_8));
    boolean present = header != null && header.length > 0;
    Envelope e = null;
    if (present) {
      try {
        e = Envelope.decode(header);
      } catch (CorruptEnvelopeException ex) {
        e = null;
      }
    }
    return new RedisView(f, tomb, present, e);
  }

  private static long parseVersion(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return (long) Double.parseDouble(s); // Lua may have written it as a float
    }
  }

  /** @return the windows' labels, M first */
  public List<String> windowLabels() {
    return labels;
  }

  /**
   * @param window {@code sample} or a window label
   * @param result the result
   * @return how many checks at that window had that result
   */
  public long checks(String window, String result) {
    return (long) counter(ClientMeters.NEAR_SAMPLE_CHECKS, "window", window, "result", result).count();
  }

  /** @return violations confirmed so far */
  public long confirmed() {
    return (long) counter(ClientMeters.NEAR_SAMPLE_VIOLATIONS, "result", "confirmed").count();
  }

  /** @return versioned entries sampled and compared with Redis so far */
  public long sampled() {
    return sampled.get();
  }

  /** @return entries being followed now */
  public int pending() {
    return pending.get();
  }

  /** @return the latest inconsistent and confirmed findings, at most 100, oldest first */
  public List<Finding> findings() {
    return List.copyOf(findings);
  }

  /**
   * "Nines consistent within" a window, as the checker computes them:
   * {@code -log10(inconsistent at window / sampled)}; with none inconsistent, {@code log10(sampled)};
   * NaN before any sample.
   *
   * @param window a window label
   * @return the nines
   */
  public double nines(String window) {
    return ConsistencyWindows.nines(sampled.get(), checks(window, "inconsistent"));
  }

  /** @return the nines of confirmed violations */
  public double ninesConfirmed() {
    return ConsistencyWindows.nines(sampled.get(), confirmed());
  }

  /** @return every window label with its nines, then {@code confirmed} */
  public Map<String, Double> allNines() {
    Map<String, Double> m = new LinkedHashMap<>();
    for (String w : labels) {
      m.put(w, nines(w));
    }
    m.put("confirmed", ninesConfirmed());
    return m;
  }

  private void loop() {
    long nextTick = System.nanoTime();
    while (running) {
      try {
        long now = System.nanoTime();
        if (now - nextTick >= 0) {
          sampleOnce();
          nextTick = now + TimeUnit.SECONDS.toNanos(1);
          continue;
        }
        Pending p = queue.poll(Math.min(200_000_000L, nextTick - now), TimeUnit.NANOSECONDS);
        if (p != null) {
          recheck(p);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        log.warn("near-cache sampler: {}", e.toString());
      }
    }
  }

  /** Picks and checks one second's entries; package-private for tests. */
  void sampleOnce() {
    for (NearCache.Sample s : near.sample(perSecond)) {
      check(s);
    }
  }

  private void check(NearCache.Sample s) {
    if (s.dataVersion() == Envelope.NO_VERSION) {
      count("sample", "unversioned");
      near.release(s, false);
      return;
    }
    RedisView view;
    try {
      view = reader.apply(s);
    } catch (RuntimeException e) { // RedisLink.Unavailable, RedisException: Redis cannot be read
      count("sample", "error");
      near.release(s, false);
      return;
    }
    String reason = newer(s.dataVersion(), view);
    if (reason != null && !near.holds(s)) {
      reason = null; // dropped while Redis was read: its notice came
    }
    if (reason == null) {
      sampled.incrementAndGet();
      count("sample", "consistent");
      near.release(s, false);
      return;
    }
    if (pending.get() >= MAX_PENDING) {
      count("sample", "dropped");
      near.release(s, false);
      return;
    }
    sampled.incrementAndGet();
    count("sample", "apparent");
    log.debug("near cache apparent: {} v{}: {}; redis: {}", s.key(), s.dataVersion(), reason, view.describe());
    pending.incrementAndGet();
    queue.add(new Pending(s, 0, System.nanoTime(), System.nanoTime() + delay.toNanos()));
  }

  /** Re-checks every due entry now, for tests. */
  void recheckDue() {
    Pending p;
    while ((p = queue.poll()) != null) {
      recheck(p);
    }
  }

  private void recheck(Pending p) {
    String window = labels.get(p.stage);
    NearCache.Sample s = p.sample;
    if (!near.holds(s)) {
      done(p, window, "gone");
      return;
    }
    RedisView view;
    try {
      view = reader.apply(s);
    } catch (RuntimeException e) { // RedisLink.Unavailable, RedisException: Redis cannot be read
      count(window, "error");
      log.debug("near-cache re-check of {} at window {} failed, again in 1 s: {}", s.key(), window, e.toString());
      queue.add(new Pending(s, p.stage, p.firstSeenNanos, System.nanoTime() + TimeUnit.SECONDS.toNanos(1)));
      return;
    }
    String reason = newer(s.dataVersion(), view);
    if (reason == null || !near.holds(s)) {
      done(p, window, reason == null ? "redis no longer newer" : "gone");
      return;
    }
    count(window, "inconsistent");
    boolean last = p.stage == labels.size() - 1;
    int ch = s.channel();
    Finding f = new Finding(s.key().toString(), s.schema(), s.dataVersion(), s.ageNanos() / 1_000_000, view, reason,
        window, last ? "confirmed" : "inconsistent", ch, near.lastSequence(ch), near.silentNanos(s.key()) / 1_000_000);
    keep(f);
    if (last) {
      counter(ClientMeters.NEAR_SAMPLE_VIOLATIONS, "result", "confirmed").increment();
      pending.decrementAndGet();
      near.release(s, true);
      log.warn("{} (against Redis)", f.describe());
      return;
    }
    if (p.stage == 0) {
      log.warn("{}", f.describe());
    } else {
      log.info("{}", f.describe());
    }
    int next = p.stage + 1;
    queue.add(new Pending(s, next, p.firstSeenNanos, p.firstSeenNanos + windows.get(next - 1).toNanos()));
  }

  private void done(Pending p, String window, String why) {
    count(window, "consistent");
    pending.decrementAndGet();
    near.release(p.sample, false);
    if (p.stage > 0) {
      log.info("near cache consistent again at window {}: {} v{} ({})", window, p.sample.key(),
          p.sample.dataVersion(), why);
    }
  }

  private void keep(Finding f) {
    findings.add(f);
    while (findings.size() > KEEP) {
      findings.remove(0);
    }
  }

  private void count(String window, String result) {
    counter(ClientMeters.NEAR_SAMPLE_CHECKS, "window", window, "result", result).increment();
  }

  private Counter counter(String name, String... tags) {
    return counters.computeIfAbsent(name + String.join(",", tags),
        k -> Counter.builder(name).tags(tags).register(registry));
  }

  /** Stops the thread; entries being followed are not judged. */
  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static CacheScripts.Script script(String name, String source) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
      return new CacheScripts.Script(name, source, HexFormat.of().formatHex(digest));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required by the Java platform", e);
    }
  }

  /** An entry waiting for its next check: stage 0 is M, stage i the i-th window. */
  private static final class Pending implements Delayed {
    final NearCache.Sample sample;
    final int stage;
    final long firstSeenNanos;
    final long dueNanos;

    Pending(NearCache.Sample sample, int stage, long firstSeenNanos, long dueNanos) {
      this.sample = sample;
      this.stage = stage;
      this.firstSeenNanos = firstSeenNanos;
      this.dueNanos = dueNanos;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(dueNanos, ((Pending) o).dueNanos);
    }
  }
}
