package io.freshcache.ops.checker;

import io.freshcache.protocol.ConsistencyWindows;
import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.KeySnapshot;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.RowCheck;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import io.freshcache.protocol.Envelope;
import io.freshcache.protocol.InvalidEventException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The continuous consistency checker (after Meta's Polaris): it follows the cache-event topics
 * with a consumer group of its own, like one more cache replica, and checks each (sampled) event's
 * key in Redis some time after the event's commit.
 *
 * <p>How it works: an event of key {@code k} at version {@code V} committed at {@code t} is due
 * at {@code t + M} ({@link CheckerConfig#delay()}). Then Redis must hold nothing older than
 * {@code V} for {@code k}: every value of every schema is absent or has a data version
 * {@code >= V} (a value without a version must have been written after {@code t}). One atomic
 * read ({@link OpsRedis#snapshot}) gives the fence, the lease and the values of every schema the
 * fence lists, of the event's schema and of {@link CheckerConfig#schemas()} (a value the fence does
 * not list, e.g. after its fence expired, is invisible to invalidations). An <em>apparent</em>
 * violation is checked again at each longer window ({@link CheckerConfig#windows()}); one that
 * clears is counted as consistent within that window. One that outlasts the last window is
 * confirmed against the database through a rate limit ({@link CheckerConfig#confirmRate()}),
 * using the key's table rule and {@link RowCheck}: only a value the row shows to be stale counts
 * as a confirmed violation, logged with the event's topic, partition and offset, the key's fence,
 * every value's header and TTL, and the row's verdict. Later events of a key overtaking an
 * earlier one's check are fine: their versions are higher. A row insert ({@code created}) after an
 * event starts a new incarnation of the row whose versions may start again: the earlier event's
 * check then counts as consistent (the insert's own event is checked).
 *
 * <p>Threads: one consumer thread turns records into pending checks on a delay queue (bounded by
 * {@link CheckerConfig#maxPending()}, beyond which events are counted as dropped); one check
 * thread takes due checks, reads Redis and, when confirming, the database (its only user). Offsets
 * are committed automatically: the checker measures, it never changes anything, so a check lost in
 * a restart only lowers the sample.
 *
 * <p>Metrics (Prometheus names): {@code freshcache_checker_events_total{result}} (checked,
 * unsampled, namespace, invalid, dropped), {@code freshcache_checker_checks_total{window,result}}
 * (consistent, inconsistent, error; window {@code M} and each re-check window),
 * {@code freshcache_checker_violations_total{result}} (confirmed, refuted, unconfirmed),
 * {@code freshcache_checker_nines{window}} ("nines consistent within" each window, and
 * {@code confirmed}), {@code freshcache_checker_pending}.
 */
public final class ConsistencyChecker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConsistencyChecker.class);
  private static final int KEEP = 1000;

  /**
   * An apparent or confirmed violation, as logged.
   *
   * @param topic the event's topic
   * @param partition its partition
   * @param offset its offset
   * @param event the event
   * @param window the window at which it was seen, e.g. {@code 10s}
   * @param reason why the key is inconsistent with the event
   * @param snapshot what Redis held
   * @param database the database's verdict, or {@code null} before confirmation
   * @param outcome {@code apparent}, {@code confirmed}, {@code refuted} or {@code unconfirmed}
   */
  public record Violation(String topic, int partition, long offset, CacheEvent event, String window,
      String reason, KeySnapshot snapshot, RowCheck.Result database, String outcome) {
    /** @return everything known, in one line */
    public String describe() {
      return outcome + " violation of " + event.key() + " at window " + window + ": " + reason + "; event "
          + topic + "-" + partition + "@" + offset + " " + event.op().wireName() + " v" + event.version()
          + " at " + Instant.ofEpochMilli(eventTimeMs(event, 0)) + "; redis: " + snapshot.describe()
          + (database == null ? "" : "; database: " + database.verdict().label() + " ("
              + String.join("; ", database.reasons()) + ")");
    }
  }

  private final CheckerConfig config;
  private final OpsRedis redis;
  private final OpsDb.Settings dbSettings;
  private final KeyRules rules;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final DelayQueue<Pending> queue = new DelayQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger assigned = new AtomicInteger();
  private final List<String> windows;
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final List<Violation> apparent = new CopyOnWriteArrayList<>();
  private final List<Violation> confirmed = new CopyOnWriteArrayList<>();
  /** Offset of each key's latest row insert ({@code created}) by topic and key; an insert starts a new incarnation. */
  private final Map<String, Long> inserts = new ConcurrentHashMap<>();
  private final Thread pollThread;
  private final Thread checkThread;
  private volatile boolean running = true;
  private volatile boolean redisOk = true;
  private OpsDb db;
  private long nextConfirmNanos = System.nanoTime();

  private ConsistencyChecker(CheckerConfig config, OpsRedis redis, OpsKafka kafka, OpsDb.Settings dbSettings,
      KeyRules rules, MeterRegistry registry) {
    this.config = config;
    this.redis = redis;
    this.dbSettings = dbSettings;
    this.rules = rules;
    this.registry = registry;
    this.windows = config.windowLabels();
    this.consumer = new KafkaConsumer<>(kafka.consumer(config.groupId()));
    for (String w : windows) {
      Gauge.builder("freshcache.checker.nines", () -> nines(w)).tag("window", w)
          .description("nines of checked events whose key held nothing older within the window").register(registry);
    }
    Gauge.builder("freshcache.checker.nines", () -> ninesConfirmed()).tag("window", "confirmed")
        .description("nines of checked events without a confirmed violation").register(registry);
    Gauge.builder("freshcache.checker.pending", pending, AtomicInteger::get)
        .description("checks waiting").register(registry);
    this.pollThread = new Thread(this::pollLoop, "freshcache-checker-poll");
    this.checkThread = new Thread(this::checkLoop, "freshcache-checker-check");
  }

  /**
   * Starts following the topics (from their end, for a new group) and checking.
   *
   * @param config the settings
   * @param redis an open Redis connection; the caller closes it after this checker
   * @param kafka Kafka
   * @param dbSettings the database, for confirmations; connected on first use
   * @param rules the table rules, to find a key's row
   * @param registry where the meters go
   * @return the running checker; close it to stop
   */
  public static ConsistencyChecker start(CheckerConfig config, OpsRedis redis, OpsKafka kafka,
      OpsDb.Settings dbSettings, KeyRules rules, MeterRegistry registry) {
    ConsistencyChecker c = new ConsistencyChecker(config, redis, kafka, dbSettings, rules, registry);
    c.consumer.subscribe(config.topics(), new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        c.assigned.addAndGet(-partitions.size());
      }

      @Override
      public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        c.assigned.addAndGet(partitions.size());
        log.info("checker assigned {}", partitions);
      }
    });
    c.pollThread.setDaemon(true);
    c.checkThread.setDaemon(true);
    c.pollThread.start();
    c.checkThread.start();
    log.info("checker started: topics {}, group {}, M {}, windows {}, sample rate {}, confirm rate {}/s",
        config.topics(), config.groupId(), ConsistencyWindows.label(config.delay()), c.windows.subList(1, c.windows.size()),
        config.sampleRate(), config.confirmRate());
    return c;
  }

  /**
   * Checks still to run (first checks, re-checks, confirmations) of events committed before a
   * moment: lets a caller wait for the events of a finished workload while later events (a
   * freshness heartbeat, say) keep arriving.
   *
   * @param epochMs the moment, epoch ms
   * @return how many checks of events committed before it are still queued
   */
  public long pendingCommittedBefore(long epochMs) {
    long n = 0;
    for (Pending p : queue) {
      if (eventTimeMs(p.event, Long.MAX_VALUE) < epochMs) {
        n++;
      }
    }
    return n;
  }

  /** @return the current health */
  public CheckerHealth health() {
    return new CheckerHealth(pollThread.isAlive() && checkThread.isAlive(), redisOk, assigned.get(), pending.get());
  }

  /** @return partitions assigned now */
  public int assignedPartitions() {
    return assigned.get();
  }

  /** @return the latest apparent violations (first seen at M), at most 1000 */
  public List<Violation> apparentViolations() {
    return List.copyOf(apparent);
  }

  /** @return the latest confirmed, refuted and unconfirmed outcomes, at most 1000 */
  public List<Violation> outcomes() {
    return List.copyOf(confirmed);
  }

  /**
   * @param window a window label ({@link CheckerConfig#windowLabels()})
   * @param result consistent, inconsistent or error
   * @return how many checks at that window had that result
   */
  public long checks(String window, String result) {
    return (long) counter("freshcache.checker.checks", "window", window, "result", result).count();
  }

  /**
   * @param result confirmed, refuted or unconfirmed
   * @return how many apparent violations ended so
   */
  public long violations(String result) {
    return (long) counter("freshcache.checker.violations", "result", result).count();
  }

  /**
   * "Nines consistent within" a window: {@code -log10(inconsistent at window / checked)}; with no
   * inconsistency, {@code log10(checked)} (at least that many nines); NaN before any check.
   *
   * @param window a window label
   * @return the nines
   */
  public double nines(String window) {
    double checked = checks(windows.get(0), "consistent") + checks(windows.get(0), "inconsistent");
    return ConsistencyWindows.nines(checked, checks(window, "inconsistent"));
  }

  private double ninesConfirmed() {
    double checked = checks(windows.get(0), "consistent") + checks(windows.get(0), "inconsistent");
    return ConsistencyWindows.nines(checked, violations("confirmed"));
  }

  private void pollLoop() {
    try {
      while (running) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          accept(r);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      log.error("checker consumer stopped", e);
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private void accept(ConsumerRecord<byte[], byte[]> r) {
    CacheEvent event;
    try {
      event = CacheEventJson.read(r.value());
    } catch (InvalidEventException e) {
      count("events", "invalid");
      return;
    }
    if (event.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
      count("events", "namespace");
      return;
    }
    if (event.created()) {
      if (inserts.size() >= config.maxPending()) {
        inserts.clear(); // bounded; at worst a check of an older incarnation goes on to the database
      }
      inserts.merge(r.topic() + ' ' + event.key(), r.offset(), Math::max);
    }
    if (config.sampleRate() < 1 && ThreadLocalRandom.current().nextDouble() >= config.sampleRate()) {
      count("events", "unsampled");
      return;
    }
    if (pending.get() >= config.maxPending()) {
      count("events", "dropped");
      return;
    }
    count("events", "checked");
    long due = eventTimeMs(event, r.timestamp()) + config.delay().toMillis();
    pending.incrementAndGet();
    queue.add(new Pending(r.topic(), r.partition(), r.offset(), event, 0, due));
  }

  private void checkLoop() {
    while (running) {
      Pending p;
      try {
        p = queue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (p == null) {
        continue;
      }
      try {
        check(p);
      } catch (RuntimeException e) {
        if (OpsRedis.isUnreachable(e)) {
          redisOk = false;
        }
        count("checks", windows.get(p.stage), "error");
        log.warn("check of {} at window {} failed, again in 1 s: {}", p.event.key(), windows.get(p.stage), e.toString());
        queue.add(p.at(System.currentTimeMillis() + 1000));
      }
    }
  }

  private void check(Pending p) {
    boolean confirming = p.stage == windows.size();
    if (confirming) {
      confirm(p);
      return;
    }
    String window = windows.get(p.stage);
    Long insert = inserts.get(p.topic + ' ' + p.event.key());
    if (insert != null && insert > p.offset) {
      // the row was deleted and inserted again after this event: its versions may have started
      // again, so the new incarnation's values are not older than this event; the insert's own
      // event is checked
      count("checks", window, "consistent");
      pending.decrementAndGet();
      return;
    }
    KeySnapshot snap = redis.snapshot(p.event.key(), schemasFor(p.event));
    redisOk = true;
    String reason = inconsistency(p.event, snap);
    if (reason == null) {
      count("checks", window, "consistent");
      pending.decrementAndGet();
      if (p.stage > 0) {
        log.info("{} consistent again at window {} (event {}-{}@{} v{})", p.event.key(), window, p.topic,
            p.partition, p.offset, p.event.version());
      }
      return;
    }
    count("checks", window, "inconsistent");
    if (p.stage == 0) {
      Violation v = new Violation(p.topic, p.partition, p.offset, p.event, window, reason, snap, null, "apparent");
      keep(apparent, v);
      log.info("{}", v.describe());
    }
    int next = p.stage + 1;
    long due = next < windows.size()
        ? eventTimeMs(p.event, 0) + (next == 0 ? 0 : config.windows().get(next - 1).toMillis())
        : System.currentTimeMillis();
    queue.add(new Pending(p.topic, p.partition, p.offset, p.event, next, due, reason));
  }

  private void confirm(Pending p) {
    long now = System.nanoTime();
    if (now < nextConfirmNanos) {
      queue.add(p.at(System.currentTimeMillis() + Math.max(1, (nextConfirmNanos - now) / 1_000_000)));
      return;
    }
    nextConfirmNanos = Math.max(now, nextConfirmNanos) + (long) (1e9 / config.confirmRate());
    KeySnapshot snap = redis.snapshot(p.event.key(), schemasFor(p.event));
    redisOk = true;
    String window = windows.get(windows.size() - 1);
    String reason = inconsistency(p.event, snap);
    pending.decrementAndGet();
    if (reason == null) {
      // cleared between the last window and the confirmation: consistent, though late
      count("violations", "refuted");
      log.info("{} consistent at confirmation after window {}", p.event.key(), window);
      return;
    }
    Optional<TableRule> rule = rules.ruleFor(p.event.key());
    RowCheck.Result verdict;
    if (rule.isEmpty()) {
      verdict = RowCheck.compare(null, snap, Optional.empty());
    } else {
      try {
        if (db == null) {
          db = OpsDb.connect(dbSettings);
        }
        verdict = RowCheck.compare(rule.get(), snap, db.row(rule.get(), rules.keyColumns(rule.get(), p.event.key())));
      } catch (java.sql.SQLException | RuntimeException e) {
        if (db != null) {
          db.close();
          db = null;
        }
        pending.incrementAndGet();
        log.warn("database confirmation of {} failed, again in 5 s: {}", p.event.key(), e.toString());
        queue.add(p.at(System.currentTimeMillis() + 5000));
        return;
      }
    }
    String outcome = switch (verdict.verdict()) {
      case STALE -> "confirmed";
      case UNKNOWN -> "unconfirmed";
      default -> "refuted";
    };
    count("violations", outcome);
    Violation v = new Violation(p.topic, p.partition, p.offset, p.event, window, reason, snap, verdict, outcome);
    keep(confirmed, v);
    if (outcome.equals("refuted")) {
      log.info("{}", v.describe());
    } else {
      log.warn("{}", v.describe());
    }
  }

  /**
   * @param event the event
   * @param snap what Redis holds for its key
   * @return why Redis holds something older than the event, or {@code null} if it does not
   */
  private List<Integer> schemasFor(CacheEvent event) {
    if (config.schemas().contains(event.schema())) {
      return config.schemas();
    }
    List<Integer> s = new ArrayList<>(config.schemas());
    s.add(event.schema());
    return s;
  }

  static String inconsistency(CacheEvent event, KeySnapshot snap) {
    long eventTime = eventTimeMs(event, 0);
    for (KeySnapshot.Value v : snap.values()) {
      Envelope e = v.envelope();
      if (e == null) {
        return "v" + v.schema() + " holds an undecodable value";
      }
      if (e.dataVersion() != Envelope.NO_VERSION) {
        if (e.dataVersion() < event.version()) {
          return "v" + v.schema() + " holds version " + e.dataVersion() + " < event version " + event.version();
        }
      } else if (eventTime > 0 && e.writtenAtMs() < eventTime) {
        return "v" + v.schema() + " holds an unversioned value written at " + Instant.ofEpochMilli(e.writtenAtMs())
            + ", before the event's commit at " + Instant.ofEpochMilli(eventTime);
      }
    }
    return null;
  }

  static long eventTimeMs(CacheEvent e, long fallback) {
    if (e.source() != null && e.source().commitTsMs() > 0) {
      return e.source().commitTsMs();
    }
    return e.producedAtMs() > 0 ? e.producedAtMs() : fallback;
  }

  private static void keep(List<Violation> list, Violation v) {
    list.add(v);
    while (list.size() > KEEP) {
      list.remove(0);
    }
  }

  private void count(String what, String result) {
    counter("freshcache.checker." + what, "result", result).increment();
  }

  private void count(String what, String window, String result) {
    counter("freshcache.checker." + what, "window", window, "result", result).increment();
  }

  private Counter counter(String name, String... tags) {
    return counters.computeIfAbsent(name + String.join(",", tags), k -> Counter.builder(name).tags(tags).register(registry));
  }

  /** Stops both threads and closes the consumer and the database connection (not Redis). */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      pollThread.join(5000);
      checkThread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (db != null) {
      db.close();
    }
    log.info("checker stopped: {} checks pending", pending.get());
  }

  /** A check waiting for its time: stage 0 is M, stage i the i-th window, the last stage confirms. */
  private static final class Pending implements Delayed {
    final String topic;
    final int partition;
    final long offset;
    final CacheEvent event;
    final int stage;
    final long dueMs;
    final String reason;

    Pending(String topic, int partition, long offset, CacheEvent event, int stage, long dueMs) {
      this(topic, partition, offset, event, stage, dueMs, null);
    }

    Pending(String topic, int partition, long offset, CacheEvent event, int stage, long dueMs, String reason) {
      this.topic = topic;
      this.partition = partition;
      this.offset = offset;
      this.event = event;
      this.stage = stage;
      this.dueMs = dueMs;
      this.reason = reason;
    }

    Pending at(long due) {
      return new Pending(topic, partition, offset, event, stage, due, reason);
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueMs - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(dueMs, ((Pending) o).dueMs);
    }
  }

  /** @return the configured windows' labels, M first */
  public List<String> windowLabels() {
    return new ArrayList<>(windows);
  }
}
