/**
 * Machinery behind {@link io.freshcache.cdc.CdcIngest}: preflight checks, engine settings, the
 * change-to-event mapping and the acknowledge-then-commit batch handler. Not an API; other modules
 * must not use it.
 */
package io.freshcache.cdc.internal;
