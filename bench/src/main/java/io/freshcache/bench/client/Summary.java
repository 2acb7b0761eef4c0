package io.freshcache.bench.client;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Median and range of a figure over repetitions, formatted for the report as
 * {@code median (min–max)}.
 */
record Summary(double median, double min, double max, int n) {

  static Summary of(List<Double> values) {
    if (values.isEmpty()) {
      return new Summary(Double.NaN, Double.NaN, Double.NaN, 0);
    }
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = v.length;
    double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return new Summary(median, v[0], v[n - 1], n);
  }

  static Summary of(double... values) {
    return of(Arrays.stream(values).boxed().toList());
  }

  /** @return {@code median (min–max)} with {@code decimals} decimals; just the value if n = 1 */
  String format(int decimals) {
    if (n == 0) {
      return "–";
    }
    String f = "%." + decimals + "f";
    if (n == 1 || min == max) {
      return String.format(Locale.ROOT, f, median);
    }
    return String.format(Locale.ROOT, f + " (" + f + "–" + f + ")", median, min, max);
  }
}
