package io.freshcache.ops;

import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Compares what Redis holds for a key with the key's database row.
 *
 * <p>Rules versioned by a row-version column compare versions: a value older than the row (or any
 * value of a deleted row, or a "not found" entry of a row that exists) is stale. A value without a
 * version, or under a rule versioned by commit LSN (the row does not show the LSN of its last
 * change), is compared field by field: the payload is decoded with its codec and each field whose
 * name matches a column (ignoring case and underscores, so {@code priceCents} matches
 * {@code price_cents}) must equal the column's value; a payload that shares no field with the row,
 * or is encrypted, gives {@link Verdict#UNKNOWN}.
 */
public final class RowCheck {
  /** The verdict on one key. */
  public enum Verdict {
    /** Every value present equals the row (or is newer). */
    FRESH,
    /** A value is older than the row, or the row is gone while a value is cached. */
    STALE,
    /** Nothing is cached and no fence is kept. */
    ABSENT,
    /** No value is cached, but a fence is kept: fills older than its version are refused. */
    FENCED,
    /** Values are cached, but could not be compared with the row. */
    UNKNOWN;

    /** @return the lower-case name */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @param verdict the verdict
   * @param reasons one line per value, why
   */
  public record Result(Verdict verdict, List<String> reasons) {}

  private RowCheck() {}

  /**
   * @param rule the key's rule, or {@code null} if none maps it (then only Redis is judged)
   * @param snap what Redis holds
   * @param row the database row, empty if there is none; ignored without a rule
   * @return the verdict and reasons
   */
  public static Result compare(TableRule rule, KeySnapshot snap, Optional<Map<String, Object>> row) {
    List<String> reasons = new ArrayList<>();
    if (snap.values().isEmpty()) {
      boolean fenced = snap.fenceVersion() != null;
      reasons.add(fenced ? "no value; " + snap.describeFence() : "nothing cached");
      return new Result(fenced ? Verdict.FENCED : Verdict.ABSENT, reasons);
    }
    if (rule == null) {
      reasons.add("no rule maps " + snap.key().namespaceName() + ":*, the database was not consulted");
      return new Result(Verdict.UNKNOWN, reasons);
    }
    boolean stale = false;
    boolean fresh = false;
    for (KeySnapshot.Value v : snap.values()) {
      Verdict one = compareValue(rule, v, row, reasons);
      stale |= one == Verdict.STALE;
      fresh |= one == Verdict.FRESH;
    }
    return new Result(stale ? Verdict.STALE : fresh ? Verdict.FRESH : Verdict.UNKNOWN, reasons);
  }

  private static Verdict compareValue(TableRule rule, KeySnapshot.Value v, Optional<Map<String, Object>> row,
      List<String> reasons) {
    String where = "v" + v.schema() + ": ";
    Envelope e = v.envelope();
    if (e == null) {
      reasons.add(where + "undecodable envelope of " + v.bytes().length + " B");
      return Verdict.STALE;
    }
    boolean notFound = e.has(Envelope.FLAG_NOT_FOUND);
    if (row.isEmpty()) {
      if (notFound) {
        reasons.add(where + "cached as not found, and the row does not exist");
        return Verdict.FRESH;
      }
      reasons.add(where + "cached at version " + version(e) + " but the row does not exist");
      return Verdict.STALE;
    }
    if (notFound) {
      reasons.add(where + "cached as not found at version " + version(e) + " but the row exists");
      return Verdict.STALE;
    }
    Map<String, Object> r = row.get();
    if (rule.versionSource() == TableRule.VersionSource.COLUMN && e.dataVersion() != Envelope.NO_VERSION) {
      Object rv = r.get(rule.versionColumn());
      if (rv instanceof Number n) {
        long rowVersion = n.longValue();
        if (e.dataVersion() < rowVersion) {
          reasons.add(where + "cached version " + e.dataVersion() + " < row version " + rowVersion);
          return Verdict.STALE;
        }
        reasons.add(where + "cached version " + e.dataVersion() + " >= row version " + rowVersion);
        return Verdict.FRESH;
      }
    }
    if (e.has(Envelope.FLAG_ENCRYPTED)) {
      reasons.add(where + "encrypted payload at version " + version(e) + ", not compared");
      return Verdict.UNKNOWN;
    }
    Map<?, ?> payload;
    try {
      payload = Codecs.byId(e.codecId()).decode(e.payload(), Map.class);
    } catch (RuntimeException ex) {
      reasons.add(where + "payload not decodable as a map (codec " + e.codecId() + "): " + ex.getMessage());
      return Verdict.UNKNOWN;
    }
    int compared = 0;
    List<String> differ = new ArrayList<>();
    for (var f : payload.entrySet()) {
      String field = normal(String.valueOf(f.getKey()));
      for (var c : r.entrySet()) {
        if (normal(c.getKey()).equals(field)) {
          compared++;
          if (!same(f.getValue(), c.getValue())) {
            differ.add(f.getKey() + " cached " + f.getValue() + ", row " + c.getValue());
          }
        }
      }
    }
    if (compared == 0) {
      reasons.add(where + "payload shares no field with the row's columns, not compared");
      return Verdict.UNKNOWN;
    }
    if (!differ.isEmpty()) {
      reasons.add(where + "payload differs from the row: " + String.join("; ", differ));
      return Verdict.STALE;
    }
    reasons.add(where + compared + " fields equal the row");
    return Verdict.FRESH;
  }

  private static String version(Envelope e) {
    return e.dataVersion() == Envelope.NO_VERSION ? "none" : Long.toString(e.dataVersion());
  }

  static String normal(String name) {
    return name.replace("_", "").toLowerCase(Locale.ROOT);
  }

  static boolean same(Object cached, Object column) {
    if (cached == null || column == null) {
      return cached == column;
    }
    if (cached instanceof Number || column instanceof Number) {
      try {
        return new BigDecimal(cached.toString()).compareTo(new BigDecimal(column.toString())) == 0;
      } catch (NumberFormatException e) {
        return false;
      }
    }
    return cached.toString().equals(column.toString());
  }
}
