package io.freshcache.ops.cli;

import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.KeySnapshot;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.RowCheck;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.lettuce.core.cluster.SlotHash;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code freshcache inspect KEY}: everything Redis holds for a key, its row, and a verdict. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Shows everything Redis holds for one key - the value of every schema version (envelope"
        + " header decoded) with its TTL, the lease, the fence - the database row through the matching"
        + " table rule, and a verdict: fresh, stale, absent (nothing cached), fenced (no value, a fence"
        + " refuses older fills) or unknown (cached, but no rule maps the key or the payload cannot be"
        + " compared).",
        "Exit code 1 when the verdict is stale."})
final class InspectCommand implements Callable<Integer> {
  @ParentCommand
  FreshcacheCli root;
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "KEY", description = "a logical key (catalog:product:42) or a physical one ({catalog:product:42}:v1)")
  String key;

  @Option(names = "--json", description = "print one JSON object instead of text")
  boolean json;

  @Option(names = "--rules", paramLabel = "FILE", description = "a YAML rules file (default: CDC_RULES_FILE or CDC_RULES)")
  Path rulesFile;

  @Override
  public Integer call() throws Exception {
    CacheKey k = CliSupport.key(key);
    KeyRules rules = CliSupport.rules(root, rulesFile);
    PrintWriter out = spec.commandLine().getOut();
    try (OpsRedis redis = CliSupport.redis(root)) {
      String node = redis.masterOf(k);
      List<Integer> schemas = new ArrayList<>(redis.valueSchemas(k));
      if (!schemas.contains(1)) {
        schemas.add(1);
      }
      KeySnapshot snap = redis.snapshot(k, schemas);
      TableRule rule = rules.ruleFor(k).orElse(null);
      Optional<Map<String, Object>> row = Optional.empty();
      if (rule != null) {
        try (OpsDb db = CliSupport.db(root)) {
          row = CliSupport.row(db, rules, rule, k);
        }
      }
      RowCheck.Result verdict = RowCheck.compare(rule, snap, row);
      if (json) {
        out.println(CliSupport.JSON.writeValueAsString(asJson(k, node, snap, rule, rules, row, verdict)));
      } else {
        print(out, k, node, snap, rule, rules, row, verdict);
      }
      return verdict.verdict() == RowCheck.Verdict.STALE ? FreshcacheCli.FINDINGS : FreshcacheCli.OK;
    }
  }

  private static void print(PrintWriter out, CacheKey k, String node, KeySnapshot snap, TableRule rule,
      KeyRules rules, Optional<Map<String, Object>> row, RowCheck.Result verdict) {
    out.printf("key       %s  (slot %d on %s)%n", k, SlotHash.getSlot(k.hashTag()), node);
    out.printf("fence     %s%n", snap.describeFence());
    out.printf("lease     %s%n", snap.leased() ? "held, ttl " + snap.leasePttl() + " ms" : "none");
    if (snap.values().isEmpty()) {
      out.printf("value     none%n");
    }
    for (KeySnapshot.Value v : snap.values()) {
      out.printf("value     %s%n", v.describe());
      String payload = payloadText(v);
      if (payload != null) {
        out.printf("          payload %s%n", payload);
      }
    }
    if (rule == null) {
      out.printf("rule      none maps %s:* (rules: %s)%n", k.namespaceName(), rules.names());
      out.printf("database  not consulted%n");
    } else {
      out.printf("rule      %s  -> row %s%n", rule, rules.keyColumns(rule, k));
      out.printf("database  %s%n", row.map(Object::toString).orElse("no row"));
    }
    out.printf("verdict   %s%n", verdict.verdict().label());
    for (String r : verdict.reasons()) {
      out.printf("          %s%n", r);
    }
  }

  private static Map<String, Object> asJson(CacheKey k, String node, KeySnapshot snap, TableRule rule,
      KeyRules rules, Optional<Map<String, Object>> row, RowCheck.Result verdict) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("key", k.toString());
    j.put("slot", SlotHash.getSlot(k.hashTag()));
    j.put("node", node);
    Map<String, Object> fence = new LinkedHashMap<>(snap.fence());
    fence.put("pttlMs", snap.fencePttl());
    j.put("fence", snap.fence().isEmpty() ? null : fence);
    j.put("lease", snap.leased() ? Map.of("pttlMs", snap.leasePttl()) : null);
    List<Map<String, Object>> values = new ArrayList<>();
    for (KeySnapshot.Value v : snap.values()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("schema", v.schema());
      m.put("pttlMs", v.pttl());
      m.put("bytes", v.bytes().length);
      Envelope e = v.envelope();
      if (e == null) {
        m.put("error", "undecodable envelope");
      } else {
        m.put("version", e.dataVersion() == Envelope.NO_VERSION ? null : e.dataVersion());
        m.put("codec", KeySnapshot.codecName(e.codecId()));
        m.put("encrypted", e.has(Envelope.FLAG_ENCRYPTED));
        m.put("notFound", e.has(Envelope.FLAG_NOT_FOUND));
        m.put("writtenAt", Instant.ofEpochMilli(e.writtenAtMs()).toString());
        m.put("softExpiry", Instant.ofEpochMilli(e.softExpiryMs()).toString());
        m.put("loadMs", e.loadDurationMs());
        m.put("payload", payloadText(v));
      }
      values.add(m);
    }
    j.put("values", values);
    j.put("rule", rule == null ? null : rule.toString());
    if (rule != null) {
      Map<String, Object> r = new LinkedHashMap<>();
      row.ifPresent(x -> x.forEach((c, val) -> r.put(c, val == null ? null : val.toString())));
      j.put("row", row.isEmpty() ? null : r);
    }
    j.put("verdict", verdict.verdict().label());
    j.put("reasons", verdict.reasons());
    return j;
  }

  /** @return the payload decoded as a map and printed, or null when not decodable (encrypted, other shape) */
  static String payloadText(KeySnapshot.Value v) {
    Envelope e = v.envelope();
    if (e == null || e.has(Envelope.FLAG_ENCRYPTED) || e.payloadLength() == 0) {
      return null;
    }
    try {
      return String.valueOf(Codecs.byId(e.codecId()).decode(e.payload(), Object.class));
    } catch (RuntimeException ex) {
      return null;
    }
  }
}
