package io.freshcache.ops.cli;

import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsRedis;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code freshcache} operator command line: {@code inspect}, {@code verify}, {@code audit},
 * {@code warm} and {@code replay} against the Redis, Kafka and database that the environment
 * names, as the services read it ({@code REDIS_NODES}, {@code REDIS_PASSWORD}, {@code REDIS_TLS},
 * {@code KAFKA_BOOTSTRAP_SERVERS}, {@code JDBC_URL} or {@code PG_*}, {@code CDC_RULES_FILE} or
 * {@code CDC_RULES}).
 *
 * <p>Exit codes: {@value #OK} ok; {@value #FINDINGS} findings (a stale key, an audit finding) or
 * the operator declined; {@value #USAGE} bad usage (unknown command or option, a malformed key, a
 * rule that does not exist, bad SQL); {@value #UNREACHABLE} Redis, Kafka or the database could not
 * be reached; {@value #FAILED} any other failure.
 */
@Command(name = "freshcache", mixinStandardHelpOptions = true, version = "freshcache 0.1.0-SNAPSHOT",
    description = "Operate a freshcache deployment: look at keys, compare the cache with the database,"
        + " audit Redis, warm the cache, replay a writer group. Connections come from the environment"
        + " as the services read it (REDIS_MODE, REDIS_NODES, REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS*;"
        + " KAFKA_BOOTSTRAP_SERVERS and KAFKA_* client properties; JDBC_URL or PG_HOST/PG_PORT/PG_DB, PG_USER,"
        + " PG_PASSWORD, WRITER_SINK_JDBC_SSL* or CDC_DEBEZIUM_DATABASE_SSL*; table rules from CDC_RULES_FILE or"
        + " CDC_RULES, as cdc-ingest reads them; docs/operations.md).",
    subcommands = {InspectCommand.class, VerifyCommand.class, AuditCommand.class, WarmCommand.class,
        ReplayCommand.class, CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:ok", "1:findings (stale keys, audit findings), or declined", "2:bad usage or input",
        "3:Redis, Kafka or the database unreachable, or Redis refused the settings", "4:other failure"})
public final class FreshcacheCli implements Runnable {
  /** Exit code: ok. */
  public static final int OK = 0;
  /** Exit code: findings, or the operator declined. */
  public static final int FINDINGS = 1;
  /** Exit code: bad usage or input. */
  public static final int USAGE = 2;
  /** Exit code: a server could not be reached. */
  public static final int UNREACHABLE = 3;
  /** Exit code: any other failure. */
  public static final int FAILED = 4;

  final Map<String, String> env;
  final BufferedReader in;
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  FreshcacheCli(Map<String, String> env, InputStream in) {
    this.env = env;
    this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
  }

  /**
   * Runs a command and exits with its exit code.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "io/freshcache/ops/cli/logback-cli.xml");
    }
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(run(System.getenv(), System.in, out, err, args));
  }

  /**
   * Runs a command.
   *
   * @param env the environment to read settings from
   * @param in where confirmations are read
   * @param out results
   * @param err messages and progress
   * @param args the command line
   * @return the exit code
   */
  public static int run(Map<String, String> env, InputStream in, PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new FreshcacheCli(env, in));
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, line, parse) -> {
      String command = "freshcache " + line.getCommandName();
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof io.freshcache.redis.RedisSetupException) {
        err.println(command + ": " + cause.getMessage());
        return UNREACHABLE;
      }
      if (OpsRedis.isUnreachable(cause) || cause instanceof OpsDb.UnreachableException || isKafkaTimeout(cause)) {
        err.println(command + ": " + message(cause));
        return UNREACHABLE;
      }
      if (cause instanceof IllegalArgumentException) {
        err.println(command + ": " + cause.getMessage());
        err.println("Try '" + command + " --help'.");
        return USAGE;
      }
      err.println(command + ": failed: " + cause);
      return FAILED;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: inspect, verify, audit, warm or replay");
  }

  static boolean isKafkaTimeout(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.apache.kafka.common.errors.TimeoutException || t instanceof java.util.concurrent.TimeoutException) {
        return true;
      }
    }
    return false;
  }

  private static String message(Throwable e) {
    if (isKafkaTimeout(e) && !OpsRedis.isUnreachable(e)) {
      return "Kafka did not answer (KAFKA_BOOTSTRAP_SERVERS): " + e.getMessage();
    }
    if (e instanceof io.lettuce.core.RedisException && !(e instanceof OpsRedis.UnreachableException)) {
      return "Redis did not answer (REDIS_NODES): " + e.getMessage();
    }
    return e.getMessage();
  }
}
