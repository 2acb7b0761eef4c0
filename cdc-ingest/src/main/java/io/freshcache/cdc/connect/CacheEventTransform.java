package io.freshcache.cdc.connect;

import io.freshcache.cdc.RulesFile;
import io.freshcache.cdc.TableRule;
import io.freshcache.cdc.internal.ConnectMapping;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * A Kafka Connect Single Message Transform that turns the change records of Debezium's PostgreSQL
 * connector (its standard envelope) into freshcache cache events, by the same rules as cdc-ingest:
 * the way to serve freshcache from a Debezium connector that already runs in Kafka Connect.
 *
 * <p>Each insert, update or delete of a table with a rule becomes one record on {@code topic}
 * (default {@code freshcache.changes}): key = the cache key (a string), value = the event's JSON
 * bytes, exactly what cdc-ingest produces. A truncate becomes one {@code invalidate_namespace}
 * record keyed {@code service:entity:*} (unless its rule says {@code truncate: ignore}); see
 * below for its limit. Everything else (tombstones, heartbeats, snapshot
 * reads, unmapped tables, rows without a key) is dropped; Connect still commits the source offset
 * of a dropped record. Connect commits a source offset only after the producer has acknowledged
 * the records before it, which gives the same at-least-once delivery as cdc-ingest.
 *
 * <p>Configuration ({@code transforms.freshcache.<name>}):
 * <ul>
 *   <li>{@code rules.file}: a YAML rules file ({@link RulesFile}), or
 *   <li>{@code rules}: the {@code CDC_RULES} text form, {@code schema.table=template;...}
 *   <li>{@code topic}: the cache-event topic, default {@code freshcache.changes}
 *   <li>{@code connector.name}: {@code source.connector} in the events, default {@code connect}
 * </ul>
 * The connector must use {@code key.converter=org.apache.kafka.connect.storage.StringConverter}
 * and {@code value.converter=org.apache.kafka.connect.converters.ByteArrayConverter}, and the
 * worker's producer {@code acks=all} with idempotence (Kafka's defaults since 3.0).
 *
 * <p>Differences from cdc-ingest, because a transform maps one record to at most one:
 * <ul>
 *   <li>A change that needs two events (an update that moved a row to another key, possible only
 *       when the primary key itself is updated in place) sends the new key's event only and logs
 *       the old key.
 *   <li>A truncate's {@code invalidate_namespace} event is sent once, to the partition its key
 *       {@code service:entity:*} hashes to, not once to every partition as cdc-ingest does (a
 *       transform cannot emit more records, and a side producer's records would not be ordered
 *       after those Connect has not sent yet). The writer that reaches it still forgets every
 *       cached key of the namespace, but the drop is ordered only after the earlier events of
 *       that one partition. An event of the truncated table that precedes the truncate but sits
 *       in another partition whose writer has not applied it yet, or applies it again after a
 *       restart, can land after the drop: an upsert writes a truncated row back, where it stays
 *       until its TTL or the row's next change; under a row-version rule any such event leaves a
 *       fence that refuses the restarted row versions until it expires. An invalidation of an
 *       LSN-versioned rule applied late does no harm. So use a single-partition topic for the
 *       cache events where that window matters, or {@code truncate: ignore}, which sends
 *       nothing and leaves every cached entry of the table until its TTL. Each truncate sent
 *       this way is logged as a warning.
 * </ul>
 * The rules are not checked against the database's catalog here (Connect gives a transform no
 * database connection): run cdc-ingest once with the same rules file, or check them in review.
 *
 * @param <R> the record type, {@code SourceRecord} in a source connector
 */
public final class CacheEventTransform<R extends ConnectRecord<R>> implements Transformation<R> {
  /** Path of a YAML rules file. */
  public static final String RULES_FILE_CONFIG = "rules.file";
  /** Rules in the {@code CDC_RULES} text form. */
  public static final String RULES_CONFIG = "rules";
  /** The topic of the cache events. */
  public static final String TOPIC_CONFIG = "topic";
  /** The connector name written as {@code source.connector}. */
  public static final String CONNECTOR_NAME_CONFIG = "connector.name";

  /** Default {@value #TOPIC_CONFIG}. */
  public static final String DEFAULT_TOPIC = "freshcache.changes";
  /** Default {@value #CONNECTOR_NAME_CONFIG}. */
  public static final String DEFAULT_CONNECTOR_NAME = "connect";

  private static final ConfigDef CONFIG = new ConfigDef()
      .define(RULES_FILE_CONFIG, ConfigDef.Type.STRING, null, ConfigDef.Importance.HIGH,
          "Path of a YAML rules file (see cdc-ingest's RulesFile); this or 'rules'.")
      .define(RULES_CONFIG, ConfigDef.Type.STRING, null, ConfigDef.Importance.HIGH,
          "Rules in the text form schema.table=keyTemplate;...; this or 'rules.file'.")
      .define(TOPIC_CONFIG, ConfigDef.Type.STRING, DEFAULT_TOPIC, ConfigDef.Importance.MEDIUM,
          "Topic of the cache events.")
      .define(CONNECTOR_NAME_CONFIG, ConfigDef.Type.STRING, DEFAULT_CONNECTOR_NAME,
          ConfigDef.Importance.LOW, "Connector name written as source.connector in the events.");

  private ConnectMapping mapping;

  /**
   * Reads the settings and the rules; Connect calls it once before the first {@link #apply}.
   *
   * @param configs the transform's settings, without the {@code transforms.<name>.} prefix
   * @throws ConfigException if neither or both of {@value #RULES_FILE_CONFIG} and
   *     {@value #RULES_CONFIG} are set, or the rules cannot be read or are invalid (the message
   *     is the rules' own)
   */
  @Override
  public void configure(Map<String, ?> configs) {
    AbstractConfig c = new AbstractConfig(CONFIG, configs);
    String file = c.getString(RULES_FILE_CONFIG);
    String text = c.getString(RULES_CONFIG);
    if ((file == null) == (text == null)) {
      throw new ConfigException("set exactly one of '" + RULES_FILE_CONFIG + "' and '"
          + RULES_CONFIG + "'");
    }
    List<TableRule> rules;
    try {
      rules = file != null ? RulesFile.load(Path.of(file)) : TableRule.parseAll(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    }
    mapping = new ConnectMapping(c.getString(CONNECTOR_NAME_CONFIG), rules,
        c.getString(TOPIC_CONFIG));
  }

  /**
   * Maps one Debezium change record to its cache event record, which keeps the input's timestamp.
   *
   * @param record a record of Debezium's PostgreSQL connector
   * @return the cache event of {@code record}, or null to drop it
   * @throws org.apache.kafka.connect.errors.DataException if a rule does not fit the record's
   *     table (a template, version or payload column missing) or a change lacks its source LSN;
   *     Connect's error handling decides what follows
   */
  @Override
  public R apply(R record) {
    ConnectMapping.Out out = mapping.map(record.kafkaPartition(), record.keySchema(),
        record.key(), record.valueSchema(), record.value());
    if (out == null) {
      return null;
    }
    return record.newRecord(out.topic(), out.partition(), out.keySchema(), out.key(),
        out.valueSchema(), out.value(), record.timestamp());
  }

  @Override
  public ConfigDef config() {
    return CONFIG;
  }

  @Override
  public void close() {
    mapping = null;
  }
}
