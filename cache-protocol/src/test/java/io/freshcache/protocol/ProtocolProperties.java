package io.freshcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.IntRange;

class ProtocolProperties {

  @Provide
  Arbitrary<String> keys() {
    Arbitrary<String> name = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz0123456789_-")
        .ofMinLength(0).ofMaxLength(12);
    Arbitrary<Character> first = Arbitraries.chars().with("abcxyz019".toCharArray());
    Arbitrary<String> ident = Arbitraries.strings().withCharRange('!', 'z').withChars('|', '~')
        .ofMinLength(1).ofMaxLength(40);
    return Combinators.combine(first, name, first, name, ident)
        .as((f1, n1, f2, n2, id) -> f1 + n1 + ":" + f2 + n2 + ":" + id);
  }

  @Property
  void validKeysParseAndPrintUnchanged(@ForAll("keys") String key) {
    CacheKey k = CacheKey.parse(key);
    assertThat(k.toString()).isEqualTo(key);
    assertThat(CacheKey.of(k.service(), k.entity(), k.identifier())).isEqualTo(k);
    assertThat(k.valueKey(1)).startsWith("{" + key + "}");
  }

  @Property(tries = 2000)
  void parseAcceptsExactlyWhatTheDocumentedPatternsAccept(@ForAll String a, @ForAll String b,
      @ForAll String c) {
    String key = a + ":" + b + ":" + c;
    boolean documented = key.length() <= CacheKey.MAX_LENGTH
        && a.matches("[a-z0-9][a-z0-9_-]*") && b.matches("[a-z0-9][a-z0-9_-]*")
        && c.matches("[\\x21-\\x7a\\x7c\\x7e]+");
    boolean parsed;
    try {
      CacheKey.parse(key);
      parsed = true;
    } catch (IllegalArgumentException e) {
      parsed = false;
    }
    if (!a.contains(":") && !b.contains(":")) {
      assertThat(parsed).as(key).isEqualTo(documented);
    }
  }

  @Property(tries = 1000)
  void parseAgreesWithThePatternsOnKeyLikeStrings(@ForAll("keyish") String a, @ForAll("keyish") String b,
      @ForAll("keyish") String c) {
    parseAcceptsExactlyWhatTheDocumentedPatternsAccept(a, b, c);
  }

  @Provide
  Arbitrary<String> keyish() {
    return Arbitraries.strings().withChars("az09_-{}| ~!Z\t").ofMinLength(0).ofMaxLength(6);
  }

  @Property
  void keysWithSpacesOrBracesAreRejected(@ForAll("keys") String key, @ForAll @IntRange(min = 0, max = 2) int which) {
    String bad = key + " {}".charAt(which);
    assertThatThrownBy(() -> CacheKey.parse(bad)).isInstanceOf(IllegalArgumentException.class);
  }

  @Property
  void envelopeRoundTrips(@ForAll byte codec, @ForAll @IntRange(min = 0, max = 255) int flags,
      @ForAll long version, @ForAll long writtenAt, @ForAll long softExpiry,
      @ForAll @IntRange(min = 0) int loadMs, @ForAll byte[] payload) {
    Envelope e = new Envelope(codec, flags, version, writtenAt, softExpiry, loadMs, payload);
    byte[] bytes = e.encode();
    assertThat(bytes).hasSize(Envelope.HEADER_BYTES + payload.length);
    assertThat(Envelope.decode(bytes)).isEqualTo(e);
    assertThat(Envelope.peekVersion(bytes)).isEqualTo(version);
  }

  @Property
  void truncatedEnvelopesAreRejected(@ForAll byte[] garbage) {
    if (garbage.length >= Envelope.HEADER_BYTES && garbage[0] == Envelope.FORMAT_VERSION) {
      return;
    }
    assertThatThrownBy(() -> Envelope.decode(garbage)).isInstanceOf(CorruptEnvelopeException.class);
  }

