package io.freshcache.bench.client;

import io.freshcache.protocol.Codec;
import io.freshcache.protocol.Codecs;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Benchmark 5 (JMH, one thread): encoding and decoding {@link BenchProduct#sample(long)} with
 * each of the cache-protocol codecs, as client-lib does for a fill and a hit (payload only; the
 * 31-byte envelope header is the same for all).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CodecBenchmark {
  /** The codec under test. */
  @Param({"json", "cbor", "smile", "msgpack"})
  public String codec;

  private Codec c;
  private BenchProduct product;
  private byte[] encoded;

  /** Encodes the sample once and checks it decodes back. */
  @Setup
  public void setUp() {
    c = Codecs.byName(codec);
    product = BenchProduct.sample(42);
    encoded = c.encode(product);
    if (!product.equals(c.decode(encoded, BenchProduct.class))) {
      throw new IllegalStateException(codec + " does not round-trip the sample product");
    }
  }

  /** @return the payload */
  @Benchmark
  public byte[] encode() {
    return c.encode(product);
  }

  /** @return the decoded product */
  @Benchmark
  public BenchProduct decode() {
    return c.decode(encoded, BenchProduct.class);
  }
}
