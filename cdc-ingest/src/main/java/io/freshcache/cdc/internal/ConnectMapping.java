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
 */
public final class ConnectMapping {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectMapping.class);

  /** The record to send: key = cache key, value = event JSON. */
  public record Out(String topic, Integer partition, Schema keySchema, String key,
      Schema valueSchema, byte[] value) {}

  private final RowChangeMapper mapper;
  private final String topic;
  private final AtomicLong secondEventsDropped = new AtomicLong();

  public ConnectMapping(String connectorName, List<TableRule> rules, String topic) {
    this.mapper = new RowChangeMapper(connectorName, rules, Clock.systemUTC());
    this.topic = topic;
  }

  /**
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
    if (m.truncate() != null) {
      return new Out(topic, 0, Schema.STRING_SCHEMA, m.truncate().key(), Schema.BYTES_SCHEMA,
          m.truncate().json());
    }
    if (m.events().isEmpty()) {
      return null;
    }
    if (m.events().size() > 1) {
      secondEventsDropped.incrementAndGet();
      LOG.warn("A transform sends one event per change: not sent {}", m.events().get(1));
    }
    CacheEvent e = m.events().get(0);
    return new Out(topic, null, Schema.STRING_SCHEMA, e.key().toString(), Schema.BYTES_SCHEMA,
        CacheEventJson.write(e));
  }

  /** @return events not sent because a change needed two */
  public long secondEventsDropped() {
    return secondEventsDropped.get();
  }
}
