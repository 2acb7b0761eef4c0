package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheEvent;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A row-version entity's delete and re-insert through cdc-ingest (issue 8, item 3): the events
 * cdc-ingest captures from PostgreSQL are applied to the stack's Redis Cluster with the
 * {@code apply} script and the arguments cache-writer's {@code FencedApplier} passes, then a
 * client's fill is tried. After the delete, a fill at the deleted row's version (a lagging
 * replica) must be refused; after the row is inserted again with its version back at 1, a fill of
 * it must be accepted.
 */
class DeleteReinsertIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final long FENCE_TTL_MS = 86_400_000;

  @TempDir Path dir;

  private String suffix;
  private String topic;
  private long orderId;
  private EventTail tail;
  private CdcIngest ingest;
  private RedisClusterClient redisClient;
  private StatefulRedisClusterConnection<byte[], byte[]> conn;
  private RedisAdvancedClusterCommands<byte[], byte[]> redis;

  @BeforeAll
  static void tables() throws SQLException {
    StackSettings.createTables();
  }

  @BeforeEach
  void setUp() throws Exception {
    suffix = StackSettings.uniqueSuffix();
    topic = "cdc-it-" + suffix;
    orderId = ThreadLocalRandom.current().nextLong(1_000_000_000L, 1_000_000_000_000L);
    EventTail.createTopic(topic, 3);
    tail = new EventTail(topic);
    List<RedisURI> seeds = Arrays.stream(StackSettings.env("REDIS_NODES", "127.0.0.1:7000")
        .split(",")).map(String::trim).map(hp -> RedisURI.builder()
            .withHost(hp.substring(0, hp.lastIndexOf(':')))
            .withPort(Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1)))
            .withTimeout(Duration.ofSeconds(20)).build()).toList();
    redisClient = RedisClusterClient.create(seeds);
    conn = redisClient.connect(ByteArrayCodec.INSTANCE);
    redis = conn.sync();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (ingest != null) {
      ingest.close();
    }
    tail.close();
    conn.close();
    redisClient.shutdown();
    sql("DELETE FROM public.cdc_it_lines WHERE order_id = ?", orderId);
    StackSettings.dropSlotAndPublication("fc_it_" + suffix, "fc_it_" + suffix);
    EventTail.deleteTopic(topic);
  }

  private static void sql(String sql, Object... args) throws SQLException {
    try (Connection c = StackSettings.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  /** Applies an event as cache-writer's FencedApplier does (invalidate and delete rules only). */
  private long apply(CacheEvent e) {
    CacheKey k = e.key();
    byte[][] keys = {b(k.fenceKey()), b(k.leaseKey()), b(k.valueKey(e.schema()))};
    byte[][] args = {b(CacheScripts.opArg(e.op())), b(Long.toString(e.version())), new byte[0],
        b(Long.toString(e.ttlMs())), b(CacheScripts.schemaField(e.schema())),
        b(Long.toString(FENCE_TTL_MS)), b(k.valueKeyPrefix()),
        b(CacheScripts.createdArg(e.created()))};
    return redis.eval(CacheScripts.APPLY.source(), ScriptOutputType.INTEGER, keys, args);
  }

  /** A client's read that misses, takes the lease and fills what its loader read. */
  private long leaseAndFill(CacheKey k, long loadedVersion) {
    byte[] token = b(UUID.randomUUID().toString());
    List<Object> lease = redis.eval(CacheScripts.GET_OR_LEASE.source(), ScriptOutputType.MULTI,
        new byte[][] {b(k.valueKey(1)), b(k.leaseKey())}, token, b("30000"));
    assertThat((Long) lease.get(0)).isEqualTo(CacheScripts.LEASE_GRANTED);
    byte[] envelope = new Envelope((byte) 1, 0, loadedVersion, 0, 0, 0, b("{}")).encode();
    return redis.eval(CacheScripts.FILL.source(), ScriptOutputType.INTEGER,
        new byte[][] {b(k.valueKey(1)), b(k.leaseKey()), b(k.fenceKey())}, token,
        b(Long.toString(loadedVersion)), envelope, b("60000"), b(CacheScripts.schemaField(1)),
        b(Long.toString(FENCE_TTL_MS)));
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aDeletedRowIsNotFilledAtItsLastVersionAndIsCacheableAgainAfterItsReinsert()
      throws Exception {
    ingest = CdcIngest.start(StackSettings.config(suffix, dir).topic(topic)
        .rules(RulesFile.parse("""
            tables:
              public.cdc_it_lines:
                key: cdcit:line:{order_id}:{line_no}
                version: column:row_version
            """, "test")).build());
    assertThat(ingest.awaitStreaming(Duration.ofSeconds(60))).as("streaming").isTrue();
    CacheKey key = CacheKey.parse("cdcit:line:" + orderId + ":1");

    sql("INSERT INTO public.cdc_it_lines (order_id, line_no, qty, row_version) VALUES (?, 1, 1, 1)",
        orderId);
    sql("UPDATE public.cdc_it_lines SET qty = 2, row_version = 2 WHERE order_id = ?", orderId);
    sql("DELETE FROM public.cdc_it_lines WHERE order_id = ?", orderId);
    List<CacheEvent> first = tail.await(3, r -> r.key().equals(key.toString()), WAIT).stream()
        .map(EventTail.Received::event).toList();
    assertThat(first).extracting(e -> e.op() + "@" + e.version() + (e.created() ? "+c" : ""))
        .containsExactly("INVALIDATE@1+c", "INVALIDATE@2", "DELETE@2");
    first.forEach(e -> assertThat(apply(e)).as("%s", e).isEqualTo(CacheScripts.APPLY_APPLIED));

    assertThat(leaseAndFill(key, 2)).as("a fill of the deleted row at its last version")
        .isEqualTo(CacheScripts.FILL_FENCED);
    assertThat(redis.get(b(key.valueKey(1)))).isNull();

    sql("INSERT INTO public.cdc_it_lines (order_id, line_no, qty, row_version) VALUES (?, 1, 9, 1)",
        orderId);
    List<CacheEvent> all = tail.await(4, r -> r.key().equals(key.toString()), WAIT).stream()
        .map(EventTail.Received::event).toList();
    CacheEvent reinsert = all.get(3);
    assertThat(reinsert.created()).as("the re-insert is marked created").isTrue();
    assertThat(apply(reinsert)).isEqualTo(CacheScripts.APPLY_APPLIED);
    assertThat(leaseAndFill(key, 1)).as("a fill of the re-inserted row at version 1")
        .isEqualTo(CacheScripts.FILL_OK);
    assertThat(Envelope.decode(redis.get(b(key.valueKey(1)))).dataVersion()).isEqualTo(1);
  }
}
