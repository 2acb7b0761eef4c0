package io.freshcache.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.Envelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class EntryCodecTest {
  record Person(String name, String email, List<String> roles) {}

  static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  static final CacheKey K = CacheKey.parse("users:profile:7");
  static final CachePolicy SECRET = CachePolicy.USER_PROFILES.toBuilder().encrypted(true).build();
  final EntryCodec codec = new EntryCodec(KEY);
  final Person alice = new Person("Alice", "alice@example.org", List.of("admin"));

  @Test
  void everyCodecRoundTripsAndTheReaderNeedsNoConfiguration() {
    for (String name : List.of("json", "cbor", "smile", "msgpack")) {
      byte[] stored = codec.encode(K, CachePolicy.USER_PROFILES.withCodec(name), alice, 3, 1000, 60_000, 12);
      Envelope e = Envelope.decode(stored);
      assertThat(e.codecId()).isEqualTo(Codecs.byName(name).id());
      assertThat(e.dataVersion()).isEqualTo(3);
      assertThat(e.softExpiryMs()).isEqualTo(61_000);
      assertThat(e.loadDurationMs()).isEqualTo(12);
      // decoded with a JSON policy: the envelope names the codec
      assertThat(codec.decode(K, 1, stored, Person.class).value()).isEqualTo(alice);
    }
  }

  @Test
  void encryptedValuesHideThePlaintextAndDecrypt() {
    byte[] stored = codec.encode(K, SECRET, alice, 1, 0, 60_000, 0);
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain("alice@example.org");
    assertThat(Envelope.decode(stored).has(Envelope.FLAG_ENCRYPTED)).isTrue();
    assertThat(codec.decode(K, 1, stored, Person.class).value()).isEqualTo(alice);
  }

  @Test
  void tamperingIsDetected() {
    byte[] stored = codec.encode(K, SECRET, alice, 1, 0, 60_000, 0);
    for (int i = Envelope.HEADER_BYTES; i < stored.length; i += 7) {
      byte[] bad = stored.clone();
      bad[i] ^= 0x01;
      assertThatThrownBy(() -> codec.decode(K, 1, bad, Person.class))
          .isInstanceOf(CorruptEnvelopeException.class).hasMessageContaining("authentication");
    }
  }

  @Test
  void aCiphertextCopiedToAnotherKeyOrSchemaDoesNotDecrypt() {
    byte[] stored = codec.encode(K, SECRET, alice, 1, 0, 60_000, 0);
    assertThatThrownBy(() -> codec.decode(CacheKey.parse("users:profile:8"), 1, stored, Person.class))
        .isInstanceOf(CorruptEnvelopeException.class);
    assertThatThrownBy(() -> codec.decode(K, 2, stored, Person.class))
        .isInstanceOf(CorruptEnvelopeException.class);
  }

  @Test
  void aWrongKeyOrNoKeyCannotRead() {
    byte[] stored = codec.encode(K, SECRET, alice, 1, 0, 60_000, 0);
    byte[] other = KEY.clone();
    other[0] ^= 1;
    assertThatThrownBy(() -> new EntryCodec(other).decode(K, 1, stored, Person.class))
        .isInstanceOf(CorruptEnvelopeException.class);
    assertThatThrownBy(() -> new EntryCodec(null).decode(K, 1, stored, Person.class))
        .isInstanceOf(CorruptEnvelopeException.class).hasMessageContaining("no key");
    assertThatThrownBy(() -> new EntryCodec(null).encode(K, SECRET, alice, 1, 0, 1, 0))
        .hasMessageContaining("CACHE_ENCRYPTION_KEY");
  }

  @Test
  void oversizeValuesAreRefusedWithTheSizes() {
    CachePolicy tiny = CachePolicy.USER_PROFILES.toBuilder().maxValueBytes(10).build();
    assertThatThrownBy(() -> codec.encode(K, tiny, alice, 1, 0, 1, 0))
        .isInstanceOf(EntryCodec.OversizeException.class).hasMessageContaining("limit of 10 bytes");
  }

  @Test
  void notFoundIsAMarkerWithoutPayload() {
    byte[] stored = codec.encode(K, CachePolicy.USER_PROFILES.toBuilder().negativeTtl(Duration.ofSeconds(5)).build(),
        null, -1, 0, 5000, 0);
    EntryCodec.Decoded d = codec.decode(K, 1, stored, Person.class);
    assertThat(d.notFound()).isTrue();
    assertThat(d.value()).isNull();
  }

  @Property(tries = 200)
  void encryptionRoundTripsAnyString(@ForAll String secret) {
    byte[] stored = codec.encode(K, SECRET, secret, 1, 0, 1000, 0);
    assertThat(codec.decode(K, 1, stored, String.class).value()).isEqualTo(secret);
  }
}
