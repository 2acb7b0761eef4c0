package io.freshcache.cdc.internal;

import io.freshcache.cdc.KeyMappingException;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one Debezium change record into the cache events it implies.
 *
 * <p>What is forwarded and what is skipped: only the data changes of a mapped table (Debezium
 * {@code op} {@code c}, {@code u}, {@code d}) become events. Tombstones (null value), records
 * that are not a change envelope (heartbeats, schema changes), snapshot reads ({@code r}),
 * logical-decoding messages ({@code m}) and truncates ({@code t}, skipped by the connector by
 * default) map to nothing; the caller still marks them processed so the offset moves on.
 *
 * <p>Which row image names the key: the after-image for inserts and updates, the before-image for
 * deletes; columns that are null there are filled from the record key (the primary key), which is
 * all a delete carries under {@code REPLICA IDENTITY DEFAULT}. When an update's before-image
 * (present under {@code REPLICA IDENTITY FULL}) names a different key, because a templated
 * non-key column changed, the old key is invalidated too; otherwise a reader could keep finding
 * the old value under its old name.
 *
 * <p>Rows without a key: a template column missing from the table means the rule does not fit
 * the table; that {@link KeyMappingException} propagates and stops the engine before the offset
 * is committed. A row whose key column is null, not renderable or yields an invalid key is
 * skipped with a warning: no client can build that key either (the same {@link CacheKey} rules
 * apply there), so nothing can be cached under it.
 *
 * <p>Version: {@code source.lsn}, the LSN of the change. PostgreSQL row locks order two changes of
 * one row, so per row the LSN grows in commit order, which is what the fence needs.
 */
final class RowChangeMapper {
  private static final Logger LOG = LoggerFactory.getLogger(RowChangeMapper.class);

  /** The events of one change and its commit time, for the lag measurement. */
  record Mapped(List<CacheEvent> events, long commitTsMicros) {
    static final Mapped NONE = new Mapped(List.of(), -1);
  }

  private final String connectorName;
  private final Map<String, TableRule> rulesByTable;
  private final Clock clock;
  /** Written by the engine's one handler thread, read by any. */
  private volatile long skippedRows;

  RowChangeMapper(String connectorName, List<TableRule> rules, Clock clock) {
    this.connectorName = connectorName;
    this.rulesByTable = rules.stream()
        .collect(Collectors.toUnmodifiableMap(TableRule::table, Function.identity()));
    this.clock = clock;
  }

  /** @return rows skipped because they have no valid key */
  long skippedRows() {
    return skippedRows;
  }

  /**
   * @return the events of the change, or {@link Mapped#NONE} when it implies none
   * @throws KeyMappingException with reason {@code MISSING_COLUMN} if the rule does not fit
   * @throws IllegalStateException if a change envelope lacks its source LSN
   */
  Mapped map(SourceRecord record) {
    if (!(record.value() instanceof Struct value) || value.schema().field("op") == null
        || value.schema().field("source") == null) {
      return Mapped.NONE;
    }
    String op = value.getString("op");
    if (!"c".equals(op) && !"u".equals(op) && !"d".equals(op)) {
      if ("t".equals(op)) {
        LOG.warn("Skipped a TRUNCATE of {}: not handled yet, cached entries stay until their TTL",
            table(value.getStruct("source")));
      }
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

    Struct keyStruct = record.key() instanceof Struct k ? k : null;
    boolean delete = "d".equals(op);
    Struct image = delete ? struct(value, "before") : struct(value, "after");
    CacheEvent.Op eventOp = delete ? CacheEvent.Op.DELETE : CacheEvent.Op.INVALIDATE;
    long now = clock.millis();

    List<CacheEvent> events = new ArrayList<>(2);
    CacheKey key = keyOrNull(rule, row(image, keyStruct), lsn);
    if (key != null) {
      events.add(new CacheEvent(eventOp, key, lsn, 0, 1, null, null, eventSource, now));
    }
    if ("u".equals(op)) {
      CacheKey oldKey = oldKey(rule, struct(value, "before"), keyStruct);
      if (oldKey != null && !oldKey.equals(key)) {
        events.add(new CacheEvent(CacheEvent.Op.INVALIDATE, oldKey, lsn, 0, 1, null, null,
            eventSource, now));
      }
    }
    return events.isEmpty() ? Mapped.NONE : new Mapped(List.copyOf(events), commitTsMicros);
  }

  private CacheKey keyOrNull(TableRule rule, Map<String, Object> row, long lsn) {
    try {
      return rule.cacheKey(row);
    } catch (KeyMappingException e) {
      if (e.reason() == KeyMappingException.Reason.MISSING_COLUMN) {
        throw e;
      }
      skippedRows = skippedRows + 1;
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
