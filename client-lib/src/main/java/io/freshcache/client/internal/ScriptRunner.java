package io.freshcache.client.internal;

import io.freshcache.protocol.CacheScripts;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisScriptingCommands;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Runs the protocol's Lua scripts by digest ({@code EVALSHA}), falling back to {@code EVAL} —
 * which also caches the script on that node — when a node answers {@code NOSCRIPT} (a restarted
 * or newly promoted node has an empty script cache).
 */
public final class ScriptRunner {
  private ScriptRunner() {}

  /**
   * Runs {@code script} on the node that owns {@code keys[0]}'s slot.
   *
   * @param <T> the result type that {@code type} produces
   * @param redis the sync commands (of the cluster, or of one node)
   * @param script the script
   * @param type the script's output type
   * @param keys the script's keys, all in one slot
   * @param args the script's arguments
   * @return the script's result
   */
  public static <T> T run(RedisScriptingCommands<byte[], byte[]> redis, CacheScripts.Script script,
      ScriptOutputType type, byte[][] keys, byte[]... args) {
    try {
      return redis.evalsha(script.sha1(), type, keys, args);
    } catch (RedisNoScriptException e) {
      return redis.eval(script.source(), type, keys, args);
    }
  }

  /**
   * As {@link #run}, asynchronously.
   *
   * @param <T> the result type that {@code type} produces
   * @param redis the async commands
   * @param script the script
   * @param type the script's output type
   * @param keys the script's keys, all in one slot
   * @param args the script's arguments
   * @return a future of the script's result, failed with the Redis error
   */
  public static <T> CompletableFuture<T> runAsync(RedisClusterAsyncCommands<byte[], byte[]> redis,
      CacheScripts.Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
    CompletableFuture<T> first = redis.<T>evalsha(script.sha1(), type, keys, args).toCompletableFuture();
    return first.handle((v, e) -> {
      if (e == null) {
        return CompletableFuture.completedFuture(v);
      }
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RedisNoScriptException) {
        return redis.<T>eval(script.source(), type, keys, args).toCompletableFuture();
      }
      return CompletableFuture.<T>failedFuture(cause);
    }).thenCompose(f -> f);
  }
}
