package io.freshcache.protocol;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * A {@link Codec} over a Jackson {@link ObjectMapper}; JSON by default. Other Jackson data formats
 * (CBOR, Smile, MessagePack) plug in with their own mapper and id.
 */
public final class JacksonCodec implements Codec {
  private final byte id;
  private final String name;
  private final ObjectMapper mapper;

  /**
   * @param id the envelope codec id
   * @param name the configuration name
   * @param mapper the configured mapper; unknown properties are ignored so that a reader with an
   *     older class still decodes a newer writer's value
   */
  public JacksonCodec(byte id, String name, ObjectMapper mapper) {
    this.id = id;
    this.name = name;
    this.mapper = mapper.copy().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }

  /** @return the JSON codec, id {@link Codecs#JSON_ID} */
  public static JacksonCodec json() {
    return new JacksonCodec(Codecs.JSON_ID, "json", new ObjectMapper().findAndRegisterModules());
  }

  /** @return the CBOR codec, id {@link Codecs#CBOR_ID} */
  public static JacksonCodec cbor() {
    return new JacksonCodec(Codecs.CBOR_ID, "cbor",
        new ObjectMapper(new com.fasterxml.jackson.dataformat.cbor.CBORFactory()).findAndRegisterModules());
  }

  /** @return the Smile codec, id {@link Codecs#SMILE_ID} */
  public static JacksonCodec smile() {
    return new JacksonCodec(Codecs.SMILE_ID, "smile",
        new ObjectMapper(new com.fasterxml.jackson.dataformat.smile.SmileFactory()).findAndRegisterModules());
  }

  /** @return the MessagePack codec, id {@link Codecs#MSGPACK_ID} */
  public static JacksonCodec msgpack() {
    return new JacksonCodec(Codecs.MSGPACK_ID, "msgpack",
        new ObjectMapper(new org.msgpack.jackson.dataformat.MessagePackFactory()).findAndRegisterModules());
  }

  @Override
  public byte id() {
    return id;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte[] encode(Object value) {
    try {
      return mapper.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new CodecException(name, "cannot encode " + value.getClass().getName(), e);
    }
  }

  @Override
  public <T> T decode(byte[] payload, Class<T> type) {
    try {
      return mapper.readValue(payload, type);
    } catch (IOException e) {
      throw new CodecException(name, "cannot decode " + payload.length + " bytes into "
          + type.getName(), e);
    }
  }

  @Override
  public Object decode(byte[] payload, java.lang.reflect.Type type) {
    try {
      return mapper.readValue(payload, mapper.getTypeFactory().constructType(type));
    } catch (IOException e) {
      throw new CodecException(name, "cannot decode " + payload.length + " bytes into "
          + type.getTypeName(), e);
    }
  }

  /** @return a copy of the mapper this codec uses (unknown properties ignored) */
  public ObjectMapper mapper() {
    return mapper.copy();
  }
}
