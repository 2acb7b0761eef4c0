package io.freshcache.writer.internal;

import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
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
 * {@link #write} therefore opens the connection to every master first (after the first batch
 * and after a failover that is a map lookup per master), and flushes once more after switching
 * back to automatic flushing.
 *
 * <p>Not thread-safe with respect to the connection: manual flushing is a property of the whole
 * connection, so nothing else may write to it while {@link #write} runs.
 */
public final class Pipelining {
  private Pipelining() {}

  /**
   * Opens the connection to every master that is not open yet, waiting for each.
   *
   * @param connection the cluster connection
   * @throws io.lettuce.core.RedisException if a master cannot be reached
   */
  public static void openMasters(StatefulRedisClusterConnection<?, ?> connection) {
    for (RedisClusterNode node : connection.getPartitions()) {
      if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
        connection.getConnection(node.getUri().getHost(), node.getUri().getPort());
      }
    }
  }

  /**
   * Runs {@code enqueue}, which sends commands without waiting for them, with manual flushing,
   * then flushes everything it sent in one go.
   *
   * @param connection the cluster connection
   * @param enqueue sends the commands and returns their futures
   * @param <T> what {@code enqueue} returns
   * @return what {@code enqueue} returned
   * @throws io.lettuce.core.RedisException if a master cannot be reached; nothing was sent
   */
  public static <T> T write(StatefulRedisClusterConnection<?, ?> connection, Supplier<T> enqueue) {
    openMasters(connection);
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
