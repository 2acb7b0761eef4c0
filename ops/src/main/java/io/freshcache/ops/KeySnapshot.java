package io.freshcache.ops;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.Envelope;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What Redis held for one logical key at one instant ({@link OpsRedis#snapshot}): the fence hash
 * ({@code v} highest version applied, {@code d} delete tombstone, {@code s<n>} schemas filled),
 * the lease, and the value of each schema version present, each with its remaining TTL
 * ({@code PTTL}: -1 none, -2 absent).
 *
 * @param key the logical key
 * @param fence the fence hash's fields, empty if there is no fence
 * @param fencePttl the fence's remaining TTL, ms
 * @param leaseToken the lease holder's token, or {@code null}
 * @param leasePttl the lease's remaining TTL, ms
 * @param values the values present, in the order the fence lists their schemas
 */
public record KeySnapshot(CacheKey key, Map<String, String> fence, long fencePttl, String leaseToken,
    long leasePttl, List<Value> values) {

  /**
   * One stored value.
   *
   * @param schema its schema version ({@code {key}:v<schema>})
   * @param bytes the envelope as stored
   * @param pttl its remaining TTL, ms (-1: none)
   */
  public record Value(int schema, byte[] bytes, long pttl) {
    /** @return the decoded envelope, or {@code null} if the bytes are not a valid envelope */
    public Envelope envelope() {
      try {
        return Envelope.decode(bytes);
      } catch (CorruptEnvelopeException e) {
        return null;
      }
    }

    /** @return the header in one line, e.g. {@code v1: version 12, written 2026-..., ttl 3599 s, 84 B} */
    public String describe() {
      Envelope e = envelope();
      String ttl = pttl < 0 ? "no ttl" : "ttl " + pttl + " ms";
      if (e == null) {
        return "v" + schema + ": undecodable envelope (" + bytes.length + " B), " + ttl;
      }
      return "v" + schema + ": version " + (e.dataVersion() == Envelope.NO_VERSION ? "none" : e.dataVersion())
           + ", codec " + codecName(e.codecId()) + ", flags " + flagNames(e) + ", written " + Instant.ofEpochMilli(e.writtenAtMs())
          + ", soft expiry " + Instant.ofEpochMilli(e.softExpiryMs()) + ", load " + e.loadDurationMs() + " ms, "
          + ttl + ", " + e.payloadLength() + " B payload";
    }
  }

  static KeySnapshot of(CacheKey key, List<Object> reply) {
    Map<String, String> fence = new LinkedHashMap<>();
    List<?> f = (List<?>) reply.get(0);
    for (int i = 0; i + 1 < f.size(); i += 2) {
      fence.put(text(f.get(i)), text(f.get(i + 1)));
    }
    long fencePttl = (Long) reply.get(1);
    String lease = reply.get(2) == null ? null : text(reply.get(2));
    long leasePttl = (Long) reply.get(3);
    List<Value> values = new ArrayList<>();
    List<?> v = (List<?>) reply.get(4);
    for (int i = 0; i + 2 < v.size(); i += 3) {
      values.add(new Value(Integer.parseInt(text(v.get(i))), (byte[]) v.get(i + 1), (Long) v.get(i + 2)));
    }
    return new KeySnapshot(key, Map.copyOf(fence), fencePttl, lease, leasePttl, List.copyOf(values));
  }

  /** @return the fence's version ({@code v}), or {@code null} without a fence version */
  public Long fenceVersion() {
    String v = fence.get("v");
    return v == null ? null : Long.valueOf(v);
  }

  /** @return whether the fence holds a delete tombstone */
  public boolean tombstone() {
    return "1".equals(fence.get("d"));
  }

  /** @return whether a lease is held */
  public boolean leased() {
    return leaseToken != null;
  }

  /** @return the fence in one line, e.g. {@code fence v=12 schemas [s1] ttl 86399 s} */
  public String describeFence() {
    if (fence.isEmpty()) {
      return "no fence";
    }
    List<String> schemas = fence.keySet().stream().filter(k -> k.startsWith("s")).sorted().toList();
    return "fence v=" + fence.getOrDefault("v", "none") + (tombstone() ? " (delete tombstone)" : "")
        + " schemas " + schemas + " ttl " + fencePttl + " ms";
  }

  /** @return fence, lease and every value in one line, for logs */
  public String describe() {
    StringBuilder sb = new StringBuilder(describeFence());
    sb.append("; ").append(leased() ? "lease held, ttl " + leasePttl + " ms" : "no lease");
    if (values.isEmpty()) {
      sb.append("; no value");
    }
    for (Value v : values) {
      sb.append("; ").append(v.describe());
    }
    return sb.toString();
  }

  /**
   * @param id a codec id from an envelope header
   * @return the codec's name, e.g. {@code json}, or {@code id N} when no codec has it
   */
  public static String codecName(byte id) {
    try {
      return io.freshcache.protocol.Codecs.byId(id).name();
    } catch (RuntimeException e) {
      return "id " + id;
    }
  }

  static String flagNames(Envelope e) {
    List<String> names = new ArrayList<>();
    if (e.has(Envelope.FLAG_ENCRYPTED)) {
      names.add("encrypted");
    }
    if (e.has(Envelope.FLAG_NOT_FOUND)) {
      names.add("not-found");
    }
    return names.isEmpty() ? "none" : String.join("+", names);
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
  }
}
