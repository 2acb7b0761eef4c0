package io.freshcache.protocol;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry of codecs by id and by name: JSON ({@code json}, the default), CBOR
 * ({@code cbor}), Smile ({@code smile}) and MessagePack ({@code msgpack}) are always registered,
 * all through Jackson, so one class decodes from any of them. Applications may register more.
 */
public final class Codecs {
  /** Envelope id of raw bytes: the payload is the value. */
  public static final byte BYTES_ID = 0;
  /** Envelope id of JSON (Jackson), the default codec. */
  public static final byte JSON_ID = 1;
  /** Envelope id of CBOR. */
  public static final byte CBOR_ID = 2;
  /** Envelope id of Smile. */
  public static final byte SMILE_ID = 3;
  /** Envelope id of MessagePack. */
  public static final byte MSGPACK_ID = 4;

  private static final Map<Byte, Codec> BY_ID = new ConcurrentHashMap<>();
  private static final Map<String, Codec> BY_NAME = new ConcurrentHashMap<>();

  static {
    register(JacksonCodec.json());
    register(JacksonCodec.cbor());
    register(JacksonCodec.smile());
    register(JacksonCodec.msgpack());
  }

  private Codecs() {}

  /** @return the JSON codec */
  public static Codec json() {
    return byId(JSON_ID);
  }

  /**
   * Adds a codec. Registering another codec under an id or name already taken is an error;
   * registering the same instance again does nothing. Note that the built-in codecs are
   * registered as private instances, so registering e.g. {@link JacksonCodec#json()} again is
   * an error.
   *
   * @param codec the codec to add, not null; its {@link Codec#id()} and {@link Codec#name()}
   *     must not be taken by another codec
   * @throws IllegalArgumentException if the id or name is taken by a different codec
   */
  public static synchronized void register(Codec codec) {
    Codec byId = BY_ID.get(codec.id());
    Codec byName = BY_NAME.get(codec.name());
    if ((byId != null && byId != codec) || (byName != null && byName != codec)) {
      throw new IllegalArgumentException("codec id " + codec.id() + " or name '" + codec.name()
          + "' is already registered");
    }
    BY_ID.put(codec.id(), codec);
    BY_NAME.put(codec.name(), codec);
  }

  /**
   * Looks up the codec of an envelope.
   *
   * @param id the codec id from the envelope header ({@link Envelope#codecId()})
   * @return the codec registered with that id, never {@code null}
   * @throws CodecException if no codec has that id (no codec is registered for
   *     {@link #BYTES_ID} unless the application registers one)
   */
  public static Codec byId(byte id) {
    Codec c = BY_ID.get(id);
    if (c == null) {
      throw new CodecException("id " + id, "no codec registered with id " + id, null);
    }
    return c;
  }

  /**
   * Looks up a codec by its configuration name.
   *
   * @param name the codec name, e.g. {@code json}, {@code cbor}, {@code smile} or
   *     {@code msgpack}; case-sensitive
   * @return the codec registered under that name, never {@code null}
   * @throws IllegalArgumentException if no codec has that name; the message lists the known ones
   */
  public static Codec byName(String name) {
    Codec c = BY_NAME.get(name);
    if (c == null) {
      throw new IllegalArgumentException("unknown codec '" + name + "'; known: " + BY_NAME.keySet());
    }
    return c;
  }
}
