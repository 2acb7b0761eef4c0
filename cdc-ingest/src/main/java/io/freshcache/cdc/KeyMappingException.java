package io.freshcache.cdc;

import io.freshcache.protocol.CacheException;
import java.util.Objects;

/**
 * A row cannot be turned into a cache key: a column of the key template is missing from the row or
 * null, its value has a type that cannot be part of a key, or the resulting key is not a valid
 * {@link io.freshcache.protocol.CacheKey}. {@link #reason()} tells a rule that does not fit the
 * table ({@link Reason#MISSING_COLUMN}) from a row that no key can name (the others).
 */
public class KeyMappingException extends CacheException {
  private static final long serialVersionUID = 1L;

  /** Why the row has no key. */
  public enum Reason {
    /** The table has no column of that name: the rule does not fit the table. */
    MISSING_COLUMN,
    /** The column is null in this row. */
    NULL_VALUE,
    /** The column's value is binary or structured and cannot be rendered as key text. */
    UNSUPPORTED_TYPE,
    /** The rendered text is not a valid cache key, e.g. it contains a space. */
    INVALID_KEY
  }

  /** Why the row has no key; never null. */
  private final Reason reason;

  /**
   * @param reason why the row has no key; not null
   * @param message what is wrong, naming the table, the template and the column
   * @throws NullPointerException if {@code reason} is null
   */
  public KeyMappingException(Reason reason, String message) {
    super("cdc", null, message, null);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** @return why the row has no key */
  public Reason reason() {
    return reason;
  }
}
