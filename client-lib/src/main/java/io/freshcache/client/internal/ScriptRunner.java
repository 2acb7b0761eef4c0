package io.freshcache.client.internal;

import io.freshcache.protocol.CacheScripts;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;

/**
 * Runs the protocol's Lua scripts by digest ({@code EVALSHA}), falling back to {@code EVAL} —
 * which also caches the script on that node — when a node answers {@code NOSCRIPT} (a restarted
 * or newly promoted node has an empty script cache).
 */
public final class ScriptRunner {
  private final RedisAdvancedClusterCommands<byte[], byte[]> redis;

  /** @param redis the cluster connection's sync commands */
  public ScriptRunner(RedisAdvancedClusterCommands<byte[], byte[]> redis) {
    this.redis = redis;
  }

  /** Runs {@code script} on the node that owns {@code keys[0]}'s slot. */
  public <T> T run(CacheScripts.Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
    try {
      return redis.evalsha(script.sha1(), type, keys, args);
    } catch (RedisNoScriptException e) {
      return redis.eval(script.source(), type, keys, args);
    }
  }
}
