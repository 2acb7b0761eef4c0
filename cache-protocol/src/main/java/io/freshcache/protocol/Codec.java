package io.freshcache.protocol;

/**
 * Turns values into payload bytes and back. The codec's {@link #id()} is written into every
 * envelope, so a reader decodes entries written with any registered codec.
 *
 * <p>Implementations are thread-safe.
 */
public interface Codec {
  /** @return the id stored in the envelope header; unique among {@link Codecs} */
  byte id();

  /** @return the name used in configuration and in Kafka events, e.g. {@code json} */
  String name();

  /**
   * @param value the value to encode, not null
   * @return the payload bytes
   * @throws CodecException if the value cannot be encoded
   */
  byte[] encode(Object value);

  /**
   * @param <T> the type decoded into
   * @param payload bytes written by {@link #encode(Object)} of a codec with the same id
   * @param type the type to decode into
   * @return the decoded value
   * @throws CodecException if the bytes do not decode into {@code type}
   */
  <T> T decode(byte[] payload, Class<T> type);

  /**
   * Decodes into a full (possibly generic) type such as {@code List<Product>}. The default
   * handles plain classes only; the Jackson codecs handle every type.
   *
   * @param payload bytes written by {@link #encode(Object)} of a codec with the same id
   * @param type the type to decode into: a {@link Class}, or a parameterized or array type
   * @return the decoded value
   * @throws CodecException if the bytes do not decode into {@code type}, or this codec cannot
   *     decode generic types
   */
  default Object decode(byte[] payload, java.lang.reflect.Type type) {
    if (type instanceof Class<?> c) {
      return decode(payload, c);
    }
    throw new CodecException(name(), "codec '" + name() + "' cannot decode the generic type "
        + type.getTypeName() + "; use a Jackson codec (json, cbor, smile, msgpack)", null);
  }
}
