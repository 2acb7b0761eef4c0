package io.freshcache.writer.internal;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.freshcache.redis.RedisTopology;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.util.function.Supplier;

/**
 * Writes many commands to a cluster connection with one flush, safely.
 *
 * <p>Lettuce opens a cluster connection's node connections lazily. A command routed to a node
 * whose connection is still being opened is written by a callback once the connection is open,
 * and two hazards follow when the caller has switched to manual flushing meanwhile:
 * <ul>
 *   <li>the callbacks of one pending connection may run in another order than the commands were
 *       sent (lettuce #1951), so a key's newer event could be applied before its older one;</li>
 *   <li>a callback that runs after the caller's {@code flushCommands()} but before it switched
 *       back to automatic flushing leaves its command in the node connection's buffer, and its
 *       answer never comes (the command times out).</li>
 * </ul>
 * {@link #write} therefore opens the connection to every master that serves slots first (after
 * the first batch and after a failover that is a map lookup per master), and flushes once more
 * after switching back to automatic flushing.
 *
 * <p>Which masters: only those that serve slots and that the cluster has not agreed are failed
 * ({@link #routable}). A killed master keeps its {@code master} flag in the topology, with
 * {@code fail} and, once its replica took over, no slots, for as long as it stays down (hours, in
 * production); opening it failed every write, so one dead node stalled every shard. A master that
 * is failed but still serves slots (before its replica is promoted) is skipped too: the commands
 * for its slots fail on their own, and the rest of the write still reaches the healthy shards.
 * A master that is unreachable but not yet agreed failed ({@code fail?} is one node's opinion)
 * is still opened, so that write fails as a whole for the few seconds until the cluster decides.
 *
 * <p>Not thread-safe with respect to the connection: manual flushing is a property of the whole
 * connection, so nothing else may write to it while {@link #write} runs.
 */
public final class Pipelining {
  private Pipelining() {}

  /**
   * Opens the connection to every {@link #routable} master that is not open yet, waiting for
   * each.
   *
   * @param connection the cluster connection
   * @throws io.lettuce.core.RedisException if a routable master cannot be reached
   */
  public static void openMasters(RedisTopology connection) {
    if (!connection.cluster()) {
      return; // one master, on the main connection
    }
    for (String master : connection.masters()) {
      connection.node(master);
    }
  }

  /**
   * Whether commands for the slots of {@code node} can be answered by it: it is a master, serves
   * slots, and is neither agreed failed ({@code fail}) nor without an address.
   *
   * @param node a node of the cluster connection's topology
   * @return whether {@link #openMasters} opens it
   */
  public static boolean routable(RedisClusterNode node) {
    return RedisTopology.routable(node);
  }

  /**
   * Runs {@code enqueue}, which sends commands without waiting for them, with manual flushing,
   * then flushes everything it sent in one go.
   *
   * @param topology the Redis connections (cluster, standalone or Sentinel)
   * @param enqueue sends the commands and returns their futures
   * @param <T> what {@code enqueue} returns
   * @return what {@code enqueue} returned
   * @throws io.lettuce.core.RedisException if a master cannot be reached; nothing was sent
   */
  public static <T> T write(RedisTopology topology, Supplier<T> enqueue) {
    openMasters(topology);
    StatefulConnection<byte[], byte[]> connection = topology.connection();
    connection.setAutoFlushCommands(false);
    try {
      return enqueue.get();
    } finally {
      connection.flushCommands();
      connection.setAutoFlushCommands(true);
      // a command handed to a node connection by an open-callback between the flush above and
      // the switch back would otherwise wait for the next write to that node
      connection.flushCommands();
    }
  }
}
