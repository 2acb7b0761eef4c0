package io.freshcache.client.internal;

import io.freshcache.client.CachePolicy;
import io.freshcache.protocol.CacheException;
import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.Codec;
import io.freshcache.protocol.CodecException;
import io.freshcache.protocol.Codecs;
import io.freshcache.protocol.CorruptEnvelopeException;
import io.freshcache.protocol.Envelope;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns values into stored envelopes and back: codec, optional AES-GCM encryption, the "not
 * found" marker of negative caching, and the per-policy size limit.
 *
 * <p>Encryption: a fresh 12-byte nonce per value, stored before the ciphertext; the logical key
 * and schema version are the additional authenticated data, so a ciphertext copied to another
 * key does not decrypt. A tampered or foreign entry fails authentication and reads as a miss.
 */
public final class EntryCodec {
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final SecretKeySpec key;
  private final SecureRandom random = new SecureRandom();

  private final Codec json;

  /** @param aesKey the AES key, or {@code null} if no policy encrypts */
  public EntryCodec(byte[] aesKey) {
    this(aesKey, null);
  }

  /**
   * @param aesKey the AES key, or {@code null} if no policy encrypts
   * @param json this client's JSON codec (id {@link Codecs#JSON_ID}, e.g. over the application's
   *     mapper), or {@code null} for the registered one
   */
  public EntryCodec(byte[] aesKey, Codec json) {
    this.key = aesKey == null ? null : new SecretKeySpec(aesKey, "AES");
    if (json != null && json.id() != Codecs.JSON_ID) {
      throw new IllegalArgumentException("the JSON codec must have id " + Codecs.JSON_ID + " but had " + json.id());
    }
    this.json = json;
  }

  private Codec codecOf(byte id) {
    return json != null && id == Codecs.JSON_ID ? json : Codecs.byId(id);
  }

  /** A decoded entry: the value, or a cached "not found", with its envelope. */
  public record Decoded(Object value, boolean notFound, Envelope envelope) {}

  /** An encoded value too large for its policy. */
  public static final class OversizeException extends CacheException {
    private static final long serialVersionUID = 1L;

    OversizeException(CacheKey k, int size, int limit) {
      super("client", k.toString(), "value of " + size + " bytes exceeds the policy's limit of "
          + limit + " bytes; returned but not cached");
    }
  }

  /**
   * @param k the logical key (authenticated data when encrypting)
   * @param policy supplies codec, size limit, encryption and schema version
   * @param value the value, or {@code null} for a "not found" marker
   * @param version the data version, or {@link Envelope#NO_VERSION}
   * @param nowMs the write time, epoch ms
   * @param ttlMs the TTL, ms; the soft expiry is {@code nowMs + ttlMs}
   * @param loadMs the load duration, ms; clamped to [0, {@link Integer#MAX_VALUE}]
   * @return the stored bytes of {@code value} ({@code null} = a "not found" marker)
   * @throws OversizeException if the encoded value exceeds the policy's limit
   * @throws CodecException if the value cannot be encoded
   * @throws IllegalStateException if the policy encrypts and no key is configured
   */
  public byte[] encode(CacheKey k, CachePolicy policy, Object value, long version, long nowMs,
      long ttlMs, long loadMs) {
    Codec codec = json != null && Codecs.JSON_ID == Codecs.byName(policy.codec()).id() ? json : Codecs.byName(policy.codec());
    int flags = 0;
    byte[] payload;
    if (value == null) {
      flags |= Envelope.FLAG_NOT_FOUND;
      payload = new byte[0];
    } else {
      payload = codec.encode(value);
      if (payload.length > policy.maxValueBytes()) {
        throw new OversizeException(k, payload.length, policy.maxValueBytes());
      }
      if (policy.encrypted()) {
        payload = encrypt(k, policy.schemaVersion(), payload);
        flags |= Envelope.FLAG_ENCRYPTED;
      }
    }
    return new Envelope(codec.id(), flags, version, nowMs, nowMs + ttlMs,
        (int) Math.min(Integer.MAX_VALUE, Math.max(0, loadMs)), payload).encode();
  }

  /**
   * @param k the logical key (authenticated data when decrypting)
   * @param schemaVersion the schema version of the value key read
   * @param raw the bytes read from Redis
   * @param type the type to decode into (a class, or a generic type)
   * @return the decoded entry
   * @throws CorruptEnvelopeException if the bytes are not an envelope, fail authentication, or
   *     are encrypted while no key is configured
   * @throws CodecException if the payload does not decode into {@code type}
   */
  public Decoded decode(CacheKey k, int schemaVersion, byte[] raw, java.lang.reflect.Type type) {
    Envelope e = Envelope.decode(raw);
    if (e.has(Envelope.FLAG_NOT_FOUND)) {
      return new Decoded(null, true, e);
    }
    byte[] payload = e.payload();
    if (e.has(Envelope.FLAG_ENCRYPTED)) {
      payload = decrypt(k, schemaVersion, payload);
    }
    Object v = type instanceof Class<?> c ? codecOf(e.codecId()).decode(payload, c) : codecOf(e.codecId()).decode(payload, type);
    return new Decoded(v, false, e);
  }

  private byte[] encrypt(CacheKey k, int schema, byte[] plain) {
    if (key == null) {
      throw new IllegalStateException("policy for " + k + " is encrypted but no encryption key is"
          + " configured (CACHE_ENCRYPTION_KEY)");
    }
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(aad(k, schema));
      byte[] sealed = c.doFinal(plain);
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new CodecException("aes-gcm", "cannot encrypt the value of " + k, e);
    }
  }

  private byte[] decrypt(CacheKey k, int schema, byte[] sealed) {
    if (key == null) {
      throw new CorruptEnvelopeException("entry of " + k + " is encrypted but no key is configured");
    }
    if (sealed.length < NONCE_BYTES + TAG_BITS / 8) {
      throw new CorruptEnvelopeException("encrypted entry of " + k + " is too short");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
      c.updateAAD(aad(k, schema));
      return c.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new CorruptEnvelopeException("encrypted entry of " + k + " failed authentication");
    }
  }

  private static byte[] aad(CacheKey k, int schema) {
    return (k + ":v" + schema).getBytes(StandardCharsets.UTF_8);
  }
}
