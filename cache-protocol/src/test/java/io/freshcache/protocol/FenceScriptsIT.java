package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fence rules of {@code apply.lua} and {@code fill.lua}, run as the writer and the client run
 * them, on the Redis Cluster of {@code dev/stack} ({@code REDIS_NODES}): the delete tombstone, the
 * insert that passes it, replays of a row's whole history, and the fence's lifetime against the
 * value's.
 */
class FenceScriptsIT {
  private static final long FENCE_TTL_MS = 86_400_000;
  private static RedisClusterClient client;
  private static StatefulRedisClusterConnection<byte[], byte[]> conn;
  private static RedisAdvancedClusterCommands<byte[], byte[]> redis;
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void connect() {
    String nodes = System.getenv().getOrDefault("REDIS_NODES", "127.0.0.1:7000");
    List<RedisURI> seeds = Arrays.stream(nodes.split(",")).map(String::trim).map(hp -> {
      int colon = hp.lastIndexOf(':');
      return RedisURI.builder().withHost(hp.substring(0, colon))
          .withPort(Integer.parseInt(hp.substring(colon + 1))).withTimeout(Duration.ofSeconds(20))
          .build();
    }).toList();
    client = RedisClusterClient.create(seeds);
    conn = client.connect(ByteArrayCodec.INSTANCE);
    redis = conn.sync();
  }

  @AfterAll
  static void close() {
    conn.close();
    client.shutdown();
  }

  private static CacheKey key(String name) {
    return CacheKey.of("fenceit", name, RUN);
  }

  // --- the scripts, with the arguments cache-writer's FencedApplier and client-lib pass ---

