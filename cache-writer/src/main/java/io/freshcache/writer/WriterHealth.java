package io.freshcache.writer;

/**
 * Whether a {@link CacheWriter} can do its job, as {@code /health} reports it.
 *
 * @param worker the worker thread consumes
 * @param kafka Kafka answered a cluster description within about a second
 * @param redis Redis answered {@code PING} within about a second
 * @param database the write-behind sink's last flush reached the database; {@code null} without
 *     a sink. Informational: a database outage holds the sink's offsets but does not make the
 *     writer unhealthy, since the cache keeps being applied.
 */
public record WriterHealth(boolean worker, boolean kafka, boolean redis, Boolean database)
    implements io.freshcache.protocol.ServiceEndpoints.Health {
  /** @return whether the worker, Kafka and Redis are all up */
  public boolean up() {
    return worker && kafka && redis;
  }

  /** @return the answer as a small JSON object, e.g. {@code {"status":"UP","worker":"UP",...}} */
  public String json() {
    return "{\"status\":\"" + state(up()) + "\",\"worker\":\"" + state(worker) + "\",\"kafka\":\""
        + state(kafka) + "\",\"redis\":\"" + state(redis) + "\""
        + (database == null ? "" : ",\"database\":\"" + state(database) + "\"") + "}";
  }

  private static String state(boolean b) {
    return b ? "UP" : "DOWN";
  }
}
