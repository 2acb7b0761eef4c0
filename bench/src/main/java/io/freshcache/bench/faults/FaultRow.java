package io.freshcache.bench.faults;

/**
 * A row of the suite's tables as readers see it: the cached value of both tables (loaded by a
 * client, or written by cdc-ingest's upsert rule with camelCase field names).
 *
 * @param id the primary key
 * @param name a label the writers change
 * @param stamp unique over the whole run for every row image the suite's writers commit; it
 *     names the change that wrote the image, so a read result identifies its commit
 * @param version the row version column (starts at 1 on insert, +1 per update)
 * @param blob empty, except on the oversize row
 */
public record FaultRow(long id, String name, long stamp, long version, String blob) {}
