package io.freshcache.client.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys of cdc-ingest's freshness heartbeat rows, {@code freshcache:heartbeat:<n>} (one row
 * per notice channel), as they appear in notices. Kept apart so that a notice without one costs
 * a byte scan, not a parse.
 */
public final class HeartbeatKeys {
  /** The namespace of heartbeat keys, {@code service:entity}. */
  public static final String NAMESPACE = "freshcache:heartbeat";
  private static final byte[] MARK = (NAMESPACE + ":").getBytes(StandardCharsets.UTF_8);

  private HeartbeatKeys() {}

  /** @return whether the raw notice names a heartbeat key */
  static boolean mentioned(byte[] message) {
    outer:
    for (int i = 0; i + MARK.length <= message.length; i++) {
      for (int j = 0; j < MARK.length; j++) {
        if (message[i + j] != MARK[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** @return the heartbeat keys the raw notice names */
  static List<String> keysIn(byte[] message) {
    List<String> out = new ArrayList<>(1);
    for (String line : new String(message, StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith(NAMESPACE + ":")) {
        out.add(line);
      }
    }
    return out;
  }
}
