package io.freshcache.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Redis Lua scripts of the protocol, with their SHA-1 digests for {@code EVALSHA}. Each runs
 * atomically in one key's slot (all keys share the key's hash tag). See the script files under
 * {@code io/freshcache/protocol/scripts/} for arguments and results.
 *
 * <ul>
 *   <li>{@link #GET_OR_LEASE}: value if present, else takes the lease if free.</li>
 *   <li>{@link #FILL}: writes only while the token still holds the lease and no fence is newer
 *       than the loaded version.</li>
 *   <li>{@link #APPLY}: upsert, delete or invalidate; revokes any lease; keeps the fence at the
 *       highest version seen (with a tombstone after a delete, which an insert passes), and
 *       compares upserts against the stored value's version too.</li>
 *   <li>{@link #EVICT}: forgets a key entirely (values, lease and fence), for a namespace
 *       invalidation.</li>
 * </ul>
 */
public final class CacheScripts {
  /**
   * Largest data version the scripts compare exactly (2<sup>53</sup>−1): Redis Lua numbers are
   * doubles. PostgreSQL LSNs and row versions stay far below it.
   */
  public static final long MAX_VERSION = (1L << 53) - 1;

  /** {@code getOrLease} result: the value is present. */
  public static final long LEASE_VALUE = 1;
  /** {@code getOrLease} result: the caller now holds the lease. */
  public static final long LEASE_GRANTED = 2;
  /** {@code getOrLease} result: another caller holds the lease. */
  public static final long LEASE_BUSY = 3;

  /** {@code fill} result: stored. */
  public static final long FILL_OK = 1;
  /** {@code fill} result: the lease was revoked or expired. */
  public static final long FILL_LEASE_LOST = 0;
  /** {@code fill} result: a newer version than the loaded one is known. */
  public static final long FILL_FENCED = -1;

  /** {@code apply} result: applied. */
  public static final long APPLY_APPLIED = 1;
  /** {@code apply} result: stale, a newer version is already known. */
  public static final long APPLY_STALE = 0;

  /** {@code apply} op argument: invalidate. */
  public static final String OP_INVALIDATE = "i";
  /** {@code apply} op argument: delete. */
  public static final String OP_DELETE = "d";
  /** {@code apply} op argument: upsert. */
  public static final String OP_UPSERT = "u";

  /** {@code getOrLease(valueKey, leaseKey; token, leaseMs)}. */
  public static final Script GET_OR_LEASE = load("get_or_lease");
  /** {@code fill(valueKey, leaseKey, fenceKey; token, version, envelope, ttlMs, schemaField, fenceTtlMs)}. */
  public static final Script FILL = load("fill");
  /**
   * {@code apply(fenceKey, leaseKey, valueKey; op, version, envelope, ttlMs, schemaField,
   * fenceTtlMs, valuePrefix, created)}; {@code created} is {@link #createdArg(boolean)} and may be
   * left out (not an insert). A delete leaves a tombstone in the fence that makes upserts and
   * fills at its version lose; an insert passes it. The fence is kept alive at least as long as
   * the longest value it lists.
   */
  public static final Script APPLY = load("apply");

  /**
   * {@code evict(fenceKey, leaseKey, valueKey; valuePrefix)}: deletes every value of the key, its
   * lease and its fence, for an {@link CacheEvent.Op#INVALIDATE_NAMESPACE}.
   */
  public static final Script EVICT = load("evict");

  /** {@code release(leaseKey; token)}: deletes the lease if {@code token} holds it. */
  public static final Script RELEASE = load("release");

  /** {@code notify(sequenceKey; channel, body)}: see {@link NoticeChannels}. */
  public static final Script NOTIFY = load("notify");

  private CacheScripts() {}

  /**
   * A script's source and digest.
   *
   * @param name the file name without {@code .lua}
   * @param source the Lua source
   * @param sha1 the lower-case hex SHA-1 that {@code SCRIPT LOAD} returns for it
   */
  public record Script(String name, String source, String sha1) {}

  /**
   * @param schemaVersion the schema version of a value (see {@link CacheKey#valueKey(int)});
   *     not validated here, callers pass at least 1
   * @return the fence hash field that records a schema version, e.g. {@code s1}
   */
  public static String schemaField(int schemaVersion) {
    return "s" + schemaVersion;
  }

  /**
   * @param op the event's operation, not null
   * @return the {@code apply} op argument for an event operation: {@link #OP_INVALIDATE},
   *     {@link #OP_DELETE} or {@link #OP_UPSERT}
   * @throws IllegalArgumentException for {@link CacheEvent.Op#INVALIDATE_NAMESPACE}, which is not
   *     one key's operation: a writer runs {@link #EVICT} on each key of the namespace instead
   */
  public static String opArg(CacheEvent.Op op) {
    return switch (op) {
      case INVALIDATE -> OP_INVALIDATE;
      case DELETE -> OP_DELETE;
      case UPSERT -> OP_UPSERT;
      case INVALIDATE_NAMESPACE -> throw new IllegalArgumentException(
          "invalidate_namespace has no apply op: evict each key of the namespace instead");
    };
  }

  /**
   * @param created whether the event is a row insert ({@link CacheEvent#created()})
   * @return the {@code apply} argument for it: {@code "1"} or {@code "0"}
   */
  public static String createdArg(boolean created) {
    return created ? "1" : "0";
  }

  private static Script load(String name) {
    String path = "scripts/" + name + ".lua";
    try (InputStream in = CacheScripts.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      String source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
      return new Script(name, source, HexFormat.of().formatHex(digest));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required by the Java platform", e);
    }
  }
}
