package io.freshcache.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.freshcache.cdc.TableRule;
import io.freshcache.ops.KeyRules;
import io.freshcache.ops.KeySnapshot;
import io.freshcache.ops.OpsDb;
import io.freshcache.ops.OpsRedis;
import io.freshcache.ops.RowCheck;
import io.freshcache.protocol.CacheKey;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

/** What the commands share: settings, connections, the key-to-row comparison, JSON, progress. */
final class CliSupport {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private CliSupport() {}

  static KeyRules rules(FreshcacheCli root, Path file) {
    return KeyRules.load(file, root.env);
  }

  static OpsRedis redis(FreshcacheCli root) {
    return OpsRedis.connect(OpsRedis.settings(root.env));
  }

  static OpsDb db(FreshcacheCli root) {
    return OpsDb.connect(OpsDb.Settings.fromEnv(root.env));
  }

  /**
   * @param text a logical key, or a physical key such as {@code {catalog:product:42}:v1}
   * @return the logical key
   * @throws IllegalArgumentException naming the text and the key rules
   */
  static CacheKey key(String text) {
    CacheKey physical = CacheKey.ofPhysical(text);
    if (physical != null) {
      return physical;
    }
    try {
      CacheKey key = CacheKey.parse(text);
      if (key.isNamespace()) {
        throw new IllegalArgumentException("'" + text + "' is a namespace wildcard, not one key");
      }
      return key;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown key format: " + e.getMessage()
          + " (a key is service:entity:identifier, e.g. catalog:product:42)", e);
    }
  }

  /** The row of a key under its rule (empty optional: no row), or null without a rule. */
  static Optional<Map<String, Object>> row(OpsDb db, KeyRules rules, TableRule rule, CacheKey key) throws SQLException {
    return rule == null ? Optional.empty() : db.row(rule, rules.keyColumns(rule, key));
  }

  static RowCheck.Result compare(TableRule rule, KeySnapshot snap, Optional<Map<String, Object>> row) {
    return RowCheck.compare(rule, snap, row);
  }

  /** Progress on stderr: one updating line on a terminal, else a line at each tenth. */
  static final class Progress {
    private final PrintWriter err;
    private final String what;
    private final boolean terminal = System.console() != null;
    private long lastTenth = -1;
    private long lastPrint;

    Progress(PrintWriter err, String what) {
      this.err = err;
      this.what = what;
    }

    void show(long done, long total, String detail) {
      long now = System.nanoTime();
      if (terminal) {
        if (now - lastPrint > 100_000_000L || done == total) {
          err.print("\r" + line(done, total, detail));
          err.flush();
          lastPrint = now;
        }
        return;
      }
      long tenth = total > 0 ? done * 10 / total : -1;
      if (total > 0 ? tenth != lastTenth : now - lastPrint > 5_000_000_000L) {
        err.println(line(done, total, detail));
        err.flush();
        lastTenth = tenth;
        lastPrint = now;
      }
    }

    void done() {
      if (terminal) {
        err.println();
      }
    }

    private String line(long done, long total, String detail) {
      if (total <= 0) {
        return what + ": " + done + (detail.isEmpty() ? "" : ", " + detail);
      }
      int width = 30;
      int filled = (int) Math.min(width, done * width / total);
      return what + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + done + "/" + total + " ("
          + (done * 100 / total) + "%)" + (detail.isEmpty() ? "" : " " + detail);
    }
  }
}
