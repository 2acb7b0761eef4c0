package io.freshcache.writer;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one cache-writer worker configured from the environment (see {@link CacheWriterConfig}).
 * Stops gracefully on SIGTERM or Ctrl-C: the batch in flight is applied and committed first.
 * Exits with status 2 on a configuration error, 1 when the worker stops by a fatal error.
 */
public final class CacheWriterMain {
  private static final Logger log = LoggerFactory.getLogger(CacheWriterMain.class);

  private CacheWriterMain() {}

  /** @param args none are read; configuration comes from the environment */
  public static void main(String[] args) throws InterruptedException {
    CacheWriterConfig config;
    try {
      config = CacheWriterConfig.fromEnv();
    } catch (IllegalArgumentException e) {
      System.err.println("cache-writer: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    log.info("starting cache-writer with {}", config);
    CacheWriter writer = CacheWriter.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutdown requested");
      writer.close();
    }, "freshcache-writer-shutdown"));
    while (!writer.awaitStop(Duration.ofSeconds(60))) {
      log.info("applied {} stale {} dead-lettered {} retries {}", writer.applied(), writer.stale(),
          writer.deadLettered(), writer.retries());
    }
    if (writer.failure() != null) {
      System.exit(1);
    }
  }
}
