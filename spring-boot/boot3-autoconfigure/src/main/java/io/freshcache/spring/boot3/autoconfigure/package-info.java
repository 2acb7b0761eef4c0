/**
 * The parts of freshcache's Spring Boot integration that are Spring Boot 3.5's alone: the
 * Actuator health indicator on Boot 3's health API. The rest of the auto-configuration
 * ({@code io.freshcache.spring.boot.autoconfigure}) serves Boot 3.5 and 4.0 alike.
 */
package io.freshcache.spring.boot3.autoconfigure;
