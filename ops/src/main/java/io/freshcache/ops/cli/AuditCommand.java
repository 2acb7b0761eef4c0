package io.freshcache.ops.cli;

import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.checker.CheckerConfig;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code freshcache audit}: SCAN every master and report what should not be there. */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = {"SCANs every master and reports: values without a TTL, values over a size, values of"
        + " schema versions no longer in use (with --schemas), undecodable values, fences without any"
        + " value idle longer than a bound, leases without a TTL or idle longer than the lease time, and"
        + " keys outside freshcache's layout. Prints a summary table (or --json) with example keys.",
        "Idle times are Redis's OBJECT IDLETIME (time since the key was last read or written).",
        "Exit code 1 when there is a finding."})
final class AuditCommand implements Callable<Integer> {
  private static final Pattern PHYSICAL = Pattern.compile("\\{(.+)}:(v(\\d{1,9})|fence|lease)");
  private static final int EXAMPLES = 5;

  @ParentCommand
  FreshcacheCli root;
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--json", description = "print one JSON object instead of a table")
  boolean json;

  @Option(names = "--max-value-bytes", paramLabel = "BYTES", defaultValue = "1048576",
      description = "a value larger than this is a finding (default ${DEFAULT-VALUE})")
  long maxValueBytes;

  @Option(names = "--schemas", paramLabel = "N[,N...]", split = ",",
      description = "schema versions in use; values of other versions are findings (default: not checked)")
  Set<Integer> schemas;

  @Option(names = "--fence-idle", paramLabel = "DURATION", defaultValue = "1h",
      description = "a fence without any value idle longer than this is a finding (default ${DEFAULT-VALUE})")
  String fenceIdle;

  @Option(names = "--lease-time", paramLabel = "DURATION", defaultValue = "30s",
      description = "a lease idle longer than this is a finding (default ${DEFAULT-VALUE})")
  String leaseTime;

  @Option(names = "--count", paramLabel = "N", defaultValue = "500", description = "SCAN COUNT per call (default ${DEFAULT-VALUE})")
  int count;

