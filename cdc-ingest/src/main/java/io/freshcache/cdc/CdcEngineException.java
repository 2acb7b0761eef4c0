package io.freshcache.cdc;

import io.freshcache.protocol.CacheException;

/**
 * The Debezium engine stopped with an error after it was started: the connector failed (lost
 * replication connection after its retries, slot in use, publication not creatable), a change
 * could not be mapped ({@link KeyMappingException}) or delivered ({@link EventDeliveryException}).
 * The cause is the original failure. Changes whose events were not acknowledged by Kafka were not
 * committed and are captured again after a restart.
 */
public class CdcEngineException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what stopped
   * @param cause the engine's failure
   */
  public CdcEngineException(String message, Throwable cause) {
    super("cdc", null, message, cause);
  }
}
