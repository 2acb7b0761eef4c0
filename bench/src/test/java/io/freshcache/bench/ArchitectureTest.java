package io.freshcache.bench;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Each module's machinery lives in its {@code internal} package; no other module may depend on
 * it, so the public API at each package root stays the only contract. bench sees every module,
 * which makes it the place to check.
 */
class ArchitectureTest {
  static final JavaClasses ALL = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.freshcache");

  @Test
  void noModuleReachesIntoAnotherModulesInternals() {
    for (String module : new String[] {"client", "cdc", "writer", "protocol"}) {
      noClasses().that().resideOutsideOfPackage("io.freshcache." + module + "..")
          .should().dependOnClassesThat().resideInAPackage("io.freshcache." + module + ".internal..")
          .because("io.freshcache." + module + ".internal is that module's machinery, not its API")
          .check(ALL);
    }
  }

  @Test
  void theProtocolDependsOnNoOtherModuleAndNoKafkaOrDebeziumRuntime() {
    noClasses().that().resideInAPackage("io.freshcache.protocol..")
        .should().dependOnClassesThat().resideInAnyPackage("io.freshcache.client..", "io.freshcache.cdc..",
            "io.freshcache.writer..", "org.apache.kafka..", "io.debezium..", "io.lettuce..")
        .check(ALL);
  }
}
