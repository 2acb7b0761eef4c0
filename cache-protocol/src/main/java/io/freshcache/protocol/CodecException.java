package io.freshcache.protocol;

/** A value that could not be encoded, or payload bytes that could not be decoded. */
public class CodecException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param codec the codec's name
   * @param message what failed
   * @param cause the codec library's exception
   */
  public CodecException(String codec, String message, Throwable cause) {
    super("protocol", null, codec + " codec: " + message, cause);
  }
}
