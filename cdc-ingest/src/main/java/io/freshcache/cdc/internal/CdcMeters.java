package io.freshcache.cdc.internal;

import io.freshcache.cdc.CdcMetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The meters of one capture ({@link CdcMetricNames}), bound to a registry once. Counters per
 * table and op are created when first used and kept, so the hot path is a map lookup and an
 * add. The lag timer publishes histogram buckets (Prometheus computes quantiles from them) and
 * keeps p50/p99 for in-process readers such as the benchmark.
 */
final class CdcMeters {
  private final MeterRegistry registry;
  private final Tags tags;
  private final Map<String, Counter> produced = new ConcurrentHashMap<>();
  private final Map<String, EventRate> rates = new ConcurrentHashMap<>();
  private final Map<String, Counter> errors = new ConcurrentHashMap<>();
  private final Timer lag;
  private final DistributionSummary batchSize;

  CdcMeters(MeterRegistry registry, String connector) {
    this.registry = registry;
    this.tags = Tags.of("connector", connector);
    this.lag = Timer.builder(CdcMetricNames.COMMIT_TO_PRODUCE_LAG)
        .description("Commit of a change to Kafka's acknowledgement of its event")
        .tags(tags)
        .publishPercentileHistogram()
        .publishPercentiles(0.5, 0.99)
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry);
    this.batchSize = DistributionSummary.builder(CdcMetricNames.BATCH_SIZE)
        .description("Changes per handled batch").tags(tags).register(registry);
  }

  /** Binds the gauges and function counters that read state owned elsewhere. */
  void bind(RowChangeMapper mapper, SlotProbe slot, BooleanSupplier engineUp) {
    FunctionCounter.builder(CdcMetricNames.ROWS_SKIPPED, mapper, RowChangeMapper::skippedRows)
        .description("Changed rows without a valid key or version").tags(tags).register(registry);
    FunctionCounter.builder(CdcMetricNames.TRUNCATES_IGNORED, mapper,
        RowChangeMapper::truncatesIgnored).description("Truncates ignored by their rule")
        .tags(tags).register(registry);
    FunctionCounter.builder(CdcMetricNames.UPSERTS_INVALIDATED, mapper,
        RowChangeMapper::upsertsInvalidated)
        .description("Upserts sent as invalidations (unchanged TOAST value)").tags(tags)
        .register(registry);
    UncarriedUpserts uncarried = mapper.uncarried();
    FunctionCounter.builder(CdcMetricNames.UPSERTS_UNCARRIED, uncarried,
        UncarriedUpserts::tooLarge)
        .description("Upserts sent as invalidations because they could not be carried")
        .tags(tags).tag("reason", UncarriedUpserts.Reason.SIZE.tag()).register(registry);
    FunctionCounter.builder(CdcMetricNames.UPSERTS_UNCARRIED, uncarried,
        UncarriedUpserts::codecFailed)
        .description("Upserts sent as invalidations because they could not be carried")
        .tags(tags).tag("reason", UncarriedUpserts.Reason.CODEC.tag()).register(registry);
    Gauge.builder(CdcMetricNames.SLOT_LAG, slot, s -> {
      long bytes = s.state().lagBytes();
      return bytes < 0 ? Double.NaN : bytes;
    }).description("WAL bytes retained beyond the slot's confirmed position").baseUnit("bytes")
        .tags(tags).register(registry);
    Gauge.builder(CdcMetricNames.ENGINE_UP, engineUp, s -> s.getAsBoolean() ? 1 : 0)
        .description("1 while the Debezium engine runs").tags(tags).strongReference(true)
        .register(registry);
  }

  void produced(String table, String op, int n) {
    produced.computeIfAbsent(table + '\u0000' + op, k -> Counter.builder(CdcMetricNames.EVENTS_PRODUCED)
        .description("Events acknowledged by Kafka").tags(tags).tag("table", table).tag("op", op)
        .register(registry)).increment(n);
    rates.computeIfAbsent(table, t -> {
      EventRate rate = new EventRate(System::currentTimeMillis);
      Gauge.builder(CdcMetricNames.EVENTS_PER_SECOND, rate, EventRate::perSecond)
          .description("Events acknowledged per second over the last 10 s").tags(tags)
          .tag("table", t).register(registry);
      return rate;
    }).add(n);
  }

  void lagMicros(long micros) {
    lag.record(Math.max(0, micros), TimeUnit.MICROSECONDS);
  }

  void batch(int size) {
    batchSize.record(size);
  }

  void error(String type) {
    errors.computeIfAbsent(type, t -> Counter.builder(CdcMetricNames.ERRORS)
        .description("Failures by type").tags(tags).tag("type", t).register(registry)).increment();
  }

  Timer lagTimer() {
    return lag;
  }

}
