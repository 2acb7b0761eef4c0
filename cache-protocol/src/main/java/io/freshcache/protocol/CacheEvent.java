package io.freshcache.protocol;

import java.util.Arrays;
import java.util.Objects;

/**
 * One cache event on Kafka ({@code freshcache.changes} from cdc-ingest, {@code freshcache.writes}
 * from applications). The Kafka record key is {@link #key()}, so all events of one key are
 * ordered in one partition. The wire form is JSON, see {@link CacheEventJson}:
 *
 * <pre>{@code
 * {"v":1, "op":"invalidate", "key":"catalog:product:42", "version":1234, "ttlMs":3600000, "schema":1,
 *  "codec":"json", "payload":"<base64, upsert only>",
 *  "source":{"connector":"pg-main","db":"shop","table":"public.products","lsn":1234,
 *            "txId":77,"commitTsMs":1764140000000},
 *  "producedAtMs":1764140000012}
 * }</pre>
 *
 * <p>An event of a row insert may carry {@code "created":true} ({@link #created()}): it lets the
 * event pass the delete tombstone of the key's fence (see {@code apply.lua} and docs/design.md),
 * so a row deleted and inserted again, with its row version starting again, becomes cacheable
 * again. Readers ignore fields they do not know, and a missing field means {@code false}.
 *
 * @param op what to do with the key
 * @param key the logical cache key
 * @param version the data version (row version or commit LSN); events older than the key's
 *     fence are stale and skipped
 * @param ttlMs Redis TTL for an upsert, ms; 0 for other operations
 * @param schema the schema version of an upsert's payload (the value key {@code :v<schema>});
 *     1 when not given
 * @param codec the payload's codec name for an upsert, or {@code null}
 * @param payload the encoded value for an upsert, or {@code null}
 * @param source where the change came from, or {@code null} for application events
 * @param producedAtMs when the event was produced, epoch ms
 * @param created the event is a row insert ({@link Op#UPSERT} or {@link Op#INVALIDATE} only):
 *     it resets a fence that holds a delete tombstone to its own version; false for anything
 *     that is not known to be an insert
 */
