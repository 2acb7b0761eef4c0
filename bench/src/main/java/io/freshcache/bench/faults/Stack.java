package io.freshcache.bench.faults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The local stack as the faults see it: {@code dev/stack kill|down|up} (with the caller's
 * {@code FRESHCACHE_*} settings, inherited from the environment) and the Redis Cluster topology
 * read with {@code redis-cli CLUSTER NODES}.
 */
final class Stack {
  private final Path repo;
  private final Path log;
  private final List<Integer> redisPorts;

  Stack(Path repo, Path log, List<Integer> redisPorts) {
    this.repo = repo;
    this.log = log;
    this.redisPorts = List.copyOf(redisPorts);
  }

  List<Integer> redisPorts() {
    return redisPorts;
  }

  /**
   * {@code dev/stack up components...}, tried three times: on a loaded 2-core machine a broker
   * can take longer than dev/stack's ready timeout to come back, and the suite must not stop
   * (and leave the component down) for that.
   */
  void up(String... components) throws IOException, InterruptedException {
    String[] args = new String[components.length + 1];
    args[0] = "up";
    System.arraycopy(components, 0, args, 1, components.length);
    for (int attempt = 1; ; attempt++) {
      try {
        run(args);
        return;
      } catch (IOException e) {
        if (attempt == 3) {
          throw e;
        }
      }
    }
  }

  /** Runs {@code dev/stack args...}; fails with the end of its output if it exits non-zero. */
  void run(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(repo.resolve("dev/stack").toString());
    cmd.addAll(List.of(args));
    Files.writeString(log, "$ dev/stack " + String.join(" ", args) + "\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Path out = Files.createTempFile("fault-suite-stack", ".log");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(repo.toFile()).redirectErrorStream(true)
          .redirectOutput(out.toFile());
      // the ready timeout per component: 60 s by default, which a restarted broker exceeded here
      pb.environment().putIfAbsent("FRESHCACHE_READY_TIMEOUT_S", "120");
      Process p = pb.start();
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("dev/stack " + String.join(" ", args) + " did not finish in 300 s");
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      Files.writeString(log, text, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
      if (p.exitValue() != 0) {
        throw new IOException("dev/stack " + String.join(" ", args) + " exited " + p.exitValue() + ": " + text);
      }
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** @return whether {@code dev/stack status} says every component is up and ready */
  boolean healthy() throws IOException, InterruptedException {
    try {
      run("status");
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** One line of {@code CLUSTER NODES}. */
  record Node(int port, boolean master, boolean failed, List<int[]> slots) {
    boolean owns(int slot) {
      for (int[] r : slots) {
        if (slot >= r[0] && slot <= r[1]) {
          return true;
        }
      }
      return false;
    }
  }

  /** @return the topology as the first node that answers sees it, or an empty list */
  List<Node> nodes() throws InterruptedException {
    for (int port : redisPorts) {
      String out = redisCli(port, "cluster", "nodes");
      if (out == null || !out.contains("master")) {
        continue;
      }
      List<Node> nodes = new ArrayList<>();
      for (String line : out.split("\n")) {
        String[] f = line.trim().split(" ");
        if (f.length < 8) {
          continue;
        }
        String addr = f[1];
        int port2 = Integer.parseInt(addr.substring(addr.indexOf(':') + 1, addr.indexOf('@') > 0 ? addr.indexOf('@') : addr.length()));
        List<int[]> slots = new ArrayList<>();
        for (int i = 8; i < f.length; i++) {
          if (f[i].startsWith("[")) {
            continue;
          }
          String[] r = f[i].split("-");
          slots.add(new int[] {Integer.parseInt(r[0]), Integer.parseInt(r[r.length - 1])});
        }
        nodes.add(new Node(port2, f[2].contains("master"), f[2].contains("fail"), slots));
      }
      return nodes;
    }
    return List.of();
  }

  /** @return the port of the healthy master that owns {@code slot}, or -1 */
  int ownerOf(int slot) throws InterruptedException {
    for (Node n : nodes()) {
      if (n.master() && !n.failed() && n.owns(slot)) {
        return n.port();
      }
    }
    return -1;
  }

  /** @return whether a node process answers PING on {@code port} */
  boolean alive(int port) throws InterruptedException {
    String out = redisCli(port, "ping");
    return out != null && out.trim().equals("PONG");
  }

  /** Waits until {@code slot} is served by a healthy master other than {@code dead}. */
  boolean awaitFailover(int slot, int dead, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < deadline) {
      int owner = ownerOf(slot);
      if (owner > 0 && owner != dead) {
        return true;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
    return false;
  }

  private static String redisCli(int port, String... args) throws InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("timeout", "3", "redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port)));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
    } catch (IOException e) {
      return null;
    }
  }
}
