package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.StringLength;

class KeyTemplateProperties {
  private static final KeyTemplate COMPOSITE = KeyTemplate.parse("shop:line:{order_id}:{line_no}");

  @Property
  void compositeKeysJoinTheColumnValues(@ForAll long orderId, @ForAll int lineNo) {
    CacheKey key = COMPOSITE.render(Map.of("order_id", orderId, "line_no", lineNo));

    assertThat(key.service()).isEqualTo("shop");
    assertThat(key.entity()).isEqualTo("line");
    assertThat(key.identifier()).isEqualTo(orderId + ":" + lineNo);
  }

  @Property
  void textValuesAppearUnchanged(
      @ForAll @AlphaChars @NumericChars @StringLength(min = 1, max = 200) String id) {
    assertThat(KeyTemplate.parse("catalog:product:{id}").render(Map.of("id", id)).identifier())
        .isEqualTo(id);
  }
}
