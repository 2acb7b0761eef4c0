package io.freshcache.cdc;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * cdc-ingest as a separate JVM, started by the module's start script {@code bin/cdc-ingest} from
 * the packaged jar (failsafe runs after {@code package}), with its output in a log file.
 */
final class ServiceProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  final Process process;
  final Path log;
  final int httpPort;

  private ServiceProcess(Process process, Path log, int httpPort) {
    this.process = process;
    this.log = log;
    this.httpPort = httpPort;
  }

  /** The local stack's settings plus {@code env}; any CDC_* of this JVM's environment is dropped. */
  static ServiceProcess start(Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Path.of("bin", "cdc-ingest").toAbsolutePath().toString());
    Map<String, String> e = pb.environment();
    e.keySet().removeIf(k -> k.startsWith("CDC_"));
    e.put("PG_HOST", StackSettings.PG_HOST);
    e.put("PG_PORT", Integer.toString(StackSettings.PG_PORT));
    e.put("PG_DB", StackSettings.PG_DB);
    e.put("PG_USER", StackSettings.PG_USER);
    e.put("PG_PASSWORD", StackSettings.PG_PASSWORD);
    e.put("KAFKA_BOOTSTRAP_SERVERS", StackSettings.KAFKA);
    e.putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Process process = pb.start();
    // a test JVM that exits without closing it (killed by a timeout, System.exit) stops it too,
    // so no service is left holding a replication slot and loading the machine for later runs
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "stop-cdc-ingest"));
    return new ServiceProcess(process, log, Integer.parseInt(e.getOrDefault("CDC_HTTP_PORT", "0")));
  }

  static Map<String, String> env(String suffix, String topic, Path rules) throws IOException {
    Map<String, String> env = new HashMap<>();
    env.put("CDC_CONNECTOR_NAME", "pg-it-" + suffix);
    env.put("CDC_SLOT_NAME", "fc_it_" + suffix);
    env.put("CDC_PUBLICATION_NAME", "fc_it_" + suffix);
    env.put("CDC_TOPIC", topic);
    env.put("CDC_RULES_FILE", rules.toString());
    env.put("CDC_HTTP_PORT", Integer.toString(freePort()));
    return env;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** @return the exit code, or -1 if it is still running after {@code timeout} */
  int awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** @return status and body of {@code GET path}, or status -1 if nothing answers */
  HttpResponse<String> get(String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  int healthStatus() {
    HttpResponse<String> r = get("/health");
    return r == null ? -1 : r.statusCode();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
