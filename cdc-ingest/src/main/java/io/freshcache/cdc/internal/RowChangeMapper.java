package io.freshcache.cdc.internal;

import io.freshcache.cdc.KeyMappingException;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.CodecException;
import io.freshcache.protocol.Codecs;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one Debezium change record into the cache events it implies, by the table's
 * {@link TableRule}. Used by the embedded engine's handler and by the Kafka Connect transform.
 *
 * <p>What is forwarded and what is skipped: the data changes of a mapped table (Debezium
 * {@code op} {@code c}, {@code u}, {@code d}) become events; a truncate ({@code t}) becomes one
 * {@link CacheEvent.Op#INVALIDATE_NAMESPACE} event keyed {@code service:entity:*} (the rule's
 * {@link io.freshcache.cdc.KeyTemplate#namespace()}) when its rule says
 * {@code invalidate_namespace}, the default; under {@code truncate: ignore} it is logged and
 * counted. The caller decides where that event goes: cdc-ingest sends a copy to every partition
 * ({@link AckThenCommitConsumer}), the Kafka Connect transform can send only one. Tombstones (null value), records that are not a change envelope (heartbeats,
 * schema changes), snapshot reads ({@code r}) and logical-decoding messages ({@code m}) map to
 * nothing; the caller still marks them processed so the offset moves on.
 *
 * <p>Which row image names the key: the after-image for inserts and updates, the before-image for
 * deletes; columns that are null there are filled from the record key (the primary key), which is
 * all a delete carries under {@code REPLICA IDENTITY DEFAULT}. When an update's before-image names
 * a different key (the primary key itself was updated in place), the old key is invalidated too.
 *
 * <p>Upserts carry the after-image ({@link RowImages}) encoded with the rule's codec. An update
 * whose image lacks an unchanged TOAST value cannot be written whole, so it invalidates instead
 * (counted). A row the codec cannot encode invalidates likewise ({@link UncarriedUpserts},
 * counted and logged once per key) rather than stopping the capture. Deletes are {@code delete}
 * for every rule.
 *
 * <p>Versions: the change's LSN, or the rule's row-version column (after-image; before-image for
 * deletes, which is why such tables need {@code REPLICA IDENTITY FULL}). An insert's event
 * ({@code op} {@code c}) is marked {@link CacheEvent#created()}: it passes the delete tombstone a
 * fence keeps after a delete, so a row deleted and inserted again with its version starting
 * again is cacheable again (docs/design.md, "Deletes and re-inserts"). PostgreSQL row locks
 * order two changes of one row, so per row the LSN grows in commit order, which the fence needs.
 * A namespace invalidation carries the truncate's LSN for LSN-versioned rules and 0 for
 * row-version rules (an LSN is not comparable with row versions; were a fence raised to it, every
 * later row version would be refused). cache-writer neither compares nor raises a fence for it.
 *
 * <p>Rows without a key or version: a template column missing from the table means the rule does
 * not fit the table; that {@link KeyMappingException} propagates and stops the engine before the
 * offset is committed. A row whose key column is null, not renderable or yields an invalid key is
 * skipped with a warning: no client can build that key either, so nothing can be cached under it.
 * A row whose version column is null or negative is skipped likewise (counted): it cannot be
 * ordered against other versions.
 */
final class RowChangeMapper {
  private static final Logger LOG = LoggerFactory.getLogger(RowChangeMapper.class);

  /**
   * The events of one change.
   *
   * @param events the change's events, in order: row events, or the one
   *     {@link CacheEvent.Op#INVALIDATE_NAMESPACE} event of a truncate
   * @param commitTsMicros the commit time, for the lag measurement; -1 if nothing is sent
   * @param table the change's table, or null if it maps to nothing
   */
  record Mapped(List<CacheEvent> events, long commitTsMicros, String table) {
    static final Mapped NONE = new Mapped(List.of(), -1, null);

    boolean isEmpty() {
      return events.isEmpty();
    }
  }

  private final String connectorName;
  private final Map<String, TableRule> rulesByTable;
  private final Clock clock;
  private final AtomicLong skippedRows = new AtomicLong();
  private final AtomicLong truncatesIgnored = new AtomicLong();
  private final AtomicLong upsertsInvalidated = new AtomicLong();
  private final UncarriedUpserts uncarried = new UncarriedUpserts();

  RowChangeMapper(String connectorName, List<TableRule> rules, Clock clock) {
    this.connectorName = connectorName;
    this.rulesByTable = rules.stream()
        .collect(Collectors.toUnmodifiableMap(TableRule::table, Function.identity()));
    this.clock = clock;
  }

  /** @return rows skipped because they have no valid key or version */
  long skippedRows() {
    return skippedRows.get();
  }

  /** @return truncates of mapped tables whose rule ignores them */
  long truncatesIgnored() {
    return truncatesIgnored.get();
  }

  /** @return upserts sent as invalidations because their after-image was incomplete */
  long upsertsInvalidated() {
    return upsertsInvalidated.get();
  }

  /** @return the counter and log of upserts that could not be carried (codec or size) */
  UncarriedUpserts uncarried() {
    return uncarried;
  }

  /**
   * @return the events of the change, or {@link Mapped#NONE} when it implies none
   * @throws KeyMappingException with reason {@code MISSING_COLUMN} if the rule does not fit
   * @throws IllegalStateException if a change envelope lacks its source LSN, or a rule's column
   *     is not in the change
   */
  Mapped map(SourceRecord record) {
    if (!(record.value() instanceof Struct value) || value.schema().field("op") == null
        || value.schema().field("source") == null) {
      return Mapped.NONE;
    }
    String op = value.getString("op");
    boolean truncate = "t".equals(op);
    if (!"c".equals(op) && !"u".equals(op) && !"d".equals(op) && !truncate) {
      return Mapped.NONE;
    }
    Struct source = value.getStruct("source");
    String table = table(source);
    TableRule rule = rulesByTable.get(table);
    if (rule == null) {
      return Mapped.NONE;
    }
    Long lsn = long64(source, "lsn");
    if (lsn == null) {
      throw new IllegalStateException("change of " + table + " has no source.lsn: " + record);
    }
    Long txId = long64(source, "txId");
    Long tsMs = long64(source, "ts_ms");
    Long tsUs = long64(source, "ts_us");
    long commitTsMs = tsMs == null ? 0 : tsMs;
    long commitTsMicros = tsUs != null ? tsUs : commitTsMs * 1000;
    CacheEvent.Source eventSource = new CacheEvent.Source(connectorName, source.getString("db"),
        table, lsn, txId == null ? -1 : txId, commitTsMs);
    long now = clock.millis();

    if (truncate) {
      if (rule.onTruncate() == TableRule.TruncateMode.IGNORE) {
        truncatesIgnored.incrementAndGet();
        LOG.warn("TRUNCATE of {} at LSN {} ignored by its rule: cached {}:* entries stay until"
            + " their TTL", table, lsn, rule.keyTemplate().namespace());
        return Mapped.NONE;
      }
      long version = rule.versionSource() == TableRule.VersionSource.COMMIT_LSN ? lsn : 0;
      String namespace = rule.keyTemplate().namespace();
      int colon = namespace.indexOf(':');
      CacheEvent event = CacheEvent.invalidateNamespace(namespace.substring(0, colon),
          namespace.substring(colon + 1), version, eventSource, now);
      LOG.info("TRUNCATE of {} at LSN {}: invalidate_namespace {}", table, lsn, event.key());
      return new Mapped(List.of(event), commitTsMicros, table);
    }

    Struct keyStruct = record.key() instanceof Struct k ? k : null;
    boolean delete = "d".equals(op);
    Struct image = delete ? struct(value, "before") : struct(value, "after");
    Map<String, Object> row = row(image, keyStruct);
    Long version = version(rule, row, lsn);
    if (version == null) {
      return Mapped.NONE;
    }

    List<CacheEvent> events = new ArrayList<>(2);
    CacheKey key = keyOrNull(rule, row, lsn);
    if (key != null) {
      events.add(event(rule, delete, image, key, version, eventSource, now)
          .withCreated("c".equals(op)));
    }
    if ("u".equals(op)) {
      CacheKey oldKey = oldKey(rule, struct(value, "before"), keyStruct);
      if (oldKey != null && !oldKey.equals(key)) {
        events.add(new CacheEvent(CacheEvent.Op.INVALIDATE, oldKey, version, 0, 1, null, null,
            eventSource, now));
      }
    }
    return events.isEmpty() ? Mapped.NONE
        : new Mapped(List.copyOf(events), commitTsMicros, table);
  }

  private CacheEvent event(TableRule rule, boolean delete, Struct image, CacheKey key,
      long version, CacheEvent.Source source, long now) {
    if (delete) {
      return new CacheEvent(CacheEvent.Op.DELETE, key, version, 0, 1, null, null, source, now);
    }
    if (rule.operation() == TableRule.Operation.UPSERT && image != null) {
      RowImages.Image payload = RowImages.payload(image, rule);
      if (payload.complete()) {
        byte[] encoded;
        try {
          encoded = Codecs.byName(rule.codec()).encode(payload.values());
        } catch (CodecException e) {
          CacheEvent upsert = new CacheEvent(CacheEvent.Op.UPSERT, key, version,
              rule.ttl().toMillis(), rule.schema(), rule.codec(), new byte[0], source, now);
          return uncarried.invalidateInstead(upsert, UncarriedUpserts.Reason.CODEC,
              "codec " + rule.codec() + ": " + e.getMessage());
        }
        return new CacheEvent(CacheEvent.Op.UPSERT, key, version, rule.ttl().toMillis(),
            rule.schema(), rule.codec(), encoded, source, now);
      }
      upsertsInvalidated.incrementAndGet();
      LOG.debug("Update of {} at LSN {} lacks an unchanged TOAST value: invalidating {}",
          rule.table(), source.lsn(), key);
    }
    return new CacheEvent(CacheEvent.Op.INVALIDATE, key, version, 0, 1, null, null, source, now);
  }

  /** @return the event version, or null (counted, logged) if the row has none */
  private Long version(TableRule rule, Map<String, Object> row, long lsn) {
    if (rule.versionSource() == TableRule.VersionSource.COMMIT_LSN) {
      return lsn;
    }
    String column = rule.versionColumn();
    if (!row.containsKey(column)) {
      throw new IllegalStateException(rule.table() + ": version column '" + column
          + "' is not in the change (is the table REPLICA IDENTITY FULL?)");
    }
    Object v = row.get(column);
    long version;
    if (v instanceof Number n) {
      version = n.longValue();
    } else if (v instanceof String s) {
      try {
        version = Long.parseLong(s);
      } catch (NumberFormatException e) {
        version = -1;
      }
    } else {
      version = -1;
    }
    if (version < 0 || version > CacheScripts.MAX_VERSION) {
      skippedRows.incrementAndGet();
      LOG.warn("Skipped a change of {} at LSN {}: version column '{}' is {}, not a version in"
          + " 0..{}", rule.table(), lsn, column, v, CacheScripts.MAX_VERSION);
      return null;
    }
    return version;
  }

  private CacheKey keyOrNull(TableRule rule, Map<String, Object> row, long lsn) {
    try {
      return rule.cacheKey(row);
    } catch (KeyMappingException e) {
      if (e.reason() == KeyMappingException.Reason.MISSING_COLUMN) {
        throw e;
      }
      skippedRows.incrementAndGet();
      LOG.warn("Skipped a change at LSN {} that has no cache key: {}", lsn, e.getMessage());
      return null;
    }
  }

  /** The key named by an update's before-image, if that image has every template column. */
  private static CacheKey oldKey(TableRule rule, Struct before, Struct keyStruct) {
    if (before == null) {
      return null;
    }
    Map<String, Object> row = row(before, keyStruct);
    for (String column : rule.keyTemplate().columns()) {
      if (row.get(column) == null) {
        return null;
      }
    }
    try {
      return rule.cacheKey(row);
    } catch (KeyMappingException e) {
      return null; // an old value that was never a valid key cannot have been cached
    }
  }

  private static Map<String, Object> row(Struct image, Struct keyStruct) {
    Map<String, Object> row = new HashMap<>();
    if (image != null) {
      for (Field f : image.schema().fields()) {
        row.put(f.name(), image.get(f));
      }
    }
    if (keyStruct != null) {
      for (Field f : keyStruct.schema().fields()) {
        if (row.get(f.name()) == null) {
          row.put(f.name(), keyStruct.get(f));
        }
      }
    }
    return row;
  }

  private static String table(Struct source) {
    return source.getString("schema") + '.' + source.getString("table");
  }

  private static Struct struct(Struct parent, String field) {
    return parent.schema().field(field) == null ? null : parent.getStruct(field);
  }

  private static Long long64(Struct s, String field) {
    Field f = s.schema().field(field);
    return f == null ? null : (Long) s.get(f);
  }
}
