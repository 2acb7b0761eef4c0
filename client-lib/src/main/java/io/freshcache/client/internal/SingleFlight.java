package io.freshcache.client.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * In-process single flight: concurrent calls for one key share one computation, so one JVM sends
 * at most one lease attempt (and runs at most one loader) per key at a time.
 *
 * <p>The first caller registers a future and computes on its own thread; the others block on that
 * future. The entry is removed before the future completes, so a caller that arrives after the
 * result starts a new flight (and will normally find the value in Redis).
 */
public final class SingleFlight {
  private final ConcurrentHashMap<String, CompletableFuture<Object>> flights = new ConcurrentHashMap<>();

  /**
   * Runs {@code work} once for all concurrent callers with the same key.
   *
   * @param <T> the result type
   * @param key the flight's key
   * @param work the computation, run on the first caller's thread
   * @return the work's result; a RuntimeException or Error of the work is rethrown to every
   *     caller unchanged
   */
  @SuppressWarnings("unchecked")
  public <T> T run(String key, Supplier<T> work) {
    CompletableFuture<Object> mine = new CompletableFuture<>();
    CompletableFuture<Object> existing = flights.putIfAbsent(key, mine);
    if (existing != null) {
      return (T) join(existing);
    }
    try {
      T result = work.get();
      flights.remove(key, mine);
      mine.complete(result);
      return result;
    } catch (RuntimeException | Error e) {
      flights.remove(key, mine);
      mine.completeExceptionally(e);
      throw e;
    }
  }

  /** @return the number of flights in progress */
  public int inFlight() {
    return flights.size();
  }

  private static Object join(CompletableFuture<Object> f) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return f.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof RuntimeException re) {
            throw re;
          }
          if (c instanceof Error err) {
            throw err;
          }
          throw new IllegalStateException(c);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
