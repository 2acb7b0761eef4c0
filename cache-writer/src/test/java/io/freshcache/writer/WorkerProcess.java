package io.freshcache.writer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The packaged cache-writer ({@code target/cache-writer-*.jar} with {@code target/lib}) running
 * as a separate JVM, configured through the environment like in production, so a test can
 * {@code kill -9} it or stop it with SIGTERM. Its output goes to {@code target/it-logs/}.
 */
final class WorkerProcess implements AutoCloseable {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private static final Pattern STOPPED = Pattern.compile(
      "cache-writer stopped: (\\d+) applied, (\\d+) stale, (\\d+) dead-lettered");

  final Process process;
  final int httpPort;
  final Path log;

  private WorkerProcess(Process process, int httpPort, Path log) {
    this.process = process;
    this.httpPort = httpPort;
    this.log = log;
  }

  static WorkerProcess start(CacheWriterConfig c, String name, Map<String, String> extraEnv) throws IOException {
    Path jar;
    try (Stream<Path> files = Files.list(Path.of("target"))) {
      jar = files.filter(p -> p.getFileName().toString().matches("cache-writer-.*\\.jar")
              && !p.getFileName().toString().matches(".*-(sources|javadoc|tests)\\.jar"))
          .findFirst().orElseThrow(() -> new IllegalStateException(
              "no target/cache-writer-*.jar: run the ITs with `mvn verify` (after package)"));
    }
    int port = ItSupport.freePort();
    Path logs = Files.createDirectories(Path.of("target", "it-logs"));
    Path log = logs.resolve(name + ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("WRITER_"));
    env.put("KAFKA_BOOTSTRAP_SERVERS", c.kafka().bootstrapServers());
    env.put("REDIS_NODES", String.join(",", c.redis().nodes()));
    env.put("WRITER_TOPICS", String.join(",", c.topics()));
    env.put("WRITER_DLQ_TOPIC", c.dlqTopic());
    env.put("WRITER_GROUP_ID", c.groupId());
    env.put("WRITER_BATCH_SIZE", Integer.toString(c.batchSize()));
    env.put("WRITER_SESSION_TIMEOUT_MS", Long.toString(c.sessionTimeout().toMillis()));
    env.put("WRITER_HTTP_PORT", Integer.toString(port));
    env.putAll(extraEnv);
    Process process = pb.start();
    // a test JVM that exits without closing it (killed by a timeout, System.exit) stops it too,
    // so no worker is left consuming and loading the machine for later runs
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "stop-" + name));
    return new WorkerProcess(process, port, log);
  }

  /** @return whether {@code /health} answers 200 */
  boolean healthy() {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health"))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** {@code kill -9}. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for the exit. @return the exit status */
  int terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(45, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("worker did not stop within 45 s of SIGTERM; log " + log);
    }
    return process.exitValue();
  }

  String output() throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  /** @return applied + stale + dead-lettered from the worker's closing log line, or -1 */
  long processedAtStop() throws IOException {
    Matcher m = STOPPED.matcher(output());
    long n = -1;
    while (m.find()) {
      n = Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) + Long.parseLong(m.group(3));
    }
    return n;
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill9();
    }
  }
}