  private final Map<String, List<String>> findings = new LinkedHashMap<>();
  private final Map<String, Long> findingCounts = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    Duration fenceBound = CheckerConfig.duration("--fence-idle", fenceIdle);
    Duration leaseBound = CheckerConfig.duration("--lease-time", leaseTime);
    if (count < 1) {
      throw new IllegalArgumentException("--count must be >= 1 but was " + count);
    }
    for (String f : List.of("values without TTL", "values over " + maxValueBytes + " B", "values of unused schemas",
        "undecodable values", "fences without value idle over " + io.freshcache.protocol.ConsistencyWindows.label(fenceBound),
        "leases without TTL", "leases idle over " + io.freshcache.protocol.ConsistencyWindows.label(leaseBound), "keys outside the layout")) {
      findings.put(f, new ArrayList<>());
      findingCounts.put(f, 0L);
    }
    List<String> names = new ArrayList<>(findings.keySet());
    long scanned = 0;
    long values = 0;
    long fences = 0;
    long leases = 0;
    Map<String, Map<Integer, Long>> schemaUse = new TreeMap<>();
    PrintWriter out = spec.commandLine().getOut();
    CliSupport.Progress progress = new CliSupport.Progress(spec.commandLine().getErr(), "audit");
    try (OpsRedis redis = CliSupport.redis(root)) {
      List<String> masters = redis.masters();
      long total = 0;
      for (String n : masters) {
        total += redis.node(n).dbsize();
      }
      for (String n : masters) {
        RedisCommands<byte[], byte[]> c = redis.node(n);
        RedisAsyncCommands<byte[], byte[]> a = redis.nodeAsync(n);
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
          KeyScanCursor<byte[]> page = c.scan(cursor, ScanArgs.Builder.limit(count));
          // the page's reads are sent together (pipelined on the node's connection), then judged;
          // OBJECT IDLETIME goes first for a key, before anything that would touch it
          List<Pending> reads = new ArrayList<>();
          for (byte[] raw : page.getKeys()) {
            scanned++;
            String k = new String(raw, StandardCharsets.UTF_8);
            Matcher m = PHYSICAL.matcher(k);
            CacheKey key = m.matches() ? CacheKey.ofPhysical(k) : null;
            if (key == null) {
              if (!k.startsWith("freshcache:notice")) { // the notice channels' sequence counters
                add(names.get(7), k);
              }
              continue;
            }
            Pending p = new Pending(raw, k, key, m.group(3) == null ? -1 : Integer.parseInt(m.group(3)), m.group(2));
            if (p.schema > 0) {
              values++;
              schemaUse.computeIfAbsent(key.namespaceName(), x -> new TreeMap<>()).merge(p.schema, 1L, Long::sum);
              p.pttl = a.pttl(raw);
              p.size = a.strlen(raw);
              p.head = a.getrange(raw, 0, Envelope.HEADER_BYTES - 1);
            } else {
              p.idle = a.objectIdletime(raw);
              if (p.kind.equals("lease")) {
                leases++;
                p.pttl = a.pttl(raw);
              } else {
                fences++;
              }
            }
            reads.add(p);
          }
          for (Pending p : reads) {
            if (p.schema > 0) {
              Long pttl = get(p.pttl);
              if (pttl != null && pttl == -1) {
                add(names.get(0), p.text);
              }
              Long size = get(p.size);
              if (size != null && size > maxValueBytes) {
                add(names.get(1), p.text + " (" + size + " B)");
              }
              if (schemas != null && !schemas.contains(p.schema)) {
                add(names.get(2), p.text);
              }
              byte[] head = get(p.head);
              if (head != null && head.length > 0 && (head.length < Envelope.HEADER_BYTES || head[0] != Envelope.FORMAT_VERSION)) {
                add(names.get(3), p.text);
              }
            } else if (p.kind.equals("fence")) {
              Long idle = get(p.idle);
              if (idle != null && idle * 1000 > fenceBound.toMillis() && !hasValue(c, p.key, c.hkeys(p.raw))) {
                add(names.get(4), p.text + " (idle " + idle + " s)");
              }
            } else {
              Long idle = get(p.idle);
              Long pttl = get(p.pttl);
              if (pttl != null && pttl == -1) {
                add(names.get(5), p.text);
              } else if (idle != null && idle * 1000 > leaseBound.toMillis()) {
                add(names.get(6), p.text + " (idle " + idle + " s)");
              }
            }
          }
          progress.show(scanned, Math.max(total, scanned), findingTotal() + " findings");
          cursor = page;
        } while (!cursor.isFinished());
      }
    }
    progress.done();
    long found = findingTotal();
    if (json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("scanned", scanned);
      j.put("values", values);
      j.put("fences", fences);
      j.put("leases", leases);
      j.put("schemas", schemaUse);
      List<Map<String, Object>> f = new ArrayList<>();
      for (String name : names) {
        f.add(Map.of("finding", name, "count", findingCounts.get(name), "examples", findings.get(name)));
      }
      j.put("findings", f);
      out.println(CliSupport.JSON.writeValueAsString(j));
    } else {
      out.printf("scanned %d keys on the masters: %d values, %d fences, %d leases%n", scanned, values, fences, leases);
      schemaUse.forEach((ns, use) -> out.printf("schemas of %s: %s%n", ns, use));
      out.printf("%n%-40s %8s  %s%n", "finding", "count", "examples");
      for (String name : names) {
        out.printf("%-40s %8d  %s%n", name, findingCounts.get(name), String.join(", ", findings.get(name)));
      }
      out.printf("%n%s%n", found == 0 ? "no findings" : found + " findings");
    }
    return found == 0 ? FreshcacheCli.OK : FreshcacheCli.FINDINGS;
  }

  /** One key's reads of a SCAN page, sent before any is awaited. */
  private static final class Pending {
    final byte[] raw;
    final String text;
    final CacheKey key;
    final int schema;
    final String kind;
    RedisFuture<Long> pttl;
    RedisFuture<Long> size;
    RedisFuture<byte[]> head;
    RedisFuture<Long> idle;

    Pending(byte[] raw, String text, CacheKey key, int schema, String kind) {
      this.raw = raw;
      this.text = text;
      this.key = key;
      this.schema = schema;
      this.kind = kind;
    }
  }

  /** @return the future's value, null if the key went away meanwhile */
  private static <T> T get(RedisFuture<T> f) throws Exception {
    try {
      return f.get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  private static boolean hasValue(RedisCommands<byte[], byte[]> c, CacheKey key, List<byte[]> fields) {
    for (byte[] f : fields) {
      String field = new String(f, StandardCharsets.UTF_8);
      if (field.startsWith("s") && field.substring(1).matches("\\d{1,9}")
          && c.exists(key.valueKey(Integer.parseInt(field.substring(1))).getBytes(StandardCharsets.UTF_8)) > 0) {
        return true;
      }
    }
    return false;
  }

  private void add(String finding, String example) {
    findingCounts.merge(finding, 1L, Long::sum);
    List<String> ex = findings.get(finding);
    if (ex.size() < EXAMPLES) {
      ex.add(example);
    }
  }

  private long findingTotal() {
    return findingCounts.values().stream().mapToLong(Long::longValue).sum();
  }
}
