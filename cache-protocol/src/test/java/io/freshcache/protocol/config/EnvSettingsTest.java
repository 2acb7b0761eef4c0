package io.freshcache.protocol.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvSettingsTest {
  @TempDir
  Path dir;

  private static EnvSettings env(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return EnvSettings.of(m);
  }

  private Path file(String content) throws IOException {
    Path p = Files.createTempFile(dir, "secret", ".txt");
    Files.writeString(p, content);
    return p;
  }

  @Test
  void unsetAndBlankAreAbsentAndValuesAreTrimmed() {
    EnvSettings e = env("A", "  x  ", "B", "   ");
    assertThat(e.string("A")).contains("x");
    assertThat(e.string("B")).isEmpty();
    assertThat(e.string("C")).isEmpty();
    assertThat(e.isSet("B")).isTrue();
    assertThat(e.isSet("C")).isFalse();
  }

  @Test
  void fileVariantIsReadWithOneTrailingLineBreakDropped() throws IOException {
    EnvSettings e = env("PW_FILE", file("s3cret \r\n").toString(), "NAME_FILE", file(" shop\n").toString());
    assertThat(e.secret("PW")).contains("s3cret ");
    assertThat(e.string("NAME")).contains("shop");
    assertThat(e.isSet("PW")).isTrue();
  }

  @Test
  void literalIgnoresTheFileVariant() throws IOException {
    EnvSettings e = env("CDC_RULES_FILE", file("tables: {}").toString());
    assertThat(e.literal("CDC_RULES")).isEmpty();
    assertThat(env("X", " y ").literal("X")).contains("y");
  }

  @Test
  void bothVariableAndFileSetIsAnError() throws IOException {
    EnvSettings e = env("PW", "a", "PW_FILE", file("b").toString());
    assertThatThrownBy(() -> e.secret("PW")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("PW and PW_FILE are both set");
  }

  @Test
  void unreadableFileNamesTheVariableAndThePath() {
    EnvSettings e = env("PW_FILE", "/no/such/file");
    assertThatThrownBy(() -> e.secret("PW")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("PW_FILE").hasMessageContaining("/no/such/file");
  }

  @Test
  void secretsKeepTheirBlanksAndAreNeverInErrors() {
    assertThat(env("PW", " a b ").secret("PW")).contains(" a b ");
    assertThat(ConfigException.invalidSecret("PW", "base64").getMessage()).doesNotContain("'");
  }

  @Test
  void integersAreRangeCheckedWithTheVariableAndValueInTheError() {
    assertThat(env("N", "1_000").integer("N", 1, 2000)).contains(1000);
    assertThat(env("N", "7").longValue("N", 0, 10)).contains(7L);
    assertThatThrownBy(() -> env("N", "0").integer("N", 1, 10)).isInstanceOf(ConfigException.class)
        .hasMessage("N must be an integer in 1..10 but was '0'");
    assertThatThrownBy(() -> env("N", "lots").integer("N", 1, 10)).hasMessageContaining("'lots'");
    assertThatThrownBy(() -> env("N", "99999999999").integer("N", 1, 10)).hasMessageContaining("N must");
  }

  @Test
  void decimalsAndFractions() {
    assertThat(env("P", "5%").decimal("P", 0, 100)).contains(5.0);
    assertThat(env("F", "20%").fraction("F", 0, 0.9)).contains(0.2);
    assertThat(env("F", "0.25").fraction("F", 0, 0.9)).contains(0.25);
    assertThatThrownBy(() -> env("F", "2").fraction("F", 0, 0.9)).hasMessageContaining("F must")
        .hasMessageContaining("'2'");
    assertThatThrownBy(() -> env("P", "NaN").decimal("P", 0, 100)).hasMessageContaining("'NaN'");
  }

  @Test
  void booleans() {
    assertThat(env("B", "YES").bool("B")).contains(true);
    assertThat(env("B", "off").bool("B")).contains(false);
    assertThat(env("B", "0").bool("B")).contains(false);
    assertThatThrownBy(() -> env("B", "maybe").bool("B")).hasMessage("B must be true or false but was 'maybe'");
  }

  @Test
  void durationsTakeTheBareUnitAUnitSuffixOrIso() {
    assertThat(env("T_MS", "250").duration("T_MS", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofMillis(250));
    assertThat(env("T", "250ms").duration("T", ChronoUnit.SECONDS, Duration.ZERO)).contains(Duration.ofMillis(250));
    assertThat(env("T", "2s").duration("T", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofSeconds(2));
    assertThat(env("T", "5m").duration("T", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofMinutes(5));
    assertThat(env("T", "1h").duration("T", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofHours(1));
    assertThat(env("T", "1d").duration("T", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofDays(1));
    assertThat(env("T", "PT10M").duration("T", ChronoUnit.MILLIS, Duration.ZERO)).contains(Duration.ofMinutes(10));
    assertThat(env("T", "30").duration("T", ChronoUnit.SECONDS, Duration.ZERO)).contains(Duration.ofSeconds(30));
    assertThatThrownBy(() -> env("T", "soon").duration("T", ChronoUnit.MILLIS, Duration.ZERO))
        .isInstanceOf(ConfigException.class).hasMessageContaining("T must be a duration").hasMessageContaining("'soon'");
    assertThatThrownBy(() -> env("T", "0").duration("T", ChronoUnit.MILLIS, Duration.ofMillis(1)))
        .hasMessageContaining("at least 1 ms").hasMessageContaining("'0'");
    assertThatThrownBy(() -> env("T", "-5").duration("T", ChronoUnit.MILLIS, Duration.ZERO))
        .hasMessageContaining("'-5'");
  }

  @Test
  void listsHostPortsAndEnums() {
    assertThat(env("L", " a, ,b ").list("L")).contains(List.of("a", "b"));
    assertThat(env("H", "h:1,[::1]:6379").hostPorts("H")).contains(List.of("h:1", "[::1]:6379"));
    assertThat(EnvSettings.HostPort.parse("x", "[::1]:6379").host()).isEqualTo("::1");
    assertThat(EnvSettings.HostPort.parse("x", "[::1]:6379")).hasToString("[::1]:6379");
    assertThatThrownBy(() -> env("H", "h:1,nohost").hostPorts("H")).hasMessage("H must be host:port but was 'nohost'");
    assertThatThrownBy(() -> env("H", "h:70000").hostPorts("H")).hasMessageContaining("'h:70000'");
    assertThat(env("M", "Read-Only").enumValue("M", Mode.class)).contains(Mode.READ_ONLY);
    assertThatThrownBy(() -> env("M", "x").enumValue("M", Mode.class))
        .hasMessage("M must be one of read_only, read_write but was 'x'");
  }

  enum Mode { READ_ONLY, READ_WRITE }

  @Test
  void readableFile() throws IOException {
    Path f = file("x");
    assertThat(env("F", f.toString()).readableFile("F")).contains(f);
    assertThatThrownBy(() -> env("F", "/no/such").readableFile("F")).hasMessage("F must be a readable file but was '/no/such'");
  }

  @Test
  void propertiesMapNamesTheKafkaWay() throws IOException {
    EnvSettings e = env("KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
        "KAFKA_SASL_JAAS_CONFIG_FILE", file("org.x.Plain required password=\"p\";\n").toString(),
        "KAFKA_CLIENT__RACK", "r1", // __ is _
        "KAFKA_SOME___DASHED_NAME", "d", // ___ is -
        "KAFKA_BOOTSTRAP_SERVERS", "skipped",
        "KAFKA_FILE", "not a property",
        "KAFKA_", "nothing",
        "OTHER_X", "y");
    assertThat(e.properties("KAFKA_", Set.of("KAFKA_BOOTSTRAP_SERVERS"))).containsExactlyInAnyOrderEntriesOf(Map.of(
        "security.protocol", "SASL_SSL",
        "sasl.jaas.config", "org.x.Plain required password=\"p\";",
        "client_rack", "r1",
        "some-dashed.name", "d"));
    assertThat(EnvSettings.variableOf("KAFKA_", "client_rack")).isEqualTo("KAFKA_CLIENT__RACK");
    assertThat(EnvSettings.variableOf("KAFKA_", "some-dashed.name")).isEqualTo("KAFKA_SOME___DASHED_NAME");
  }

  @Test
  void kubernetesServiceVariablesAreNotProperties() {
    EnvSettings e = env("KAFKA_PORT", "tcp://10.0.0.1:9092", "KAFKA_PORT_9092_TCP_ADDR", "10.0.0.1",
        "KAFKA_SERVICE_HOST", "10.0.0.1", "KAFKA_SERVICE_PORT_BROKER", "9092", "KAFKA_ACKS", "1");
    assertThat(e.properties("KAFKA_", Set.of())).containsExactly(Map.entry("acks", "1"));
  }

  @Test
  void propertySetBothWaysIsAnError() throws IOException {
    EnvSettings e = env("KAFKA_SSL_KEY_PASSWORD", "a", "KAFKA_SSL_KEY_PASSWORD_FILE", file("b").toString());
    assertThatThrownBy(() -> e.properties("KAFKA_", Set.of())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("KAFKA_SSL_KEY_PASSWORD and KAFKA_SSL_KEY_PASSWORD_FILE are both set");
  }

  @Test
  void maskingOfPropertiesAndUrls() {
    assertThat(EnvSettings.masked(Map.of("sasl.jaas.config", "x", "ssl.key.password", "y",
        "ssl.keystore.key", "z", "security.protocol", "SSL"))).containsExactlyInAnyOrderEntriesOf(Map.of(
        "sasl.jaas.config", "****", "ssl.key.password", "****", "ssl.keystore.key", "****",
        "security.protocol", "SSL"));
    assertThat(EnvSettings.maskedUrl("jdbc:postgresql://db:5432/shop?user=app&password=p%40ss&sslmode=verify-full"))
        .isEqualTo("jdbc:postgresql://db:5432/shop?user=app&password=****&sslmode=verify-full");
    assertThat(EnvSettings.maskedUrl("redis://user:pw@host:6379")).isEqualTo("redis://user:****@host:6379");
    assertThat(EnvSettings.maskedUrl("jdbc:postgresql://db/shop")).isEqualTo("jdbc:postgresql://db/shop");
  }

  @Test
  void toStringListsNamesNeverValues() {
    assertThat(env("PW", "s3cret")).hasToString("EnvSettings[PW]");
  }
}
