package io.freshcache.bench.faults;

import io.freshcache.client.CacheClient;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The check after the drain: every value key of the suite's entities on every Redis node
 * (masters and replicas, read with {@code READONLY}), decoded through cache-protocol's
 * {@link Envelope} and codecs, must equal its database row or be absent (a "not found" entry
 * counts as absent); and every key read through every client (near cache first, as the client
 * reads) with a loader that returns the database row must come back equal to that row.
 */
final class Verifier {
  /** One entry that disagrees with the database. */
  record Stale(String where, String key, String cached, String row) {
    @Override
    public String toString() {
      return where + " " + key + ": cached " + cached + ", database " + row;
    }
  }

  /** What the check found. */
  record Result(int redisEntries, int nearReads, List<Stale> redisStale, List<Stale> nearStale,
      List<Stale> clientStale, List<String> problems) {}

  private final SuiteTables tables;
  private final List<Integer> ports;

  Verifier(SuiteTables tables, List<Integer> ports) {
    this.tables = tables;
    this.ports = ports;
  }

  Result check(Readers readers) throws Exception {
    Map<Integer, FaultRow> rows = tables.snapshot();
    List<Stale> redisStale = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    int entries = 0;
    Pattern value = Pattern.compile("\\{(fsuite:(inv|ups)" + tables.run + ":(\\d+))\\}:v(\\d+)");
    for (int port : ports) {
      RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
          .withTimeout(Duration.ofSeconds(5)).build());
      try (StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE)) {
        RedisCommands<byte[], byte[]> r = c.sync();
        String role = r.info("replication").contains("role:master") ? "master" : "replica";
        if (!"master".equals(role)) {
          r.readOnly();
        }
        ScanCursor cursor = ScanCursor.INITIAL;
        ScanArgs args = ScanArgs.Builder.matches("{fsuite:*" + tables.run + ":*").limit(1000);
        do {
          KeyScanCursor<byte[]> page = r.scan(cursor, args);
          for (byte[] raw : page.getKeys()) {
            String physical = new String(raw, StandardCharsets.UTF_8);
            Matcher m = value.matcher(physical);
            if (!m.matches()) {
              continue; // lease or fence
            }
            int t = m.group(2).equals("inv") ? SuiteTables.INV : SuiteTables.UPS;
            long id = Long.parseLong(m.group(3));
            byte[] bytes = r.get(raw);
            if (bytes == null) {
              continue; // expired or moved since the scan
            }
            entries++;
            String where = "redis " + port + " (" + role + ")";
            FaultRow row = id >= 1 && id <= tables.rows ? rows.get(tables.key(t, id)) : null;
            String cached;
            try {
              cached = describe(bytes);
            } catch (RuntimeException e) {
              redisStale.add(new Stale(where, m.group(1), "undecodable: " + e, show(row)));
              continue;
            }
            if (!cached.equals(show(row))) {
              redisStale.add(new Stale(where + " " + physical, m.group(1), cached, show(row)));
            }
          }
          cursor = page;
        } while (!cursor.isFinished());
      } catch (RuntimeException e) {
        problems.add("redis " + port + ": " + e);
      } finally {
        client.shutdown();
      }
    }

    List<Stale> nearStale = new ArrayList<>();
    List<Stale> clientStale = new ArrayList<>();
    int nearReads = 0;
    for (int i = 0; i < readers.clients.size(); i++) {
      CacheClient client = readers.clients.get(i);
      for (int k = 0; k < tables.keys(); k++) {
        FaultRow row = rows.get(k);
        long nearBefore = client.stats().nearHits();
        FaultRow got;
        try {
          got = readers.read(i, k, () -> row);
        } catch (RuntimeException e) {
          problems.add("client " + i + " read of " + tables.cacheKey(k) + ": " + e);
          continue;
        }
        boolean near = client.stats().nearHits() > nearBefore;
        nearReads += near ? 1 : 0;
        if (!show(got).equals(show(row))) {
          Stale s = new Stale("client " + i + " (" + readers.modes.get(i).name() + ")"
              + (near ? " near cache" : " via redis"), tables.cacheKey(k), show(got), show(row));
          (near ? nearStale : clientStale).add(s);
        }
      }
    }
    return new Result(entries, nearReads, redisStale, nearStale, clientStale, problems);
  }

  /** @return the cached entry as {@link #show}, "absent" for a not-found or empty (tombstone) entry */
  static String describe(byte[] bytes) {
    Envelope e = Envelope.decode(bytes);
    if (e.has(Envelope.FLAG_NOT_FOUND) || e.payloadLength() == 0) {
      return "absent";
    }
    return show(Codecs.byId(e.codecId()).decode(e.payload(), FaultRow.class));
  }

  static String show(FaultRow r) {
    return r == null ? "absent" : "id " + r.id() + " stamp " + r.stamp() + " v" + r.version()
        + (r.blob().isEmpty() ? "" : " blob " + r.blob().length() + " B");
  }
}
