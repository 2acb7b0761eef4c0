package io.freshcache.ops.cli;

import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsRedis;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CacheScripts;
import io.freshcache.protocol.Codec;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.ScriptOutputType;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code freshcache warm --rule NAME --where SQL}: fills the cache from the database through the
 * fenced fill path. For each row the key's lease is taken first ({@code getOrLease}), then the row
 * is read again, then written with {@code fill} under that lease and at the row's version (rules
 * versioned by a column; LSN-versioned rows are filled without a version, protected by the lease,
 * which any change applied meanwhile revokes). Keys already cached or leased are left alone.
 */
@Command(name = "warm", mixinStandardHelpOptions = true,
    description = {"Fills the cache with the rows of one table rule that match a SQL condition, through the"
        + " fenced fill path: the key's lease is taken, the row read again, and the value filled at the row's"
        + " version, so a change applied meanwhile wins. Keys already cached or being loaded are left alone."
        + " Only upsert rules can be warmed (the values of an invalidate rule are built by the application)."
        + " The condition runs in a read-only transaction."})
final class WarmCommand implements Callable<Integer> {
  @ParentCommand
  FreshcacheCli root;
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--rule", required = true, paramLabel = "NAME",
      description = "the rule: its table (public.products or products) or its key namespace (catalog:product)")
  String ruleName;

  @Option(names = "--where", paramLabel = "SQL", defaultValue = "true",
      description = "SQL condition on the rule's table (default: every row)")
  String where;

  @Option(names = "--rate", paramLabel = "ROWS_PER_S", defaultValue = "200", description = "at most this many rows a second (default ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--lease-ms", paramLabel = "MS", defaultValue = "10000", description = "lease time per key (default ${DEFAULT-VALUE})")
  long leaseMs;

  @Option(names = "--rules", paramLabel = "FILE", description = "a YAML rules file (default: CDC_RULES_FILE or CDC_RULES)")
  Path rulesFile;

  @Override
  public Integer call() throws Exception {
    if (!(rate > 0)) {
      throw new IllegalArgumentException("--rate must be > 0 rows a second but was " + rate);
    }
    if (leaseMs < 1) {
      throw new IllegalArgumentException("--lease-ms must be >= 1 but was " + leaseMs);
    }
    KeyRules rules = CliSupport.rules(root, rulesFile);
    TableRule rule = rules.byName(ruleName);
    if (rule.operation() != TableRule.Operation.UPSERT) {
      throw new IllegalArgumentException("rule " + rule.table() + " invalidates: its cached values are built by the"
          + " application's loader, so warm cannot build them; warm needs an upsert rule (operation: upsert)");
    }
    long fenceTtlMs = fenceTtlMs(root.env);
    PrintWriter out = spec.commandLine().getOut();
    CliSupport.Progress progress = new CliSupport.Progress(spec.commandLine().getErr(), "warm");
    Codec codec = Codecs.byName(rule.codec());
    List<String> keyCols = new ArrayList<>(rule.keyTemplate().columns());
    String select = keyCols.stream().map(OpsDb::quote).collect(Collectors.joining(", "));
    Map<String, Long> counts = new LinkedHashMap<>();
    for (String c : List.of("filled", "already cached", "being loaded", "refused by the fence", "lease lost", "row gone")) {
      counts.put(c, 0L);
    }
    long rows = 0;
    try (OpsDb scan = CliSupport.db(root); OpsDb reads = CliSupport.db(root); OpsRedis redis = CliSupport.redis(root)) {
      Connection c = scan.connection();
      c.setAutoCommit(false);
      c.setReadOnly(true);
      long total;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + OpsDb.table(rule)
          + " WHERE (" + where + ")")) {
        rs.next();
        total = rs.getLong(1);
      } catch (SQLException e) {
        throw new IllegalArgumentException("--where '" + where + "' fails on " + rule.table() + ": " + e.getMessage(), e);
      }
      long periodNanos = (long) (1e9 / rate);
      long next = System.nanoTime();
      try (PreparedStatement ps = c.prepareStatement("SELECT " + select + " FROM " + OpsDb.table(rule) + " WHERE (" + where + ")")) {
        ps.setFetchSize(500);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            Map<String, String> key = new LinkedHashMap<>();
            for (String col : keyCols) {
              key.put(col, rs.getString(col));
            }
            long wait = next - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(wait);
            }
            next = Math.max(next + periodNanos, System.nanoTime() - 10 * periodNanos);
            counts.merge(warmOne(redis, reads, rules, rule, codec, key, fenceTtlMs), 1L, Long::sum);
            rows++;
            progress.show(rows, total, counts.get("filled") + " filled");
          }
        }
      }
      c.rollback();
    }
    progress.done();
    out.printf("warm %s where %s: %d rows; %s%n", rule.table(), where, rows,
        counts.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", ")));
    return FreshcacheCli.OK;
  }

  private String warmOne(OpsRedis redis, OpsDb db, KeyRules rules, TableRule rule, Codec codec,
      Map<String, String> keyCols, long fenceTtlMs) throws SQLException {
    CacheKey key = rule.cacheKey(keyCols);
    String token = UUID.randomUUID().toString();
    byte[] valueKey = bytes(key.valueKey(rule.schema()));
    byte[] leaseKey = bytes(key.leaseKey());
    List<Object> lease = redis.sync().eval(CacheScripts.GET_OR_LEASE.source(), ScriptOutputType.MULTI,
        new byte[][] {valueKey, leaseKey}, bytes(token), bytes(Long.toString(leaseMs)));
    long state = (Long) lease.get(0);
    if (state == CacheScripts.LEASE_VALUE) {
      return "already cached";
    }
    if (state == CacheScripts.LEASE_BUSY) {
      return "being loaded";
    }
    long start = System.nanoTime();
    Optional<Map<String, Object>> row = db.row(rule, rules.keyColumns(rule, key));
    if (row.isEmpty()) {
      redis.sync().eval(CacheScripts.RELEASE.source(), ScriptOutputType.INTEGER, new byte[][] {leaseKey}, bytes(token));
      return "row gone";
    }
    Map<String, Object> r = row.get();
    long version = Envelope.NO_VERSION;
    if (rule.versionSource() == TableRule.VersionSource.COLUMN && r.get(rule.versionColumn()) instanceof Number n) {
      version = n.longValue();
    }
    long now = System.currentTimeMillis();
    long ttl = rule.ttl().toMillis();
    byte[] payload = codec.encode(payload(rule, r));
    Envelope e = new Envelope(codec.id(), 0, version, now, now + ttl,
        (int) Math.min(Integer.MAX_VALUE, (System.nanoTime() - start) / 1_000_000), payload);
    Long filled = redis.sync().eval(CacheScripts.FILL.source(), ScriptOutputType.INTEGER,
        new byte[][] {valueKey, leaseKey, bytes(key.fenceKey())}, bytes(token), bytes(Long.toString(version)),
        e.encode(), bytes(Long.toString(ttl)), bytes(CacheScripts.schemaField(rule.schema())),
        bytes(Long.toString(Math.max(fenceTtlMs, ttl))));
    if (filled == CacheScripts.FILL_OK) {
      return "filled";
    }
    return filled == CacheScripts.FILL_FENCED ? "refused by the fence" : "lease lost";
  }

  /** The payload map as cdc-ingest builds it: the rule's columns (all by default), named by its field names. */
  static Map<String, Object> payload(TableRule rule, Map<String, Object> row) {
    Map<String, Object> p = new LinkedHashMap<>();
    List<String> cols = rule.payloadColumns().isEmpty() ? new ArrayList<>(row.keySet()) : rule.payloadColumns();
    for (String col : cols) {
      if (!row.containsKey(col)) {
        throw new IllegalArgumentException("rule " + rule.table() + " names payload column '" + col
            + "' but the table has only " + row.keySet());
      }
      String name = rule.fieldNames() == TableRule.FieldNames.CAMEL_CASE ? camelCase(col) : col;
      p.put(name, plain(row.get(col)));
    }
    return p;
  }

  private static Object plain(Object v) {
    if (v instanceof java.sql.Timestamp t) {
      return t.toLocalDateTime().toString();
    }
    if (v instanceof java.sql.Date d) {
      return d.toLocalDate().toString();
    }
    if (v instanceof java.sql.Time t) {
      return t.toLocalTime().toString();
    }
    if (v instanceof java.util.UUID || v instanceof org.postgresql.util.PGobject) {
      return v.toString();
    }
    return v;
  }

  static String camelCase(String column) {
    StringBuilder sb = new StringBuilder(column.length());
    boolean upper = false;
    for (int i = 0; i < column.length(); i++) {
      char ch = column.charAt(i);
      if (ch == '_') {
        upper = sb.length() > 0;
      } else {
        sb.append(upper ? Character.toUpperCase(ch) : ch);
        upper = false;
      }
    }
    return sb.length() == 0 ? column : sb.toString();
  }

  /** @return {@code WRITER_FENCE_TTL_MS}, as cache-writer reads it (default 24 h) */
  static long fenceTtlMs(Map<String, String> env) {
    String v = env.getOrDefault("WRITER_FENCE_TTL_MS", "86400000").trim();
    try {
      long ms = Long.parseLong(v);
      if (ms < 1) {
        throw new NumberFormatException();
      }
      return ms;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("WRITER_FENCE_TTL_MS must be milliseconds >= 1 but was '" + v + "'", e);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
