package io.freshcache.ops;

import io.freshcache.cdc.RulesFile;
import io.freshcache.cdc.TableRule;
import io.freshcache.protocol.CacheKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The table rules that map rows to cache keys (cdc-ingest's {@link TableRule}), read the way
 * cdc-ingest reads them ({@code CDC_RULES_FILE}, else {@code CDC_RULES}, else its default
 * {@code public.products=catalog:product:{id}}), and the way back: which rule a key belongs to
 * (by its {@code service:entity} namespace) and which key-column values it names.
 */
public final class KeyRules {
  /** cdc-ingest's default rules. */
  public static final String DEFAULT_RULES = "public.products=catalog:product:{id}";

  private final List<TableRule> rules;
  private final Map<TableRule, Pattern> patterns = new LinkedHashMap<>();

  private KeyRules(List<TableRule> rules) {
    this.rules = List.copyOf(rules);
    for (TableRule r : rules) {
      patterns.put(r, reverse(r.keyTemplate().toString()));
    }
  }

  /**
   * @param rules the rules
   * @return the rules, looked up by namespace and name
   */
  public static KeyRules of(List<TableRule> rules) {
    return new KeyRules(rules);
  }

  /**
   * @param file a YAML rules file, or {@code null} for the environment's rules
   * @param env the environment
   * @return the rules
   * @throws IllegalArgumentException naming the file or variable if the rules are invalid, or if
   *     both {@code CDC_RULES_FILE} and {@code CDC_RULES} are set
   */
  public static KeyRules load(Path file, Map<String, String> env) {
    if (file != null) {
      return of(RulesFile.load(file));
    }
    String path = env.get("CDC_RULES_FILE");
    String text = env.get("CDC_RULES");
    if (path != null && !path.isBlank()) {
      if (text != null && !text.isBlank()) {
        throw new IllegalArgumentException("CDC_RULES_FILE: set either CDC_RULES_FILE or CDC_RULES but both were set");
      }
      try {
        return of(RulesFile.load(Path.of(path.trim())));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("CDC_RULES_FILE: " + e.getMessage(), e);
      }
    }
    try {
      return of(TableRule.parseAll(text == null || text.isBlank() ? DEFAULT_RULES : text));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("CDC_RULES: " + e.getMessage(), e);
    }
  }

  /** @return the rules in order */
  public List<TableRule> rules() {
    return rules;
  }

  /**
   * @param key a logical key
   * @return the rule whose template produces keys of the key's namespace and shape, if any
   */
  public Optional<TableRule> ruleFor(CacheKey key) {
    for (var e : patterns.entrySet()) {
      if (e.getKey().keyTemplate().namespace().equals(key.namespaceName())
          && e.getValue().matcher(key.toString()).matches()) {
        return Optional.of(e.getKey());
      }
    }
    return Optional.empty();
  }

  /**
   * Finds a rule by name: its table ({@code public.products}, or {@code products} when only one
   * schema has it) or its key namespace ({@code catalog:product}).
   *
   * @param name the name
   * @return the rule
   * @throws IllegalArgumentException if no rule or more than one has that name; the message lists
   *     the rules there are
   */
  public TableRule byName(String name) {
    List<TableRule> found = new ArrayList<>();
    for (TableRule r : rules) {
      if (r.table().equals(name) || r.tableName().equals(name) || r.keyTemplate().namespace().equals(name)) {
        found.add(r);
      }
    }
    if (found.size() == 1) {
      return found.get(0);
    }
    throw new IllegalArgumentException((found.isEmpty() ? "no rule named '" : "more than one rule named '")
        + name + "'; the rules are: " + names());
  }

  /** @return each rule as {@code table (namespace)}, for messages */
  public String names() {
    List<String> n = new ArrayList<>();
    for (TableRule r : rules) {
      n.add(r.table() + " (" + r.keyTemplate().namespace() + ")");
    }
    return String.join(", ", n);
  }

  /**
   * The key columns a key names under its rule: {@code catalog:product:42} under
   * {@code catalog:product:{id}} gives {@code {id=42}}.
   *
   * @param rule the key's rule ({@link #ruleFor})
   * @param key the key
   * @return column to value as text, in template order
   * @throws IllegalArgumentException if the key does not fit the rule's template
   */
  public Map<String, String> keyColumns(TableRule rule, CacheKey key) {
    Matcher m = patterns.get(rule).matcher(key.toString());
    if (!m.matches()) {
      throw new IllegalArgumentException("key " + key + " does not fit template " + rule.keyTemplate());
    }
    Map<String, String> cols = new LinkedHashMap<>();
    List<String> names = placeholders(rule.keyTemplate().toString());
    for (int i = 0; i < names.size(); i++) {
      String previous = cols.putIfAbsent(names.get(i), m.group(i + 1));
      if (previous != null && !previous.equals(m.group(i + 1))) {
        throw new IllegalArgumentException("key " + key + " names column " + names.get(i)
            + " twice with different values in template " + rule.keyTemplate());
      }
    }
    return cols;
  }

  /** A regex of the template: literals quoted, each placeholder a group (the last one greedy). */
  static Pattern reverse(String template) {
    StringBuilder re = new StringBuilder();
    int count = placeholders(template).size();
    int seen = 0;
    int i = 0;
    while (i < template.length()) {
      int open = template.indexOf('{', i);
      if (open < 0) {
        re.append(Pattern.quote(template.substring(i)));
        break;
      }
      if (open > i) {
        re.append(Pattern.quote(template.substring(i, open)));
      }
      seen++;
      re.append(seen == count ? "(.+)" : "(.+?)");
      i = template.indexOf('}', open) + 1;
    }
    return Pattern.compile(re.toString());
  }

  static List<String> placeholders(String template) {
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("\\{([^}]*)}").matcher(template);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }
}
