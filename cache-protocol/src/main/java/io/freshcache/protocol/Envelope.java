package io.freshcache.protocol;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The value stored in Redis: a fixed binary header followed by the encoded payload.
 *
 * <p>Layout of format version 1 (big-endian, {@value #HEADER_BYTES} bytes of header):
 * <pre>
 *  offset size field
 *       0    1 format version (1)
 *       1    1 codec id ({@link Codec#id()})
 *       2    1 flags ({@link #FLAG_ENCRYPTED}, {@link #FLAG_NOT_FOUND})
 *       3    8 data version, or {@link #NO_VERSION}
 *      11    8 written-at, epoch ms
 *      19    8 logical (soft) expiry, epoch ms; Redis TTL is the hard expiry
 *      27    4 load duration ms (XFetch's delta)
 *      31    n payload
 * </pre>
 * The Lua scripts read the data version at offset 3 (see {@code scripts/*.lua}); change this
 * layout only together with them and with a new format version.
 *
 * <p>The payload is held as given; {@link #payload()} returns a copy.
 */
public final class Envelope {
  /** Current format version. */
  public static final byte FORMAT_VERSION = 1;
  /** Size of the version-1 header in bytes. */
  public static final int HEADER_BYTES = 31;
  /** Data version of a value whose loader did not report one. */
  public static final long NO_VERSION = -1L;
  /** Flag: the payload is encrypted (AES-GCM). */
  public static final int FLAG_ENCRYPTED = 1;
  /** Flag: a cached "not found" (negative caching); the payload is empty. */
  public static final int FLAG_NOT_FOUND = 1 << 1;

  private final byte codecId;
  private final int flags;
  private final long dataVersion;
  private final long writtenAtMs;
  private final long softExpiryMs;
  private final int loadDurationMs;
  private final byte[] payload;

  /**
   * @param codecId the codec that encoded the payload
   * @param flags bit set of {@code FLAG_*}
   * @param dataVersion the row version or LSN the payload was read at, or {@link #NO_VERSION}
   * @param writtenAtMs when the value was written, epoch ms
   * @param softExpiryMs when the value should be refreshed, epoch ms
   * @param loadDurationMs how long the load took, ms, at least 0
   * @param payload the encoded value, not null
   */
  public Envelope(byte codecId, int flags, long dataVersion, long writtenAtMs, long softExpiryMs,
      int loadDurationMs, byte[] payload) {
    if (flags < 0 || flags > 0xFF) {
      throw new IllegalArgumentException("flags must fit one byte but was " + flags);
    }
    if (loadDurationMs < 0) {
      throw new IllegalArgumentException("loadDurationMs must be >= 0 but was " + loadDurationMs);
    }
    if (payload == null) {
      throw new IllegalArgumentException("payload must not be null");
    }
    this.codecId = codecId;
    this.flags = flags;
    this.dataVersion = dataVersion;
    this.writtenAtMs = writtenAtMs;
    this.softExpiryMs = softExpiryMs;
    this.loadDurationMs = loadDurationMs;
    this.payload = payload;
  }

  /**
   * Decodes an envelope.
   *
   * @param bytes what Redis returned
   * @return the envelope
   * @throws CorruptEnvelopeException if the bytes are shorter than a header or of an unknown
   *     format version
   */
  public static Envelope decode(byte[] bytes) {
    if (bytes == null || bytes.length < HEADER_BYTES) {
      throw new CorruptEnvelopeException("envelope must have at least " + HEADER_BYTES
          + " bytes but had " + (bytes == null ? "none" : bytes.length));
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte format = b.get();
    if (format != FORMAT_VERSION) {
      throw new CorruptEnvelopeException("unknown envelope format version " + format);
    }
    byte codec = b.get();
    int flags = b.get() & 0xFF;
    long version = b.getLong();
    long writtenAt = b.getLong();
    long softExpiry = b.getLong();
    int loadMs = b.getInt();
    if (loadMs < 0) {
      throw new CorruptEnvelopeException("negative load duration " + loadMs);
    }
    byte[] payload = Arrays.copyOfRange(bytes, HEADER_BYTES, bytes.length);
    return new Envelope(codec, flags, version, writtenAt, softExpiry, loadMs, payload);
  }

  /**
   * Reads only the data version of an encoded envelope, without copying the payload.
   *
   * @param bytes an encoded envelope, as stored in Redis
   * @return the data version at offset 3, or {@link #NO_VERSION} if the writer had none
   * @throws CorruptEnvelopeException if the bytes are null, shorter than a header or of an
   *     unknown format version
   */
  public static long peekVersion(byte[] bytes) {
    if (bytes == null || bytes.length < HEADER_BYTES || bytes[0] != FORMAT_VERSION) {
      throw new CorruptEnvelopeException("not a version-" + FORMAT_VERSION + " envelope");
    }
    return ByteBuffer.wrap(bytes, 3, 8).getLong();
  }

  /** @return header and payload as stored in Redis */
  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + payload.length);
    b.put(FORMAT_VERSION).put(codecId).put((byte) flags).putLong(dataVersion)
        .putLong(writtenAtMs).putLong(softExpiryMs).putInt(loadDurationMs).put(payload);
    return b.array();
  }

  /** @return the id of the codec that encoded the payload */
  public byte codecId() {
    return codecId;
  }

  /** @return the bit set of {@code FLAG_*} */
  public int flags() {
    return flags;
  }

  /**
   * @param flag a {@code FLAG_*} constant (several OR-ed together test for any of them)
   * @return whether {@code flag} is set
   */
  public boolean has(int flag) {
    return (flags & flag) != 0;
  }

  /** @return the data version, or {@link #NO_VERSION} */
  public long dataVersion() {
    return dataVersion;
  }

  /** @return when the value was written, epoch ms */
  public long writtenAtMs() {
    return writtenAtMs;
  }

  /** @return the soft expiry, epoch ms */
  public long softExpiryMs() {
    return softExpiryMs;
  }

  /** @return the load duration, ms */
  public int loadDurationMs() {
    return loadDurationMs;
  }

  /** @return a copy of the payload */
  public byte[] payload() {
    return payload.clone();
  }

  /** @return the payload length in bytes */
  public int payloadLength() {
    return payload.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Envelope e && codecId == e.codecId && flags == e.flags
        && dataVersion == e.dataVersion && writtenAtMs == e.writtenAtMs
        && softExpiryMs == e.softExpiryMs && loadDurationMs == e.loadDurationMs
        && Arrays.equals(payload, e.payload);
  }

  @Override
  public int hashCode() {
    return 31 * Long.hashCode(dataVersion) + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    return "Envelope[codec=" + codecId + ", flags=" + flags + ", version=" + dataVersion
        + ", writtenAt=" + writtenAtMs + ", softExpiry=" + softExpiryMs + ", loadMs="
        + loadDurationMs + ", payload=" + payload.length + " bytes]";
  }
}
