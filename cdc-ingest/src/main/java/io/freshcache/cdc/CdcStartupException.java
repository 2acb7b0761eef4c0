package io.freshcache.cdc;

import io.freshcache.protocol.CacheException;

/**
 * cdc-ingest cannot start: the database or Kafka is unreachable, a captured table is missing, the
 * replication slot is held by another process, or the database cannot do logical decoding (see
 * {@link WalLevelException}). The message says what was tried and what to change; nothing has been
 * captured or produced when this is thrown.
 */
public class CdcStartupException extends CacheException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what failed, naming the host, database, table or topic concerned
   * @param cause the driver's or client's exception, or {@code null}
   */
  public CdcStartupException(String message, Throwable cause) {
    super("cdc", null, message, cause);
  }
}