public record CacheEvent(Op op, CacheKey key, long version, long ttlMs, int schema, String codec,
    byte[] payload, Source source, long producedAtMs, boolean created) {

  /** Current schema version of the JSON form ({@code "v"}). */
  public static final int SCHEMA_VERSION = 1;

  /** What an event does to its key. */
  public enum Op {
    /** Drop the cached value (all schema versions), revoke any lease, raise the fence. */
    INVALIDATE,
    /** Write the payload as the new value if its version is the newest seen. */
    UPSERT,
    /** The row is gone: same effect on the cache as {@link #INVALIDATE}. */
    DELETE,
    /**
     * Every row of an entity is gone (a {@code TRUNCATE}): forget every key
     * {@code service:entity:...} entirely (values, leases and fences: row versions may start
     * again after a truncate). The event's
     * key is the namespace wildcard {@code service:entity:*} ({@link CacheKey#namespace}); it has
     * no payload. A producer sends one copy to every partition of the topic, so that each
     * partition's copy comes after every earlier event of the keys in that partition; a writer
     * drops the namespace at each copy.
     */
    INVALIDATE_NAMESPACE;

    /** @return the wire name, e.g. {@code invalidate} */
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Where a change was captured.
   *
   * @param connector the cdc-ingest connector name
   * @param db the database name
   * @param table the table, {@code schema.table}
   * @param lsn the commit LSN
   * @param txId the transaction id, or -1
   * @param commitTsMs the commit time, epoch ms
   */
  public record Source(String connector, String db, String table, long lsn, long txId,
      long commitTsMs) {}

  /**
   * Validates the event; see the field docs for the rules.
   *
   * @param op what to do with the key, not null
   * @param key the logical key, not null; it is the namespace wildcard {@code service:entity:*}
   *     if and only if {@code op} is {@link Op#INVALIDATE_NAMESPACE}
   * @param version the data version, in [0, {@link CacheScripts#MAX_VERSION}]
   * @param ttlMs the Redis TTL in ms, at least 0; greater than 0 for an upsert
   * @param schema the schema version of the payload, at least 1
   * @param codec the payload's codec name; required for an upsert, may be {@code null} otherwise
   * @param payload the encoded value; required for an upsert, must be {@code null} for a
   *     namespace invalidation
   * @param source where the change came from, or {@code null}
   * @param producedAtMs when the event was produced, epoch ms
   * @param created a row insert; allowed for {@link Op#UPSERT} and {@link Op#INVALIDATE} only
   * @throws NullPointerException if {@code op} or {@code key} is null
   * @throws IllegalArgumentException if any other rule above is broken; the message names the
   *     key
   */
  public CacheEvent {
    Objects.requireNonNull(op, "op");
    Objects.requireNonNull(key, "key");
    if ((op == Op.INVALIDATE_NAMESPACE) != key.isNamespace()) {
      throw new IllegalArgumentException(op == Op.INVALIDATE_NAMESPACE
          ? "invalidate_namespace needs a namespace key service:entity:* but was " + key
          : op.wireName() + " needs a single key, not the namespace wildcard " + key);
    }
    if (op == Op.INVALIDATE_NAMESPACE && payload != null) {
      throw new IllegalArgumentException("invalidate_namespace of " + key + " takes no payload");
    }
    if (op == Op.UPSERT) {
      if (payload == null) {
        throw new IllegalArgumentException("upsert of " + key + " needs a payload");
      }
      if (codec == null) {
        throw new IllegalArgumentException("upsert of " + key + " needs a codec");
      }
      if (ttlMs <= 0) {
        throw new IllegalArgumentException("upsert of " + key + " needs ttlMs > 0 but was " + ttlMs);
      }
    }
    if (schema < 1) {
      throw new IllegalArgumentException("schema of " + key + " must be >= 1 but was " + schema);
    }
    if (ttlMs < 0) {
      throw new IllegalArgumentException("ttlMs must be >= 0 but was " + ttlMs);
    }
    if (version < 0) {
      throw new IllegalArgumentException("version of " + key + " must be >= 0 but was " + version);
    }
    if (version > CacheScripts.MAX_VERSION) {
      throw new IllegalArgumentException("version of " + key + " must be <= "
          + CacheScripts.MAX_VERSION + " but was " + version);
    }
    if (created && op != Op.UPSERT && op != Op.INVALIDATE) {
      throw new IllegalArgumentException(op.wireName() + " of " + key
          + " cannot be marked created (only an upsert or invalidate of an inserted row)");
    }
  }

  /**
   * An event that is not marked {@link #created()}; the same rules as the canonical constructor.
   *
   * @param op what to do with the key, not null
   * @param key the logical key, not null
   * @param version the data version
   * @param ttlMs the Redis TTL in ms
   * @param schema the schema version of the payload
   * @param codec the payload's codec name, or {@code null}
   * @param payload the encoded value, or {@code null}
   * @param source where the change came from, or {@code null}
   * @param producedAtMs when the event was produced, epoch ms
   * @throws NullPointerException if {@code op} or {@code key} is null
   * @throws IllegalArgumentException if a rule of the canonical constructor is broken
   */
  public CacheEvent(Op op, CacheKey key, long version, long ttlMs, int schema, String codec,
      byte[] payload, Source source, long producedAtMs) {
    this(op, key, version, ttlMs, schema, codec, payload, source, producedAtMs, false);
  }

  /**
   * @param isCreated whether the copy is marked as a row insert
   * @return this event with {@link #created()} set to {@code isCreated}
   * @throws IllegalArgumentException if {@code isCreated} and the op is not an upsert or
   *     invalidate
   */
  public CacheEvent withCreated(boolean isCreated) {
    return isCreated == created ? this : new CacheEvent(op, key, version, ttlMs, schema, codec,
        payload, source, producedAtMs, isCreated);
  }

  /**
   * Creates a namespace invalidation ({@link Op#INVALIDATE_NAMESPACE}) of an entity, e.g. after
   * a {@code TRUNCATE}.
   *
   * @param service the service part, validated as by {@link CacheKey#namespace(String, String)}
   * @param entity the entity part, validated as by {@link CacheKey#namespace(String, String)}
   * @param version the data version, in [0, {@link CacheScripts#MAX_VERSION}]; informational
   *     only (no fence is compared or raised)
   * @param source where the truncate was captured, or {@code null}
   * @param producedAtMs when the event was produced, epoch ms
   * @return a namespace invalidation of every key {@code service:entity:...}, with TTL 0,
   *     schema 1 and no codec or payload
   * @throws IllegalArgumentException if a name breaks the key rules or {@code version} is out
   *     of range
   */
  public static CacheEvent invalidateNamespace(String service, String entity, long version,
      Source source, long producedAtMs) {
    return new CacheEvent(Op.INVALIDATE_NAMESPACE, CacheKey.namespace(service, entity), version, 0,
        1, null, null, source, producedAtMs);
  }

  /**
   * Creates an invalidation of one key, as an application publishes it.
   *
   * @param key the logical key, not null and not a namespace wildcard
   * @param version the data version, in [0, {@link CacheScripts#MAX_VERSION}]: the event is
   *     stale if the key's fence is already newer, else it raises the fence to this version
   * @param producedAtMs when the event was produced, epoch ms
   * @return an invalidation of {@code key} at {@code version}, with TTL 0, schema 1, and without
   *     a codec, payload or source
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is a namespace wildcard or {@code version}
   *     is out of range
   */
  public static CacheEvent invalidate(CacheKey key, long version, long producedAtMs) {
    return new CacheEvent(Op.INVALIDATE, key, version, 0, 1, null, null, null, producedAtMs);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheEvent e && op == e.op && key.equals(e.key) && version == e.version
        && ttlMs == e.ttlMs && schema == e.schema && Objects.equals(codec, e.codec) && Arrays.equals(payload, e.payload)
        && Objects.equals(source, e.source) && producedAtMs == e.producedAtMs && created == e.created;
  }

  @Override
  public int hashCode() {
    return Objects.hash(op, key, version, ttlMs, schema, codec, Arrays.hashCode(payload), source, producedAtMs, created);
  }

  @Override
  public String toString() {
    return "CacheEvent[" + op.wireName() + " " + key + " v" + version
        + (payload == null ? "" : ", " + payload.length + " bytes " + codec)
        + (created ? ", created" : "") + (source == null ? "" : ", " + source) + "]";
  }
}
