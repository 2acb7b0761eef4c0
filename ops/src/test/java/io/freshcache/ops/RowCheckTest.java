package io.freshcache.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RowCheckTest {
  static final CacheKey KEY = CacheKey.parse("catalog:product:42");
  static final TableRule LSN = TableRule.invalidate("public.products", "catalog:product:{id}");
  static final TableRule COLUMN = TableRule.builder("public.products", "catalog:product:{id}").versionColumn("version").build();

  static KeySnapshot snap(Envelope... values) {
    List<KeySnapshot.Value> v = new java.util.ArrayList<>();
    for (Envelope e : values) {
      v.add(new KeySnapshot.Value(1, e.encode(), 1000));
    }
    return new KeySnapshot(KEY, Map.of("v", "7"), 1000, null, -2, v);
  }

  static Envelope value(long version, Object payload, int flags) {
    return new Envelope(Codecs.json().id(), flags, version, 1, 1, 0, Codecs.json().encode(payload));
  }

  static Optional<Map<String, Object>> row(long price, long version) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("id", 42L);
    r.put("name", "p");
    r.put("price_cents", price);
    r.put("version", version);
    return Optional.of(r);
  }

  @Test
  void versionedRulesCompareVersions() {
    assertThat(RowCheck.compare(COLUMN, snap(value(7, Map.of("id", 42), 0)), row(1, 7)).verdict())
        .isEqualTo(RowCheck.Verdict.FRESH);
    RowCheck.Result stale = RowCheck.compare(COLUMN, snap(value(6, Map.of("id", 42), 0)), row(1, 7));
    assertThat(stale.verdict()).isEqualTo(RowCheck.Verdict.STALE);
    assertThat(stale.reasons()).containsExactly("v1: cached version 6 < row version 7");
  }

  @Test
  void lsnRulesCompareFieldsByNameWithoutCaseOrUnderscores() {
    Map<String, Object> cached = Map.of("id", 42, "name", "p", "priceCents", 100, "version", 7);
    assertThat(RowCheck.compare(LSN, snap(value(123456, cached, 0)), row(100, 7)).verdict())
        .isEqualTo(RowCheck.Verdict.FRESH);
    RowCheck.Result stale = RowCheck.compare(LSN, snap(value(123456, cached, 0)), row(101, 8));
    assertThat(stale.verdict()).isEqualTo(RowCheck.Verdict.STALE);
    assertThat(stale.reasons().get(0)).contains("priceCents cached 100, row 101");
    assertThat(RowCheck.compare(LSN, snap(value(1, Map.of("other", 1), 0)), row(1, 1)).verdict())
        .as("no common field").isEqualTo(RowCheck.Verdict.UNKNOWN);
  }

  @Test
  void deletedRowsNotFoundEntriesAndEmptyKeys() {
    assertThat(RowCheck.compare(COLUMN, snap(value(7, Map.of("id", 42), 0)), Optional.empty()).verdict())
        .as("row gone, value cached").isEqualTo(RowCheck.Verdict.STALE);
    assertThat(RowCheck.compare(COLUMN, snap(value(7, Map.of(), Envelope.FLAG_NOT_FOUND)), Optional.empty()).verdict())
        .as("not found, row gone").isEqualTo(RowCheck.Verdict.FRESH);
    assertThat(RowCheck.compare(COLUMN, snap(value(7, Map.of(), Envelope.FLAG_NOT_FOUND)), row(1, 7)).verdict())
        .as("not found, row exists").isEqualTo(RowCheck.Verdict.STALE);
    assertThat(RowCheck.compare(COLUMN, snap(), row(1, 7)).verdict()).as("fence only").isEqualTo(RowCheck.Verdict.FENCED);
    assertThat(RowCheck.compare(COLUMN, new KeySnapshot(KEY, Map.of(), -2, null, -2, List.of()), row(1, 7)).verdict())
        .isEqualTo(RowCheck.Verdict.ABSENT);
    assertThat(RowCheck.compare(null, snap(value(7, Map.of("id", 42), 0)), Optional.empty()).verdict())
        .as("no rule").isEqualTo(RowCheck.Verdict.UNKNOWN);
  }
}
