package io.freshcache.writer;

/**
 * Whether a {@link CacheWriter} can do its job, as {@code /health}, {@code /health/ready} and
 * {@code /health/live} report it.
 *
 * @param worker the worker thread consumes
 * @param kafka Kafka answered a cluster description within about a second
 * @param redis Redis answered {@code PING} within about a second
 * @param applying no event the worker fetched has waited longer than
 *     {@link CacheWriterConfig#maxUnappliedAge()} to be applied; false while the worker is stuck
 *     (Redis or one of its shards unreachable) even if {@code PING} is answered
 * @param oldestUnappliedMs how long the oldest fetched, unapplied event has waited, ms; 0 for none
 * @param database the write-behind sink's last flush reached the database; {@code null} without
 *     a sink. Informational: a database outage holds the sink's offsets but does not make the
 *     writer unhealthy, since the cache keeps being applied.
 */
public record WriterHealth(boolean worker, boolean kafka, boolean redis, boolean applying, long oldestUnappliedMs,
    Boolean database) implements io.freshcache.protocol.ServiceEndpoints.Health {
  /**
   * @return whether the worker, Kafka and Redis are all up and fetched events get applied;
   *     {@code /health} and {@code /health/ready}
   */
  @Override
  public boolean up() {
    return worker && kafka && redis && applying;
  }

  /**
   * @return whether the worker thread still runs ({@code /health/live}): a stuck worker is not
   *     ready but alive, since it resumes by itself once Redis is back; a worker whose thread
   *     stopped on a fatal error is not
   */
  @Override
  public boolean live() {
    return worker;
  }

  /** @return the answer as a small JSON object, e.g. {@code {"status":"UP","worker":"UP",...}} */
  @Override
  public String json() {
    return "{\"status\":\"" + state(up()) + "\",\"worker\":\"" + state(worker) + "\",\"kafka\":\""
        + state(kafka) + "\",\"redis\":\"" + state(redis) + "\",\"applying\":\"" + state(applying)
        + "\",\"oldestUnappliedMs\":" + oldestUnappliedMs
        + (database == null ? "" : ",\"database\":\"" + state(database) + "\"") + "}";
  }

  private static String state(boolean b) {
    return b ? "UP" : "DOWN";
  }
}
