package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.Envelope;
import io.freshcache.protocol.JacksonCodec;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A client's own JSON codec (the application's mapper) replaces the registered one for that client only. */
class ClientJsonMapperTest {
  record Price(long amountCents, String currency) {}

  @Test
  void theApplicationsMapperWritesAndReadsJsonEntriesOfItsClient() {
    ObjectMapper app = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    EntryCodec mine = new EntryCodec(null, new JacksonCodec(Codecs.JSON_ID, "json", app));
    CacheKey k = CacheKey.parse("test:price:1");
    byte[] stored = mine.encode(k, CachePolicy.PRODUCT_CATALOG, new Price(350, "EUR"), 1, 0, 1000, 0);
    assertThat(new String(Envelope.decode(stored).payload(), StandardCharsets.UTF_8)).contains("\"amount_cents\":350");
    assertThat(mine.decode(k, 1, stored, Price.class).value()).isEqualTo(new Price(350, "EUR"));
    // the registered codec (other clients) is untouched
    byte[] plain = new EntryCodec(null).encode(k, CachePolicy.PRODUCT_CATALOG, new Price(1, "EUR"), 1, 0, 1000, 0);
    assertThat(new String(Envelope.decode(plain).payload(), StandardCharsets.UTF_8)).contains("\"amountCents\":1");
  }

  @Test
  void onlyACodecWithTheJsonIdCanReplaceJson() {
    assertThatThrownBy(() -> new EntryCodec(null, JacksonCodec.cbor()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id 1");
  }
}
