package io.freshcache.ops.cli;

import io.freshcache.ops.OpsKafka;
import io.freshcache.ops.checker.CheckerConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code freshcache replay --group G --from TIMESTAMP}: moves a writer group's offsets back. */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {"Moves a cache-writer group's committed offsets back to the first event at or after a time,"
        + " so its writers apply everything since then again. First states the fence lifetime bound"
        + " (WRITER_FENCE_TTL_MS): within it, fences order the replayed events and each key ends at its newest"
        + " version; from further back, a fence that expired meanwhile lets an old upsert be cached again until"
        + " a newer event of its key, a delete or its TTL. Asks for confirmation unless --yes.",
        "The group must have no active member (stop its writers first); the offsets are committed while"
        + " the group is empty and its writers resume from them.",
        "Exit code 1 when declined or the group is active."})
final class ReplayCommand implements Callable<Integer> {
  @ParentCommand
  FreshcacheCli root;
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--group", required = true, paramLabel = "G", description = "the writer group (cache-writer's WRITER_GROUP_ID)")
  String group;

  @Option(names = "--from", required = true, paramLabel = "TIMESTAMP",
      description = "an instant (2026-12-06T18:00:00Z), epoch milliseconds, or a duration ago (90m, 2h, PT30M)")
  String from;

  @Option(names = "--topics", paramLabel = "T[,T...]", split = ",", defaultValue = "freshcache.changes,freshcache.writes",
      description = "the group's topics (default ${DEFAULT-VALUE})")
  List<String> topics;

  @Option(names = "--yes", description = "do not ask for confirmation")
  boolean yes;

  @Override
  public Integer call() throws Exception {
    Instant at = parseFrom(from, Instant.now());
    if (at.isAfter(Instant.now())) {
      throw new IllegalArgumentException("--from " + from + " is in the future (" + at + ")");
    }
    long fenceTtlMs = WarmCommand.fenceTtlMs(root.env);
    Duration ago = Duration.between(at, Instant.now());
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Admin admin = OpsKafka.fromEnv(root.env).admin(10_000)) {
      Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
      for (String t : topics) {
        if (!existing.contains(t)) {
          throw new IllegalArgumentException("topic " + t + " does not exist (topics: " + new java.util.TreeSet<>(existing) + ")");
        }
      }
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
      committed.keySet().removeIf(tp -> !topics.contains(tp.topic()));
      if (committed.isEmpty()) {
        throw new IllegalArgumentException("group " + group + " has no committed offsets on " + topics
            + ": is it the writers' group (WRITER_GROUP_ID)?");
      }
      int members;
      try {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
            .get(15, TimeUnit.SECONDS);
        members = d.members().size();
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
          throw e;
        }
        members = 0;
      }
      Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
      for (var td : admin.describeTopics(topics).allTopicNames().get(15, TimeUnit.SECONDS).values()) {
        td.partitions().forEach(p -> specs.put(new TopicPartition(td.name(), p.partition()), OffsetSpec.forTimestamp(at.toEpochMilli())));
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> byTime = admin.listOffsets(specs).all().get(15, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
      specs.keySet().forEach(tp -> ends.put(tp, OffsetSpec.latest()));
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> latest = admin.listOffsets(ends).all().get(15, TimeUnit.SECONDS);

      out.printf("replay moves group %s on %s back to %s (%s ago).%n", group, String.join(", ", topics), at, human(ago));
      out.printf("Fences live at least WRITER_FENCE_TTL_MS = %s (and as long as the longest value they list).%n",
          io.freshcache.protocol.ConsistencyWindows.label(Duration.ofMillis(fenceTtlMs)));
      if (ago.toMillis() < fenceTtlMs) {
        out.printf("%s is within that bound: the fences order the replayed events, and each key ends at its newest version.%n", at);
      } else {
        out.printf("WARNING: %s is further back than the fence lifetime (%s): a fence that expired since may let an"
            + " old upsert be cached again until a newer event of its key, a delete or its TTL.%n", at,
            io.freshcache.protocol.ConsistencyWindows.label(Duration.ofMillis(fenceTtlMs)));
      }
      Map<TopicPartition, OffsetAndMetadata> target = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
      out.printf("%-28s %12s -> %s%n", "partition", "committed", "new");
      for (TopicPartition tp : specs.keySet().stream().sorted((a, b) -> a.toString().compareTo(b.toString())).toList()) {
        long offset = byTime.get(tp).offset() >= 0 ? byTime.get(tp).offset() : latest.get(tp).offset();
        OffsetAndMetadata now = committed.get(tp);
        if (now != null && offset > now.offset()) {
          offset = now.offset(); // never forward: that would skip events
        }
        target.put(tp, new OffsetAndMetadata(offset));
        out.printf("%-28s %12s -> %d%n", tp, now == null ? "none" : Long.toString(now.offset()), offset);
      }
      if (members > 0) {
        err.printf("freshcache replay: group %s has %d active member(s): stop its writers first (Kafka moves only the"
            + " offsets of an empty group); nothing changed%n", group, members);
        return FreshcacheCli.FINDINGS;
      }
      if (!yes) {
        out.printf("Type 'yes' to move the offsets of group %s: ", group);
        out.flush();
        String answer = root.in.readLine();
        if (answer == null || !answer.trim().equals("yes")) {
          err.println("freshcache replay: not confirmed; nothing changed");
          return FreshcacheCli.FINDINGS;
        }
      }
      admin.alterConsumerGroupOffsets(group, target).all().get(15, TimeUnit.SECONDS);
      out.printf("moved %d partitions of group %s; its writers replay from there when they start%n", target.size(), group);
      return FreshcacheCli.OK;
    }
  }

  /**
   * @param text an ISO-8601 instant, epoch ms, or a duration ago
   * @param now the current time
   * @return the instant
   * @throws IllegalArgumentException naming the text
   */
  static Instant parseFrom(String text, Instant now) {
    String t = text.trim();
    try {
      if (t.matches("\\d{10,}")) {
        return Instant.ofEpochMilli(Long.parseLong(t));
      }
      if (t.matches("\\d{4}-.*")) {
        return Instant.parse(t);
      }
      return now.minus(CheckerConfig.duration("--from", t));
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new IllegalArgumentException("--from must be an instant (2026-12-06T18:00:00Z), epoch milliseconds or a"
          + " duration ago (90m, 2h, PT30M) but was '" + text + "'", e);
    }
  }

  private static String human(Duration d) {
    List<String> parts = new ArrayList<>();
    if (d.toHours() > 0) {
      parts.add(d.toHours() + "h");
    }
    if (d.toMinutesPart() > 0) {
      parts.add(d.toMinutesPart() + "m");
    }
    parts.add(d.toSecondsPart() + "s");
    return String.join(" ", parts);
  }
}
