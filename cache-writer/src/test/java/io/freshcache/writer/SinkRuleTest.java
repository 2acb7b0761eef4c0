package io.freshcache.writer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SinkRuleTest {

  @Test
  void parsesAndFoldsIdentifiersToLowerCase() {
    SinkRule r = SinkRule.parse("catalog:product=Public.Products(Id,Version)");
    assertThat(r).isEqualTo(new SinkRule("catalog:product", "public.products", "id", "version"));
    assertThat(r.toString()).isEqualTo("catalog:product=public.products(id,version)");
    assertThat(SinkRule.parse(r.toString())).isEqualTo(r);
  }

  @Test
  void rejectsAnythingThatIsNotAPlainIdentifier() {
    assertThatThrownBy(() -> SinkRule.parse("catalog:product=products;drop table x(id,version)"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SinkRule.parse("catalog:product=prod-ucts(id,version)"))
        .hasMessageContaining("'prod-ucts'");
    assertThatThrownBy(() -> SinkRule.parse("catalog:product=products(id\",version)"))
        .hasMessageContaining("id\"");
    assertThatThrownBy(() -> SinkRule.parse("product=products(id,version)"))
        .hasMessageContaining("service:entity").hasMessageContaining("'product'");
    assertThatThrownBy(() -> SinkRule.parse("a:b=t(id,ID)")).hasMessageContaining("different key and version");
    assertThatThrownBy(() -> SinkRule.parseAll("a:b=t(id,v);a:b=u(id,v)")).hasMessageContaining("twice");
  }

  @Test
  void columnNamesFromPayloadsAreCheckedBeforeTheyReachSql() {
    assertThat(SinkRule.isColumnName("price_cents")).isTrue();
    assertThat(SinkRule.isColumnName("price cents")).isFalse();
    assertThat(SinkRule.isColumnName("x\"; drop")).isFalse();
    assertThat(SinkRule.isColumnName("1abc")).isFalse();
  }
}
