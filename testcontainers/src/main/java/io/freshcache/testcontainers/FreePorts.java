package io.freshcache.testcontainers;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks ports that are free on 127.0.0.1 now, at random from 20000-29999, each at most once; for
 * Redis also port + 10000 (its cluster bus). A port can still be taken before the container
 * binds it: the range keeps clear of the usual service ports and of the kernel's ephemeral range
 * (32768 and up).
 */
final class FreePorts {
  private static final int LOW = 20000;
  private static final int HIGH = 29999;
  private final Set<Integer> taken = new HashSet<>();

  List<Integer> redis(int count) {
    List<Integer> ports = new ArrayList<>();
    while (ports.size() < count) {
      int p = candidate();
      if (free(p + 10000)) {
        ports.add(p);
      }
    }
    return ports;
  }

  int next() {
    return candidate();
  }

  private int candidate() {
    for (int attempt = 0; attempt < 10_000; attempt++) {
      int p = ThreadLocalRandom.current().nextInt(LOW, HIGH + 1);
      if (!taken.contains(p) && free(p)) {
        taken.add(p);
        return p;
      }
    }
    throw new IllegalStateException("no free port in " + LOW + "-" + HIGH + " on 127.0.0.1");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(false);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
