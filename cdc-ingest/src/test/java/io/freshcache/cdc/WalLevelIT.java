package io.freshcache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against the machine's own PostgreSQL, which runs with wal_level=replica: cdc-ingest must refuse
 * to start and say why, before it creates anything.
 */
class WalLevelIT {
  private static final String HOST = StackSettings.env("SYSTEM_PG_HOST", "127.0.0.1");
  private static final int PORT = Integer.parseInt(StackSettings.env("SYSTEM_PG_PORT", "5432"));
  private static final String DB = StackSettings.env("SYSTEM_PG_DB", "test");
  private static final String USER = StackSettings.env("SYSTEM_PG_USER", "postgres");

  @TempDir Path dir;

  private CdcIngestConfig.Builder systemDatabase() {
    return CdcIngestConfig.builder().dbHost(HOST).dbPort(PORT).database(DB).user(USER).password("")
        .kafkaBootstrapServers(StackSettings.KAFKA).offsetFile(dir.resolve("offsets.dat"))
        .slotName("fc_it_wal").publicationName("fc_it_wal");
  }

  @Test
  void refusesADatabaseWithoutLogicalWal() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + HOST + ':' + PORT + '/' + DB, USER, "");
        ResultSet rs = c.createStatement().executeQuery("SHOW wal_level")) {
      rs.next();
      assertThat(rs.getString(1)).as("this test needs a server without logical WAL").isNotEqualTo("logical");
    }

    assertThatThrownBy(() -> CdcIngest.start(systemDatabase().build()))
        .isInstanceOfSatisfying(WalLevelException.class,
            e -> assertThat(e.walLevel()).isEqualTo("replica"))
        .hasMessageContaining("wal_level=replica but it must be logical")
        .hasMessageContaining("ALTER SYSTEM SET wal_level = logical")
        .hasMessageContaining(HOST + ":" + PORT + "/" + DB);
    assertThat(dir.resolve("offsets.dat")).doesNotExist();
  }

  @Test
  void anUnreachableDatabaseIsAClearError() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }

    assertThatThrownBy(() -> CdcIngest.start(systemDatabase().dbPort(closedPort).build()))
        .isExactlyInstanceOf(CdcStartupException.class)
        .hasMessageStartingWith("[cdc] cannot connect to PostgreSQL at " + HOST + ":" + closedPort + "/" + DB
            + " as " + USER + ": ");
  }
}
