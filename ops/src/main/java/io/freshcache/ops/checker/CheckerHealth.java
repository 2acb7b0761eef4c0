package io.freshcache.ops.checker;

import io.freshcache.protocol.ServiceEndpoints;

/**
 * Whether the checker works, as {@code /health}, {@code /health/ready} and {@code /health/live}
 * report it.
 *
 * @param threads the consumer and check threads run
 * @param redis the last Redis read succeeded
 * @param assigned partitions assigned to the checker's consumer
 * @param pending checks waiting
 */
public record CheckerHealth(boolean threads, boolean redis, int assigned, int pending)
    implements ServiceEndpoints.Health {
  /** @return threads run, Redis answers and partitions are assigned */
  @Override
  public boolean up() {
    return threads && redis && assigned > 0;
  }

  /** @return the threads run (a restart would not help otherwise) */
  @Override
  public boolean live() {
    return threads;
  }

  @Override
  public String json() {
    return "{\"status\":\"" + (up() ? "UP" : "DOWN") + "\",\"threads\":\"" + (threads ? "UP" : "DOWN")
        + "\",\"redis\":\"" + (redis ? "UP" : "DOWN") + "\",\"assignedPartitions\":" + assigned
        + ",\"pending\":" + pending + "}";
  }
}
