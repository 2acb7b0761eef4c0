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
}
