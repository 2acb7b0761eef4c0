package io.freshcache.bench.faults;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A service started from its {@code bin/} script as a separate JVM and kept running like a
 * process supervisor would: when it exits, for whatever reason, it is started again after
 * {@code restartDelay}. The suite's faults kill it ({@link #kill9()}) or stop it
 * ({@link #terminate(Duration)}) and the supervisor restarts it; exits the suite did not cause
 * are counted ({@link #unexpectedExits()}) with their exit codes.
 */
final class Supervised implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  final String name;
  final int httpPort;
  private final Path script;
  private final Map<String, String> env;
  private final Path logDir;
  private final Duration restartDelay;
  private final boolean restart;
  private final Thread monitor;
  private volatile Process process;
  private volatile boolean expectExit;
  private volatile boolean closed;
  private final AtomicInteger starts = new AtomicInteger();
  private final AtomicInteger unexpected = new AtomicInteger();
  private final List<String> exits = new ArrayList<>();

  Supervised(String name, Path script, Map<String, String> env, String portVariable, Path logDir,
      Duration restartDelay, boolean restart) throws IOException {
    this.name = name;
    this.script = script;
    this.httpPort = freePort();
    this.env = new java.util.HashMap<>(env);
    this.env.put(portVariable, Integer.toString(httpPort));
    this.logDir = logDir;
    this.restartDelay = restartDelay;
    this.restart = restart;
    if (!Files.isExecutable(script)) {
      throw new IllegalStateException(script + " is missing or not executable");
    }
    process = launch();
    monitor = new Thread(this::supervise, "supervise-" + name);
    monitor.setDaemon(true);
    monitor.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Process p = process;
      if (p != null) {
        p.destroyForcibly();
      }
    }, "stop-" + name));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process launch() throws IOException {
    int n = starts.incrementAndGet();
    Path log = logDir.resolve(name + "-" + n + ".log");
    ProcessBuilder pb = new ProcessBuilder(script.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().putAll(env);
    return pb.start();
  }

  private void supervise() {
    while (!closed) {
      Process p = process;
      try {
        p.waitFor();
      } catch (InterruptedException e) {
        return;
      }
      if (closed) {
        return;
      }
      synchronized (this) {
        if (!expectExit) {
          unexpected.incrementAndGet();
          exits.add("exit " + p.exitValue() + " (start " + starts.get() + ")");
        }
        expectExit = false;
      }
      if (!restart) {
        return;
      }
      LockSupport.parkNanos(restartDelay.toNanos());
      if (closed) {
        return;
      }
      try {
        process = launch();
      } catch (IOException e) {
        synchronized (this) {
          exits.add("restart failed: " + e.getMessage());
        }
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
      }
    }
  }

  /** {@code kill -9} of the running JVM; the supervisor starts it again. */
  void kill9() throws InterruptedException {
    Process p = process;
    expectExit = true;
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
    awaitRelaunch(p);
  }

  /** SIGTERM, then {@code kill -9} if it has not exited within {@code grace}; the supervisor starts it again. */
  boolean terminate(Duration grace) throws InterruptedException {
    Process p = process;
    expectExit = true;
    p.destroy();
    boolean graceful = p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
    if (!graceful) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    awaitRelaunch(p);
    return graceful;
  }

  private void awaitRelaunch(Process old) {
    if (!restart) {
      return;
    }
    long deadline = System.nanoTime() + restartDelay.toNanos() + TimeUnit.SECONDS.toNanos(10);
    while (process == old && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }

  /** @return whether {@code /health} answers 200 */
  boolean healthy() {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health"))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Waits up to {@code timeout} for {@code /health} 200. @return whether it came */
  boolean awaitHealthy(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (healthy()) {
        return true;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
    return false;
  }

  long pid() {
    return process.pid();
  }

  int starts() {
    return starts.get();
  }

  int unexpectedExits() {
    return unexpected.get();
  }

  synchronized List<String> exits() {
    return new ArrayList<>(exits);
  }

  /** Stops it for good: SIGTERM, then {@code kill -9} after {@code grace}. */
  void stop(Duration grace) throws InterruptedException {
    closed = true;
    monitor.interrupt();
    Process p = process;
    p.destroy();
    if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (!closed) {
      stop(Duration.ofSeconds(20));
    }
  }
}