  @Provide
  Arbitrary<CacheEvent> events() {
    Arbitrary<CacheEvent.Op> ops = Arbitraries.of(CacheEvent.Op.class);
    Arbitrary<Long> versions = Arbitraries.longs().between(0, CacheScripts.MAX_VERSION);
    Arbitrary<byte[]> payloads = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    Arbitrary<CacheEvent.Source> sources = Combinators.combine(
        Arbitraries.strings().alpha().ofMaxLength(10), Arbitraries.longs().greaterOrEqual(0),
        Arbitraries.longs().greaterOrEqual(-1), Arbitraries.longs().greaterOrEqual(0))
        .as((c, lsn, tx, ts) -> new CacheEvent.Source(c, "shop", "public.products", lsn, tx, ts))
        .injectNull(0.3);
    return Combinators.combine(ops, keys(), versions, payloads, sources, Arbitraries.integers().between(1, 9),
        Arbitraries.longs().between(0, Long.MAX_VALUE / 2))
        .as((op, key, v, p, s, schema, at) -> {
          CacheKey k = CacheKey.parse(key);
          if (op == CacheEvent.Op.INVALIDATE_NAMESPACE) {
            k = CacheKey.namespace(k.service(), k.entity());
          } else if (k.isNamespace()) {
            k = CacheKey.of(k.service(), k.entity(), "x");
          }
          return op == CacheEvent.Op.UPSERT
              ? new CacheEvent(op, k, v, 60_000, schema, "json", p, s, at)
              : new CacheEvent(op, k, v, 0, schema, null, null, s, at);
        });
  }

  @Property
  void eventJsonRoundTrips(@ForAll("events") CacheEvent e) {
    assertThat(CacheEventJson.read(CacheEventJson.write(e))).isEqualTo(e);
  }

  @Property
  void garbageNeverEscapesAsAnythingButInvalidEvent(@ForAll byte[] garbage) {
    assertThatThrownBy(() -> CacheEventJson.read(garbage)).isInstanceOf(InvalidEventException.class);
  }

  @Property
  void fuzzedEventsAreValidOrInvalidEvents(@ForAll("events") CacheEvent e,
      @ForAll @IntRange(min = 0, max = 400) int position, @ForAll byte replacement) {
    byte[] json = CacheEventJson.write(e);
    json[position % json.length] = replacement;
    try {
      CacheEventJson.read(json);
    } catch (InvalidEventException expected) {
      // the only failure a reader may see
    }
  }

  @Property
  void versionsAboveTheLuaLimitAreRejected(@ForAll @LongRange(min = CacheScripts.MAX_VERSION + 1) long v) {
    assertThatThrownBy(() -> CacheEvent.invalidate(CacheKey.parse("a:b:c"), v, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version");
  }

  record Item(String sku, int qty, java.util.List<String> tags, double price, boolean active) {}

  @Provide
  Arbitrary<Codec> codecs() {
    return Arbitraries.of(Codecs.byName("json"), Codecs.byName("cbor"), Codecs.byName("smile"),
        Codecs.byName("msgpack"));
  }

  @Property(tries = 200)
  void everyCodecRoundTripsMaps(@ForAll("codecs") Codec codec, @ForAll("smallMaps") Map<String, Integer> m) {
    assertThat(codec.decode(codec.encode(m), Map.class)).isEqualTo(m);
    assertThat(Codecs.byId(codec.id())).isSameAs(codec);
  }

  @Property(tries = 200)
  void everyCodecRoundTripsRecords(@ForAll("codecs") Codec codec, @ForAll String sku, @ForAll int qty,
      @ForAll java.util.List<@net.jqwik.api.constraints.AlphaChars String> tags,
      @ForAll double price, @ForAll boolean active) {
    if (Double.isNaN(price) || Double.isInfinite(price)) {
      return;
    }
    Item item = new Item(sku, qty, tags, price, active);
    assertThat(codec.decode(codec.encode(item), Item.class)).isEqualTo(item);
  }

  @Provide
  Arbitrary<Map<String, Integer>> smallMaps() {
    return Arbitraries.maps(Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8),
        Arbitraries.integers()).ofMaxSize(10);
  }
}
