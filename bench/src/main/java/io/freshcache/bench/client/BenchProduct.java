package io.freshcache.bench.client;

import java.util.ArrayList;
import java.util.List;

/**
 * The value the client benchmarks cache: a product record as a catalog service would hold it,
 * 20 fields of mixed kinds (ids, prices, counts, flags, short texts, a description, URLs,
 * timestamps) and a nested list of {@link Variant}s.
 *
 * @param id primary key
 * @param sku stock-keeping unit
 * @param name display name
 * @param brand brand name
 * @param category category path
 * @param description marketing text, a few sentences
 * @param priceCents list price in cents
 * @param salePriceCents sale price in cents
 * @param currency ISO 4217 currency
 * @param stock units in stock over all variants
 * @param weightGrams shipping weight
 * @param rating mean review rating, 1–5
 * @param reviewCount number of reviews
 * @param active whether the product is listed
 * @param taxable whether sales tax applies
 * @param imageUrl main image
 * @param tags search tags
 * @param createdAtMs creation time, epoch ms
 * @param updatedAtMs last change, epoch ms
 * @param version row version
 * @param variants sizes and colours
 */
public record BenchProduct(long id, String sku, String name, String brand, String category,
    String description, long priceCents, long salePriceCents, String currency, int stock,
    int weightGrams, double rating, int reviewCount, boolean active, boolean taxable, String imageUrl,
    List<String> tags, long createdAtMs, long updatedAtMs, long version, List<Variant> variants) {

  /**
   * One orderable variant of a product.
   *
   * @param sku the variant's SKU
   * @param color colour name
   * @param size size label
   * @param priceCents price in cents
   * @param stock units in stock
   * @param barcode EAN-13
   */
  public record Variant(String sku, String color, String size, long priceCents, int stock, String barcode) {}

  private static final String[] COLORS = {"black", "navy", "forest green", "sand", "burgundy"};
  private static final String[] SIZES = {"S", "M", "L", "XL", "XXL"};

  /** @return a deterministic product with {@code variantCount} variants, about 1 KB as JSON */
  public static BenchProduct sample(long id, int variantCount) {
    String sku = "TRL-JKT-" + (10_000 + id);
    List<Variant> variants = new ArrayList<>(variantCount);
    for (int i = 0; i < variantCount; i++) {
      variants.add(new Variant(sku + "-" + i, COLORS[i % COLORS.length], SIZES[i % SIZES.length],
          18_990 + 500L * i, 3 + 7 * i, Long.toString(4_006_381_333_931L + 17L * id + i)));
    }
    return new BenchProduct(id, sku, "Trailhead Insulated Rain Jacket " + id, "Northwind Outfitters",
        "apparel/outdoor/jackets",
        "A light, fully seam-sealed rain jacket with recycled synthetic insulation, two zipped hand"
            + " pockets and an adjustable hood. Packs into its own chest pocket.",
        18_990, 15_990, "EUR", 40 + (int) (id % 50), 640, 4.6, 1_287, true, true,
        "https://img.example.com/products/" + sku.toLowerCase(java.util.Locale.ROOT) + "/main.jpg",
        List.of("rain", "insulated", "packable", "hiking"), 1_700_000_000_000L + id,
        1_760_000_000_000L + id, 17, List.copyOf(variants));
  }

  /** @return {@link #sample(long, int)} with the usual 5 variants */
  public static BenchProduct sample(long id) {
    return sample(id, 5);
  }
}
