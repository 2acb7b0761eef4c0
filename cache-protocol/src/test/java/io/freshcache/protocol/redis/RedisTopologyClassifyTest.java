package io.freshcache.protocol.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import java.net.ConnectException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** Which connection failures are configuration mismatches (fail at start) and which are outages. */
class RedisTopologyClassifyTest {

  @Test
  void refusedCredentialsNameTheServerAndTheSettings() {
    RedisSetupException e = RedisTopology.classify("10.0.0.1:6379", new RedisConnectionException("Unable to connect",
        new RedisCommandExecutionException("WRONGPASS invalid username-password pair or user is disabled.")));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("Redis at 10.0.0.1:6379 refused the credentials")
        .contains("REDIS_USERNAME and REDIS_PASSWORD");
  }

  @Test
  void aMissingPasswordIsNamed() {
    assertThat(RedisTopology.classify("h:1", new RedisCommandExecutionException("NOAUTH Authentication required.")))
        .hasMessageContaining("requires a password");
  }

  @Test
  void anUntrustedCertificateNamesTheCaSetting() {
    RedisSetupException e = RedisTopology.classify("h:1", new RedisConnectionException("x",
        new SSLHandshakeException("PKIX path building failed: unable to find valid certification path")));
    assertThat(e).hasMessageContaining("TLS handshake with Redis at h:1 failed")
        .hasMessageContaining("REDIS_TLS_CA_FILE");
  }

  @Test
  void aCertificateForAnotherHostNamesTheHostnameSwitch() {
    assertThat(RedisTopology.classify("h:1", new SSLHandshakeException("No subject alternative names matching IP address")))
        .hasMessageContaining("REDIS_TLS_VERIFY_HOSTNAME");
  }

  @Test
  void aMissingPermissionPointsToTheAclDocument() {
    assertThat(RedisTopology.classify("h:1", new RedisCommandExecutionException(
        "NOPERM this user has no permissions to run the 'evalsha' command"))).hasMessageContaining("docs/redis-acl.md");
    assertThat(RedisTopology.noPermission("ERR Error running script: The user executing the script can't run this command or subcommand"))
        .isTrue();
  }

  @Test
  void anUnreachableServerIsAnOutageNotAMismatch() {
    assertThat(RedisTopology.classify("h:1", new RedisConnectionException("Unable to connect to h:1",
        new ConnectException("Connection refused")))).isNull();
  }
}
