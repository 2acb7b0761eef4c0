package io.freshcache.ops.cli;

import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.KeySnapshot;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.RowCheck;
import io.freshcache.protocol.CacheKey;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code freshcache verify --sample N}: N random cached keys compared with the database. */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Compares N random cached keys (RANDOMKEY on random masters, value keys only) with their"
        + " database rows through the table rules, once, and lists the stale ones. Keys of namespaces"
        + " that no rule maps are counted apart.",
        "Exit code 1 when a sampled key is stale."})
final class VerifyCommand implements Callable<Integer> {
  private static final Pattern VALUE = Pattern.compile("\\{(.+)}:v(\\d{1,9})");

  @ParentCommand
  FreshcacheCli root;
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--sample", paramLabel = "N", defaultValue = "100", description = "keys to compare (default ${DEFAULT-VALUE})")
  int sample;

  @Option(names = "--namespace", paramLabel = "SERVICE:ENTITY", description = "only keys of this namespace, e.g. catalog:product (found by SCAN MATCH on every master)")
  String namespace;

  @Option(names = "--json", description = "print one JSON object instead of text")
  boolean json;

  @Option(names = "--rules", paramLabel = "FILE", description = "a YAML rules file (default: CDC_RULES_FILE or CDC_RULES)")
  Path rulesFile;

  @Override
  public Integer call() throws Exception {
    if (sample < 1) {
      throw new IllegalArgumentException("--sample must be >= 1 but was " + sample);
    }
    KeyRules rules = CliSupport.rules(root, rulesFile);
    PrintWriter out = spec.commandLine().getOut();
    CliSupport.Progress progress = new CliSupport.Progress(spec.commandLine().getErr(), "verify");
    Map<RowCheck.Verdict, Integer> counts = new EnumMap<>(RowCheck.Verdict.class);
    List<Map<String, Object>> stale = new ArrayList<>();
    int noRule = 0;
    int tries = 0;
    Set<CacheKey> seen = new LinkedHashSet<>();
    try (OpsRedis redis = CliSupport.redis(root); OpsDb db = CliSupport.db(root)) {
      List<String> masters = redis.masters();
      if (masters.isEmpty()) {
        throw new IllegalStateException("no Redis master serves slots");
      }
      int maxTries = sample * 20 + 100;
      List<byte[]> inNamespace = namespace == null ? null : namespaceValues(redis, masters);
      while (seen.size() < sample && tries < maxTries) {
        tries++;
        byte[] raw;
        if (inNamespace != null) {
          if (inNamespace.isEmpty()) {
            break;
          }
          raw = inNamespace.remove(ThreadLocalRandom.current().nextInt(inNamespace.size()));
        } else {
          raw = redis.node(masters.get(ThreadLocalRandom.current().nextInt(masters.size()))).randomkey();
        }
        if (raw == null) {
          continue;
        }
        Matcher m = VALUE.matcher(new String(raw, StandardCharsets.UTF_8));
        CacheKey key = m.matches() ? CacheKey.ofPhysical(new String(raw, StandardCharsets.UTF_8)) : null;
        if (key == null || (namespace != null && !key.namespaceName().equals(namespace)) || !seen.add(key)) {
          continue;
        }
        TableRule rule = rules.ruleFor(key).orElse(null);
        if (rule == null) {
          noRule++;
          progress.show(seen.size(), sample, "");
          continue;
        }
        KeySnapshot snap = redis.snapshot(key, List.of(Integer.parseInt(m.group(2))));
        RowCheck.Result r = RowCheck.compare(rule, snap, CliSupport.row(db, rules, rule, key));
        counts.merge(r.verdict(), 1, Integer::sum);
        if (r.verdict() == RowCheck.Verdict.STALE) {
          Map<String, Object> s = new LinkedHashMap<>();
          s.put("key", key.toString());
          s.put("reasons", r.reasons());
          s.put("redis", snap.describe());
          stale.add(s);
        }
        progress.show(seen.size(), sample, counts.getOrDefault(RowCheck.Verdict.STALE, 0) + " stale");
      }
    }
    progress.done();
    if (json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("sampled", seen.size());
      counts.forEach((v, n) -> j.put(v.label(), n));
      j.put("withoutRule", noRule);
      j.put("stale", stale);
      out.println(CliSupport.JSON.writeValueAsString(j));
    } else {
      for (Map<String, Object> s : stale) {
        out.printf("stale  %s: %s%n       redis: %s%n", s.get("key"), String.join("; ", castList(s.get("reasons"))), s.get("redis"));
      }
      if (seen.isEmpty()) {
        out.printf("no cached values found in %d tries%n", tries);
      }
      out.printf("sampled %d keys: %d fresh, %d stale, %d unknown, %d gone meanwhile, %d without a rule%n", seen.size(),
          counts.getOrDefault(RowCheck.Verdict.FRESH, 0), counts.getOrDefault(RowCheck.Verdict.STALE, 0),
          counts.getOrDefault(RowCheck.Verdict.UNKNOWN, 0),
          counts.getOrDefault(RowCheck.Verdict.ABSENT, 0) + counts.getOrDefault(RowCheck.Verdict.FENCED, 0), noRule);
    }
    return stale.isEmpty() ? FreshcacheCli.OK : FreshcacheCli.FINDINGS;
  }

  /** Every value key of the namespace, by SCAN MATCH on every master. */
  private List<byte[]> namespaceValues(OpsRedis redis, List<String> masters) {
    String[] parts = namespace.split(":");
    if (parts.length != 2) {
      throw new IllegalArgumentException("--namespace must be service:entity but was '" + namespace + "'");
    }
    String pattern = CacheKey.namespace(parts[0], parts[1]).namespaceScanPattern();
    List<byte[]> keys = new ArrayList<>();
    for (String n : masters) {
      io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
      do {
        io.lettuce.core.KeyScanCursor<byte[]> page = redis.node(n).scan(cursor,
            io.lettuce.core.ScanArgs.Builder.matches(pattern).limit(1000));
        for (byte[] k : page.getKeys()) {
          if (VALUE.matcher(new String(k, StandardCharsets.UTF_8)).matches()) {
            keys.add(k);
          }
        }
        cursor = page;
      } while (!cursor.isFinished());
    }
    return keys;
  }

  @SuppressWarnings("unchecked")
  private static List<String> castList(Object o) {
    return (List<String>) o;
  }
}
