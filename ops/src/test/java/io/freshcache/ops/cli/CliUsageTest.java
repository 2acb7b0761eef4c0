package io.freshcache.ops.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Usage, help and bad input: nothing here needs a server. */
class CliUsageTest {
  static final Map<String, String> ENV = Map.of();

  @Test
  void everyCommandHasHelp() {
    CliRun top = CliRun.run(ENV, "--help");
    assertThat(top.code()).as("%s", top).isZero();
    assertThat(top.out()).contains("Usage: freshcache").contains("Exit codes:").contains("3   Redis, Kafka or the database unreachable");
    for (String command : List.of("inspect", "verify", "audit", "warm", "replay")) {
      CliRun r = CliRun.run(ENV, command, "--help");
      assertThat(r.code()).as("%s --help: %s", command, r).isZero();
      assertThat(r.out()).as(command).contains("Usage: freshcache " + command);
      CliRun h = CliRun.run(ENV, "help", command);
      assertThat(h.out()).as("help " + command).contains("Usage: freshcache " + command);
    }
  }

  @Test
  void badUsageExitsTwo() {
    assertThat(CliRun.run(ENV).code()).isEqualTo(FreshcacheCli.USAGE);
    CliRun unknown = CliRun.run(ENV, "inspekt", "catalog:product:1");
    assertThat(unknown.code()).isEqualTo(FreshcacheCli.USAGE);
    assertThat(unknown.err()).contains("inspekt");
    CliRun noRule = CliRun.run(ENV, "warm", "--where", "id < 3");
    assertThat(noRule.code()).isEqualTo(FreshcacheCli.USAGE);
    assertThat(noRule.err()).contains("--rule");
  }

  @Test
  void aMalformedKeyIsBadInput() {
    CliRun r = CliRun.run(ENV, "inspect", "not a key");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.USAGE);
    assertThat(r.err()).contains("unknown key format").contains("'not a key'").contains("service:entity:identifier");
    assertThat(CliRun.run(ENV, "inspect", "catalog:product:*").code()).isEqualTo(FreshcacheCli.USAGE);
  }

  @Test
  void aRuleThatDoesNotExistIsNamedWithTheRulesThereAre() {
    CliRun r = CliRun.run(ENV, "warm", "--rule", "nope", "--where", "true");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.USAGE);
    assertThat(r.err()).contains("no rule named 'nope'").contains("public.products (catalog:product)");
    Map<String, String> env = new HashMap<>(ENV);
    env.put("CDC_RULES", "public.products=catalog:product:{id}");
    CliRun invalidating = CliRun.run(env, "warm", "--rule", "catalog:product");
    assertThat(invalidating.code()).as("%s", invalidating).isEqualTo(FreshcacheCli.USAGE);
    assertThat(invalidating.err()).contains("invalidates").contains("upsert rule");
  }

  @Test
  void badSettingsAreNamed() {
    CliRun r = CliRun.run(Map.of("REDIS_NODES", "localhost"), "inspect", "catalog:product:1");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.USAGE);
    assertThat(r.err()).contains("REDIS_NODES").contains("'localhost'");
    CliRun from = CliRun.run(ENV, "replay", "--group", "g", "--from", "yesterday");
    assertThat(from.code()).isEqualTo(FreshcacheCli.USAGE);
    assertThat(from.err()).contains("--from").contains("'yesterday'");
  }

  @Test
  void unreachableRedisExitsThree() {
    CliRun r = CliRun.run(Map.of("REDIS_NODES", "127.0.0.1:1", "REDIS_COMMAND_TIMEOUT_MS", "1000"), "inspect",
        "catalog:product:1");
    assertThat(r.code()).as("%s", r).isEqualTo(FreshcacheCli.UNREACHABLE);
    assertThat(r.err()).contains("cannot reach Redis at 127.0.0.1:1 (REDIS_NODES)");
  }
}
