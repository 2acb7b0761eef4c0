package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcIngestConfig;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Debezium engine and PostgreSQL connector settings for a {@link CdcIngestConfig}.
 *
 * <p>Why these values:
 * <ul>
 *   <li>{@code pgoutput} is built into PostgreSQL 10+, so no server plugin has to be installed.
 *   <li>{@code publication.autocreate.mode=filtered} creates the publication for the rule tables
 *       only; the default ({@code all_tables}) needs a superuser and publishes every table.
 *   <li>{@code snapshot.mode=no_data}: the cache starts empty and fills by reads, so old rows need
 *       no events; only changes from the slot's creation on are streamed.
 *   <li>Latency: the connector's WAL reader pauses {@code poll.interval.ms} when the stream is idle,
 *       and its queue hands over a batch when {@code max.batch.size} is reached or
 *       {@code poll.interval.ms} has passed; so a lone change waits at most about twice the poll
 *       interval, while bulk changes travel in full batches (one Kafka acknowledgement wait each).
 *       {@code max.queue.size} must exceed the batch size.
 *   <li>{@code offset.flush.interval.ms} also paces the LSN confirmed to the slot, i.e. how much a
 *       crash repeats and how soon PostgreSQL may recycle WAL.
 *   <li>{@code decimal.handling.mode=string}: {@code numeric} columns arrive as their exact text
 *       ({@code 42.50}), which is what a key part (or a JSON payload) needs; the default turns an
 *       unconstrained {@code numeric} into a binary struct.
 *   <li>{@code tombstones.on.delete=false}: a delete event already says everything; tombstones
 *       exist for Kafka log compaction of Debezium's own topics, which we do not write.
 *   <li>{@code skipped.operations=none}: the connector drops truncates by default; we want to see
 *       them, to send a namespace invalidation or at least log and count the ignored ones.
 *   <li>Offsets: Kafka Connect's {@code KafkaOffsetBackingStore} on a compacted topic (created by
 *       the preflight check, so the replication factor {@code -1} here is never used) or its
 *       {@code FileOffsetBackingStore}; the Kafka store gets the {@code KAFKA_*} pass-through
 *       properties (SASL, TLS) as top-level worker properties, which its clients read.
 *   <li>{@code CDC_DEBEZIUM_*} properties come last and may override any value here except those
 *       {@link CdcIngestConfig#RESERVED_DEBEZIUM_PROPERTIES} names (e.g. {@code snapshot.mode},
 *       {@code heartbeat.interval.ms} may be changed; {@code slot.name} may not).
 * </ul>
 */
final class EngineProperties {
  static final String CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector";

  private EngineProperties() {}

  static Properties of(CdcIngestConfig c) {
    Properties p = new Properties();
    p.setProperty("name", c.connectorName());
    p.setProperty("connector.class", CONNECTOR_CLASS);
    p.setProperty("topic.prefix", c.connectorName());

    if (c.offsetStorage() == CdcIngestConfig.OffsetStorage.KAFKA) {
      p.setProperty("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore");
      p.setProperty("offset.storage.topic", c.offsetTopic());
      p.setProperty("offset.storage.partitions", "1");
      p.setProperty("offset.storage.replication.factor", "-1");
      // the offset store's producer, consumer and admin client take the worker config's
      // top-level properties: bootstrap servers and the KAFKA_* pass-through (SASL, TLS)
      c.kafka().apply(Map.of(), Set.of()).forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
    } else {
      p.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
      p.setProperty("offset.storage.file.filename", c.offsetFile().toAbsolutePath().toString());
    }
    p.setProperty("offset.flush.interval.ms", Long.toString(c.offsetFlushInterval().toMillis()));

    p.setProperty("database.hostname", c.dbHost());
    p.setProperty("database.port", Integer.toString(c.dbPort()));
    p.setProperty("database.dbname", c.database());
    p.setProperty("database.user", c.user());
    p.setProperty("database.password", c.password());

    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", c.slotName());
    p.setProperty("publication.name", c.publicationName());
    p.setProperty("publication.autocreate.mode", "filtered");
    p.setProperty("table.include.list", c.tables().stream()
        .map(EngineProperties::exactTableRegex)
        .collect(Collectors.joining(",")));
    p.setProperty("snapshot.mode", "no_data");
    p.setProperty("tombstones.on.delete", "false");
    // the connector skips truncates by default; ignored ones are still seen, to log and count them
    p.setProperty("skipped.operations", "none");
    p.setProperty("decimal.handling.mode", "string");

    // after a retriable failure (PostgreSQL restarted, connection lost) the task restarts after
    // this wait; Debezium's 10 s default would hold every change back that long
    p.setProperty("retriable.restart.connector.wait.ms", "2000");
    // a heartbeat record each second carries the server's latest LSN into the offsets even when
    // no captured table changes, so the slot's confirmed position keeps up with the WAL (other
    // tables' traffic is not retained) and a fast shutdown of PostgreSQL, whose walsender waits
    // until the client confirmed everything sent, finishes within about a second or two
    p.setProperty("heartbeat.interval.ms", "1000");
    p.setProperty("poll.interval.ms", Long.toString(c.pollInterval().toMillis()));
    p.setProperty("max.batch.size", Integer.toString(c.maxBatchSize()));
    p.setProperty("max.queue.size", Integer.toString(Math.max(8192, 4 * c.maxBatchSize())));
    // CDC_DEBEZIUM_*: TLS to PostgreSQL (database.sslmode...) and any other engine or connector
    // property; the config refuses the ones set above from freshcache's own settings
    c.debeziumProperties().forEach(p::setProperty);
    return p;
  }

  /** Include lists are regular expressions: match exactly this table and no look-alike. */
  static String exactTableRegex(String table) {
    StringBuilder sb = new StringBuilder(table.length() + 4);
    for (char ch : table.toCharArray()) {
      if ("\\.[]{}()*+-?^$|".indexOf(ch) >= 0) {
        sb.append('\\');
      }
      sb.append(ch);
    }
    return sb.toString();
  }
}
