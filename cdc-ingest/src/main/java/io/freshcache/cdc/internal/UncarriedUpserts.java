package io.freshcache.cdc.internal;

import io.freshcache.protocol.CacheEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upserts that cannot be carried to Kafka (an event larger than the limit, or a row the codec
 * cannot encode) and are sent as invalidations of their key instead: counted per reason, and
 * logged once per key, so a big row that changes often does not flood the log.
 *
 * <p>Why an invalidation is enough: the upsert only saved readers a load; its invalidation at the
 * same version drops the cached value, raises the fence and revokes any lease exactly as an
 * invalidate rule would, so coherence holds and the next read loads the row. What must not happen
 * is what happened before (issue 8, item 4): the send failed, the engine stopped, restarted on the
 * same change and failed again, for good, while PostgreSQL kept WAL.
 *
 * <p>The set of keys already logged is bounded (the oldest key is forgotten first); a forgotten
 * key is logged again. Thread-safe.
 */
final class UncarriedUpserts {
  private static final Logger LOG = LoggerFactory.getLogger(UncarriedUpserts.class);
  /** How many keys are remembered as logged. */
  static final int LOGGED_KEYS = 10_000;

  /** Why an upsert was not carried; the {@code reason} tag of the counter. */
  enum Reason {
    /** The event is larger than the producer or topic allows. */
    SIZE,
    /** The codec could not encode the row. */
    CODEC;

    String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final AtomicLong size = new AtomicLong();
  private final AtomicLong codec = new AtomicLong();
  private final Map<String, Boolean> logged = new LinkedHashMap<>(256, 0.75f, false) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > LOGGED_KEYS;
    }
  };

  /**
   * Counts and logs an upsert replaced by an invalidation, and returns that invalidation.
   *
   * @param upsert the upsert that cannot be carried
   * @param reason why
   * @param detail what to log: the size and the limit, or the codec's error
   * @return an invalidation of the upsert's key and schema at its version, keeping its source,
   *     production time and {@link CacheEvent#created()} flag
   */
  CacheEvent invalidateInstead(CacheEvent upsert, Reason reason, String detail) {
    (reason == Reason.SIZE ? size : codec).incrementAndGet();
    String key = upsert.key().toString();
    boolean first;
    synchronized (logged) {
      first = logged.put(key, Boolean.TRUE) == null;
    }
    if (first) {
      LOG.warn("Upsert of {} at version {} cannot be carried ({}): sending an invalidation of the"
          + " key instead (logged once per key)", key, upsert.version(), detail);
    }
    return new CacheEvent(CacheEvent.Op.INVALIDATE, upsert.key(), upsert.version(), 0,
        upsert.schema(), null, null, upsert.source(), upsert.producedAtMs(), upsert.created());
  }

  /** @return upserts sent as invalidations because their event was too large */
  long tooLarge() {
    return size.get();
  }

  /** @return upserts sent as invalidations because the codec failed */
  long codecFailed() {
    return codec.get();
  }
}