  private static long apply(CacheKey k, String op, long version, long payloadVersion,
      long ttlMs, boolean created, long fenceTtlMs) {
    byte[] envelope = op.equals(CacheScripts.OP_UPSERT) ? envelope(payloadVersion) : new byte[0];
    byte[][] keys = {b(k.fenceKey()), b(k.leaseKey()), b(k.valueKey(1))};
    byte[][] args = {b(op), b(Long.toString(version)), envelope, b(Long.toString(ttlMs)),
        b(CacheScripts.schemaField(1)), b(Long.toString(fenceTtlMs)), b(k.valueKeyPrefix()),
        b(CacheScripts.createdArg(created))};
    return redis.eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER, keys, args);
  }

  private static long upsert(CacheKey k, long version, boolean created) {
    return apply(k, CacheScripts.OP_UPSERT, version, version, 60_000, created, FENCE_TTL_MS);
  }

  private static long delete(CacheKey k, long version) {
    return apply(k, CacheScripts.OP_DELETE, version, 0, 0, false, FENCE_TTL_MS);
  }

  private static long invalidate(CacheKey k, long version, boolean created) {
    return apply(k, CacheScripts.OP_INVALIDATE, version, 0, 0, created, FENCE_TTL_MS);
  }

  /** getOrLease then fill, as a client's read of a row at {@code loadedVersion}. */
  private static long leaseAndFill(CacheKey k, long loadedVersion, long ttlMs, long fenceTtlMs) {
    byte[] token = b(UUID.randomUUID().toString());
    List<Object> lease = redis.eval(CacheScripts.GET_OR_LEASE.source(), ScriptOutputType.MULTI,
        new byte[][] {b(k.valueKey(1)), b(k.leaseKey())}, token, b("30000"));
    assertThat((Long) lease.get(0)).as("lease of %s", k).isEqualTo(CacheScripts.LEASE_GRANTED);
    byte[][] keys = {b(k.valueKey(1)), b(k.leaseKey()), b(k.fenceKey())};
    byte[][] args = {token, b(Long.toString(loadedVersion)), envelope(loadedVersion),
        b(Long.toString(ttlMs)), b(CacheScripts.schemaField(1)), b(Long.toString(fenceTtlMs))};
    return redis.eval(CacheScripts.FILL.source(), ScriptOutputType.INTEGER, keys, args);
  }

  private static long fill(CacheKey k, long loadedVersion) {
    return leaseAndFill(k, loadedVersion, 60_000, FENCE_TTL_MS);
  }

  private static byte[] envelope(long version) {
    return new Envelope((byte) 1, 0, version, 0, 0, 0, b("row v" + version)).encode();
  }

  /** @return the version of the cached value, or null on a miss */
  private static Long cached(CacheKey k) {
    byte[] v = redis.get(b(k.valueKey(1)));
    return v == null ? null : Envelope.decode(v).dataVersion();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // --- item 3 of issue 8: deletes and re-inserts of row-version entities ---

  @Test
  void aFillAtTheDeletedRowsVersionIsRefused() {
    CacheKey k = key("fill-after-delete");
    assertThat(upsert(k, 5, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(delete(k, 5)).isEqualTo(CacheScripts.APPLY_APPLIED);
    // a lagging replica still returns the deleted row at its last version
    assertThat(fill(k, 5)).isEqualTo(CacheScripts.FILL_FENCED);
    assertThat(cached(k)).isNull();
  }

  @Test
  void anUpsertAtTheDeletedRowsVersionIsStale() {
    CacheKey k = key("upsert-after-delete");
    assertThat(invalidate(k, 5, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(delete(k, 5)).isEqualTo(CacheScripts.APPLY_APPLIED);
    // a late freshcache.writes upsert, or a retried batch, of the row before its delete
    assertThat(upsert(k, 5, false)).isEqualTo(CacheScripts.APPLY_STALE);
    assertThat(cached(k)).isNull();
    // a redelivered delete or invalidation at the same version stays harmless
    assertThat(delete(k, 5)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(invalidate(k, 5, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(upsert(k, 5, false)).isEqualTo(CacheScripts.APPLY_STALE);
  }

  @Test
  void withoutATombstoneEqualVersionsStillApplyAndFill() {
    CacheKey k = key("equal-no-tombstone");
    assertThat(invalidate(k, 7, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(fill(k, 7)).isEqualTo(CacheScripts.FILL_OK);
    assertThat(upsert(k, 7, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(cached(k)).isEqualTo(7);
  }

  @Test
  void aReinsertedRowWhoseVersionStartsAgainIsCacheableAgain() {
    CacheKey k = key("reinsert");
    assertThat(upsert(k, 1, true)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(upsert(k, 9, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(delete(k, 9)).isEqualTo(CacheScripts.APPLY_APPLIED);
    // before the insert event arrives, the new row at version 1 is still fenced (conservative)
    assertThat(fill(k, 1)).isEqualTo(CacheScripts.FILL_FENCED);
    // the insert passes the tombstone and resets the fence to its own version
    assertThat(invalidate(k, 1, true)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(fill(k, 1)).isEqualTo(CacheScripts.FILL_OK);
    assertThat(cached(k)).isEqualTo(1);
    assertThat(upsert(k, 2, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(cached(k)).isEqualTo(2);
    // an insert without a tombstone before it is ordered by its version like any event
    assertThat(upsert(k, 1, true)).isEqualTo(CacheScripts.APPLY_STALE);
    assertThat(cached(k)).isEqualTo(2);
  }

  @Test
  void aRowDeletedAtAHigherVersionDoesNotComeBackByAnOlderUpdate() {
    CacheKey k = key("delete-then-old");
    assertThat(upsert(k, 3, true)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(delete(k, 4)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(upsert(k, 3, false)).isEqualTo(CacheScripts.APPLY_STALE);
    assertThat(upsert(k, 4, false)).isEqualTo(CacheScripts.APPLY_STALE);
    assertThat(fill(k, 4)).isEqualTo(CacheScripts.FILL_FENCED);
    // a newer version than the delete's is a live row again (versions that do not restart)
    assertThat(upsert(k, 5, false)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(cached(k)).isEqualTo(5);
  }

  /**
   * At-least-once: the writer may apply a row's history again from any earlier offset, in
   * order. Whatever the replay's starting point, the end state must be the last incarnation's
   * last version, and fills of that version must be accepted.
   */
  @Test
  void replaysOfInsertUpdateDeleteInsertInOrderEndWithTheLastIncarnation() {
    record Ev(String op, long version, boolean created) {}
    List<Ev> history = List.of(new Ev("u", 1, true), new Ev("u", 2, false), new Ev("u", 3, false),
        new Ev("d", 3, false), new Ev("u", 1, true), new Ev("u", 2, false), new Ev("d", 2, false),
        new Ev("u", 1, true), new Ev("u", 2, false));
    for (int from = 0; from < history.size(); from++) {
      for (boolean upserts : new boolean[] {true, false}) {
        CacheKey k = key("replay-" + from + "-" + upserts);
        for (List<Ev> pass : List.of(history, history.subList(from, history.size()))) {
          for (Ev e : pass) {
            if (e.op().equals("d")) {
              delete(k, e.version());
            } else if (upserts) {
              upsert(k, e.version(), e.created());
            } else {
              invalidate(k, e.version(), e.created());
            }
          }
        }
        if (upserts) {
          assertThat(cached(k)).as("replay from %d", from).isEqualTo(2);
        } else {
          assertThat(cached(k)).as("replay from %d", from).isNull();
          assertThat(fill(k, 2)).as("fill after replay from %d", from)
              .isEqualTo(CacheScripts.FILL_OK);
        }
      }
    }
  }

  @Test
  void callersWithoutTheCreatedArgumentAreNotInserts() {
    CacheKey k = key("old-caller");
    assertThat(delete(k, 4)).isEqualTo(CacheScripts.APPLY_APPLIED);
    byte[][] keys = {b(k.fenceKey()), b(k.leaseKey()), b(k.valueKey(1))};
    byte[][] sevenArgs = {b("u"), b("1"), envelope(1), b("60000"), b("s1"),
        b(Long.toString(FENCE_TTL_MS)), b(k.valueKeyPrefix())};
    assertThat((Long) redis.eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER, keys,
        sevenArgs)).isEqualTo(CacheScripts.APPLY_STALE);
  }

  // --- item 5 of issue 8: the fence outlives every value it lists ---

  @Test
  void aFillWithALongerTtlThanTheFenceKeepsTheFenceAlive() {
    CacheKey k = key("fence-ttl-fill");
    assertThat(leaseAndFill(k, 3, 600_000, 1_000)).isEqualTo(CacheScripts.FILL_OK);
    assertThat(redis.pttl(b(k.fenceKey()))).isGreaterThan(300_000);
  }

  @Test
  void anUpsertWithALongerTtlThanTheFenceKeepsTheFenceAlive() {
    CacheKey k = key("fence-ttl-upsert");
    assertThat(apply(k, CacheScripts.OP_UPSERT, 3, 3, 600_000, false, 1_000))
        .isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(redis.pttl(b(k.fenceKey()))).isGreaterThan(300_000);
    // an invalidation with the short fence TTL does not shorten it
    assertThat(apply(k, CacheScripts.OP_INVALIDATE, 4, 0, 0, false, 1_000))
        .isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(redis.pttl(b(k.fenceKey()))).isGreaterThan(300_000);
  }

  /**
   * The failure the lifetime rule prevents: a value of schema 2 outlives a short fence, and an
   * invalidation sent for schema 1 misses it.
   */
  @Test
  void anInvalidationStillReachesALongLivedValueOfAnotherSchemaAfterTheFenceTtl() {
    CacheKey k = key("fence-ttl-schema");
    byte[] token = b("t");
    redis.eval(CacheScripts.GET_OR_LEASE.source(), ScriptOutputType.MULTI,
        new byte[][] {b(k.valueKey(2)), b(k.leaseKey())}, token, b("30000"));
    long filled = redis.eval(CacheScripts.FILL.source(), ScriptOutputType.INTEGER,
        new byte[][] {b(k.valueKey(2)), b(k.leaseKey()), b(k.fenceKey())}, token, b("3"),
        envelope(3), b("600000"), b(CacheScripts.schemaField(2)), b("300"));
    assertThat(filled).isEqualTo(CacheScripts.FILL_OK);
    // once the 300 ms fence TTL has passed, the fence must still list schema 2
    long filledAt = System.nanoTime();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> System.nanoTime() - filledAt > Duration.ofMillis(600).toNanos());
    assertThat(apply(k, CacheScripts.OP_INVALIDATE, 4, 0, 0, false, 300))
        .isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(redis.get(b(k.valueKey(2)))).as("schema 2 value after an invalidation").isNull();
  }
}
