/**
 * The Kafka Connect path: {@link io.freshcache.cdc.connect.CacheEventTransform}, a Single Message
 * Transform that gives a Debezium PostgreSQL connector running in Kafka Connect the same rules and
 * the same cache events as cdc-ingest.
 */
package io.freshcache.cdc.connect;
