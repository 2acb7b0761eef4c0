package io.freshcache.writer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.writer.SinkRule;
import io.freshcache.writer.WriteBehindConfig;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JdbcUpserterTest {
  static final SinkRule RULE = new SinkRule("catalog:product", "public.products", "id", "version");

  @Test
  void theStatementIsAVersionGuardedUpsert() {
    JdbcUpserter u = new JdbcUpserter(WriteBehindConfig.builder().jdbcUrl("jdbc:postgresql://h/db").rules(List.of(RULE))
        .topic("freshcache.writes").batchSize(10).flushInterval(Duration.ofMillis(10)).build());
    Map<String, String> values = new LinkedHashMap<>();
    values.put("name", "x");
    values.put("price_cents", "5");
    String sql = u.statementOf(new JdbcUpserter.Row(RULE, "42", 7, values, null));
    assertThat(sql).isEqualTo("INSERT INTO public.products AS t (name, price_cents, id, version) VALUES (?, ?, ?, ?)"
        + " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents,"
        + " version = EXCLUDED.version WHERE t.version < EXCLUDED.version");
  }

  @Test
  void connectionLossAndShutdownAreTransientConstraintsAndBadValuesAreNot() {
    assertThat(JdbcUpserter.isTransient(new SQLException("refused", "08001"))).isTrue();
    assertThat(JdbcUpserter.isTransient(new SQLException("terminating", "57P01"))).isTrue();
    assertThat(JdbcUpserter.isTransient(new SQLException("serialization", "40001"))).isTrue();
    assertThat(JdbcUpserter.isTransient(new SQLTransientConnectionException("x"))).isTrue();
    assertThat(JdbcUpserter.isTransient(new SQLException("bad int", "22P02"))).isFalse();
    assertThat(JdbcUpserter.isTransient(new SQLException("not null", "23502"))).isFalse();
    SQLException batch = new SQLException("batch entry 0 failed", "22P02");
    batch.setNextException(new SQLException("I/O error", "08006"));
    assertThat(JdbcUpserter.isTransient(batch)).isTrue();
  }

  @Test
  void descriptionsLeaveOutTheStatementAndItsValues() {
    java.sql.BatchUpdateException batch = new java.sql.BatchUpdateException(
        "Batch entry 0 INSERT INTO t (name) VALUES ('Jane Doe') was aborted", "22P02", new int[0]);
    batch.setNextException(new SQLException("ERROR: invalid input syntax for type integer\n  Where: x", "22P02"));
    assertThat(JdbcUpserter.describe(batch)).isEqualTo("SQLState 22P02: ERROR: invalid input syntax for type integer");
    assertThat(JdbcUpserter.describe(new java.sql.BatchUpdateException("Batch entry 3 INSERT 'Jane'", "23505", new int[0])))
        .isEqualTo("SQLState 23505: batch entry failed").doesNotContain("Jane");
  }
}
