/**
 * cdc-ingest: PostgreSQL row changes, captured by a Debezium embedded engine, published as cache
 * events on Kafka. Start with {@link io.freshcache.cdc.CdcIngest} and
 * {@link io.freshcache.cdc.CdcIngestConfig}; {@link io.freshcache.cdc.CdcIngestMain} is the
 * service's entry point.
 */
package io.freshcache.cdc;
