package io.freshcache.writer.internal;

import io.freshcache.redis.RedisTopology;
import io.lettuce.core.api.StatefulConnection;
import io.freshcache.protocol.config.KafkaClientConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import io.freshcache.writer.WriterHealth;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Answers whether the worker can do its job: its thread runs, Kafka answers a cluster
 * description, Redis answers {@code PING}, and no fetched event has waited too long to be
 * applied (a {@code PING} answered by one node says nothing of a shard without a master). Each probe has its own connection (the worker's
 * Redis connection is switched to manual flushing during a batch, and the Kafka consumer is not
 * thread-safe) and a timeout of about a second; the answer is cached for a second so a busy
 * health checker cannot load the servers.
 */
public final class HealthProbe implements AutoCloseable {
  private static final long CACHE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final RedisTopology redisClient;
  private final Admin admin;
  private final BooleanSupplier workerRunning;
  private final LongSupplier oldestUnappliedMs;
  private final long maxUnappliedMs;
  private final Supplier<Boolean> database;
  private StatefulConnection<byte[], byte[]> redis;
  private WriterHealth last;
  private long lastNanos;

  /**
   * @param redisClient the worker's cluster client, for a connection of the probe's own
   * @param kafka Kafka: bootstrap servers and pass-through properties
   * @param workerRunning whether the worker thread runs
   * @param oldestUnappliedMs how long the oldest fetched, unapplied event has waited, ms
   * @param maxUnappliedMs the longest that wait may be while the worker is up, ms
   * @param database whether the sink reaches its database, {@code null} without a sink
   */
  public HealthProbe(RedisTopology redisClient, KafkaClientConfig kafka, BooleanSupplier workerRunning,
      LongSupplier oldestUnappliedMs, long maxUnappliedMs, Supplier<Boolean> database) {
    this.redisClient = redisClient;
    this.admin = Admin.create(WriterKafkaProperties.healthAdmin(kafka));
    this.workerRunning = workerRunning;
    this.oldestUnappliedMs = oldestUnappliedMs;
    this.maxUnappliedMs = maxUnappliedMs;
    this.database = database;
  }

  /** @return the current health, at most a second old */
  public synchronized WriterHealth check() {
    long now = System.nanoTime();
    if (last != null && now - lastNanos < CACHE_NANOS) {
      return last;
    }
    boolean worker = workerRunning.getAsBoolean();
    boolean kafka = kafkaUp();
    boolean redis = redisUp();
    long waited = oldestUnappliedMs.getAsLong(); // after the probes, which may take a second or two
    last = new WriterHealth(worker, kafka, redis, waited <= maxUnappliedMs, waited, database.get());
    lastNanos = System.nanoTime();
    return last;
  }

  private boolean kafkaUp() {
    try {
      admin.describeCluster(new DescribeClusterOptions().timeoutMs(1000)).clusterId()
          .get(1500, TimeUnit.MILLISECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  private boolean redisUp() {
    try {
      if (redis == null) {
        redis = redisClient.connectAnother();
        redis.setTimeout(Duration.ofSeconds(1));
      }
      return "PONG".equals(RedisTopology.asyncOf(redis).ping().get(1500, TimeUnit.MILLISECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  @Override
  public synchronized void close() {
    admin.close(Duration.ofSeconds(2));
    if (redis != null) {
      redis.close();
    }
  }
}
