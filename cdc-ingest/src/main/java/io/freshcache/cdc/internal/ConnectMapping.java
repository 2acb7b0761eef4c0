package io.freshcache.cdc.internal;

import io.freshcache.cdc.KeyMappingException;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheEventJson;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mapping behind {@link io.freshcache.cdc.connect.CacheEventTransform}: the same
 * {@link RowChangeMapper} as the embedded engine, reduced to one output record per input record.
 *
 * <p>Every output record leaves the partition to the producer (the key's hash partition), as
 * cdc-ingest does for row events. That includes a truncate's
 * {@link io.freshcache.protocol.CacheEvent.Op#INVALIDATE_NAMESPACE} event: cdc-ingest sends it to
 * every partition, a transform can send it once only, so it goes to the partition of its key
 * {@code service:entity:*} and is ordered only against the events of that partition (see
 * {@link io.freshcache.cdc.connect.CacheEventTransform}).
 */
public final class ConnectMapping {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectMapping.class);

  /**
   * The record to send: key = cache key, value = event JSON.
   *
   * @param topic the cache-event topic
   * @param partition the partition, or null for the producer's choice by key
   * @param keySchema the key's schema, a string
   * @param key the cache key, {@code service:entity:*} for a namespace invalidation
   * @param valueSchema the value's schema, bytes
   * @param value the event as {@link CacheEventJson} writes it
   */
  public record Out(String topic, Integer partition, Schema keySchema, String key,
      Schema valueSchema, byte[] value) {}

  private final RowChangeMapper mapper;
  private final String topic;
  private final AtomicLong secondEventsDropped = new AtomicLong();

  /**
   * @param connectorName written as {@code source.connector} in the events
   * @param rules the table rules
   * @param topic the cache-event topic
   */
  public ConnectMapping(String connectorName, List<TableRule> rules, String topic) {
    this.mapper = new RowChangeMapper(connectorName, rules, Clock.systemUTC());
    this.topic = topic;
  }

  /**
   * Maps one Debezium change record.
   *
   * @param partition the input record's partition
   * @param keySchema the input record's key schema
   * @param key the input record's key (the primary key)
   * @param valueSchema the input record's value schema
   * @param value the input record's value (the change envelope)
   * @return the event record, or null if the change implies no event
   * @throws DataException if a rule does not fit the record's table
   */
  public Out map(Integer partition, Schema keySchema, Object key, Schema valueSchema, Object value) {
    if (value == null) {
      return null;
    }
    RowChangeMapper.Mapped m;
    try {
      m = mapper.map(new SourceRecord(null, null, "", partition, keySchema, key, valueSchema, value));
    } catch (KeyMappingException | IllegalStateException e) {
      throw new DataException(e.getMessage(), e);
    }
    if (m.events().isEmpty()) {
      return null;
    }
    if (m.events().size() > 1) {
      secondEventsDropped.incrementAndGet();
      LOG.warn("A transform sends one event per change: not sent {}", m.events().get(1));
    }
    CacheEvent e = m.events().get(0);
    if (e.op() == CacheEvent.Op.INVALIDATE_NAMESPACE) {
      LOG.warn("A transform sends one copy of invalidate_namespace {} (cdc-ingest sends one per"
          + " partition): on a topic with more than one partition it is ordered only against the"
          + " events of its key's partition", e.key());
    }
    return new Out(topic, null, Schema.STRING_SCHEMA, e.key().toString(), Schema.BYTES_SCHEMA,
        CacheEventJson.write(e));
  }

  /** @return events not sent because a change needed two */
  public long secondEventsDropped() {
    return secondEventsDropped.get();
  }
}
