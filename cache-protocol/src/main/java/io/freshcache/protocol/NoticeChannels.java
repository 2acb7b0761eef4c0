package io.freshcache.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The near-cache invalidation notice channels (sharded pub/sub).
 *
 * <p>Every logical key maps to one of {@value #COUNT} channels, {@code freshcache:notices:{n<i>}}.
 * A publisher (cache-writer after applying a batch, a client after its own invalidation) runs the
 * {@link CacheScripts#NOTIFY} script with the channel's sequence key
 * {@code freshcache:notices:{n<i>}:seq}; the script increments the sequence and publishes
 * {@code <seq>\n<key>\n<key>...} in one step. A subscriber that sees sequence {@code s+2} after
 * {@code s} knows it lost a notice and must drop every near-cache entry of that channel; after a
 * reconnect it must drop them all.
 *
 * <p>A line that starts with {@code *} names a whole namespace instead of a key:
 * {@code *catalog:product} means "drop every key {@code catalog:product:...}" (after a
 * {@link CacheEvent.Op#INVALIDATE_NAMESPACE}). A key cannot start with {@code *}, so the two never
 * mix up. A namespace notice is published on every channel, because the namespace's keys are
 * spread over all of them.
 */
public final class NoticeChannels {
  /** Number of notice channels. Changing it is a protocol change. */
  public static final int COUNT = 16;

  private static final String PREFIX = "freshcache:notices:";

  private NoticeChannels() {}

  /**
   * @param key the logical key, not null
   * @return the channel index of {@code key}, in {@code [0, COUNT)}
   */
  public static int indexOf(CacheKey key) {
    return Math.floorMod(key.toString().hashCode(), COUNT);
  }

  /**
   * @param i the channel index, in {@code [0, COUNT)}
   * @return the channel name of index {@code i}, e.g. {@code freshcache:notices:{n3}}
   * @throws IllegalArgumentException if {@code i} is out of range
   */
  public static String channel(int i) {
    check(i);
    return PREFIX + "{n" + i + "}";
  }

  /**
   * @param i the channel index, in {@code [0, COUNT)}
   * @return the sequence key of channel {@code i}, in the channel's slot, e.g.
   *     {@code freshcache:notices:{n3}:seq}
   * @throws IllegalArgumentException if {@code i} is out of range
   */
  public static String sequenceKey(int i) {
    return channel(i) + ":seq";
  }

  /**
   * @param channel a pub/sub channel name, or {@code null}
   * @return the channel index named by {@code channel}, or -1 if it is not a notice channel
   */
  public static int parseChannel(String channel) {
    for (int i = 0; i < COUNT; i++) {
      if (channel(i).equals(channel)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The body the {@code notify} script publishes after the sequence number.
   *
   * @param keys the logical keys to drop, not null; the caller sends each key on its own
   *     channel ({@link #indexOf(CacheKey)})
   * @return the keys, one per line, as UTF-8; empty if {@code keys} is empty
   */
  public static byte[] body(Collection<CacheKey> keys) {
    StringBuilder b = new StringBuilder();
    for (CacheKey k : keys) {
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(k);
    }
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * @param namespace a key of the namespace, normally the wildcard from
   *     {@link CacheKey#namespace(String, String)}; only its service and entity are used
   * @return the notice body line that names a whole namespace, e.g. {@code *catalog:product}
   */
  public static byte[] namespaceBody(CacheKey namespace) {
    return ("*" + namespace.namespaceName()).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A received notice.
   *
   * @param sequence the channel's sequence number
   * @param keys the logical keys to drop
   * @param namespaces the namespaces ({@code service:entity}) to drop entirely
   */
  public record Notice(long sequence, List<String> keys, List<String> namespaces) {
    /**
     * Copies the lists.
     *
     * @param sequence the channel's sequence number
     * @param keys the logical keys to drop, not null and without null elements
     * @param namespaces the namespaces ({@code service:entity}) to drop entirely, not null and
     *     without null elements
     * @throws NullPointerException if a list or one of its elements is null
     */
    public Notice {
      keys = List.copyOf(keys);
      namespaces = List.copyOf(namespaces);
    }
  }

  /**
   * Parses a published message. Empty lines are skipped; the keys and namespaces are not
   * validated.
   *
   * @param message the message as published: {@code <seq>\n<line>\n<line>...}, not null
   * @return the notice; its lists are empty if the message has only a sequence number
   * @throws IllegalArgumentException if it does not start with a sequence number
   */
  public static Notice parse(byte[] message) {
    String s = new String(message, StandardCharsets.UTF_8);
    String[] lines = s.split("\n", -1);
    long seq;
    try {
      seq = Long.parseLong(lines[0]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("notice must start with a sequence number but was '"
          + (lines[0].length() > 40 ? lines[0].substring(0, 40) : lines[0]) + "'", e);
    }
    List<String> keys = new ArrayList<>(lines.length - 1);
    List<String> namespaces = new ArrayList<>(0);
    for (int i = 1; i < lines.length; i++) {
      if (lines[i].startsWith("*")) {
        namespaces.add(lines[i].substring(1));
      } else if (!lines[i].isEmpty()) {
        keys.add(lines[i]);
      }
    }
    return new Notice(seq, keys, namespaces);
  }

  private static void check(int i) {
    if (i < 0 || i >= COUNT) {
      throw new IllegalArgumentException("notice channel index must be in [0, " + COUNT + ") but was " + i);
    }
  }
}
