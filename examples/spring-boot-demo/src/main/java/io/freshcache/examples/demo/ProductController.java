package io.freshcache.examples.demo;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** The HTTP face of the catalog. */
@RestController
public class ProductController {
  private final ProductRepository products;

  /** @param products the repository */
  public ProductController(ProductRepository products) {
    this.products = products;
  }

  /**
   * @param id the product id
   * @return the product, or 404
   */
  @GetMapping("/products/{id}")
  public ResponseEntity<Product> product(@PathVariable("id") long id) {
    Product p = products.findById(id);
    return p == null ? ResponseEntity.notFound().build() : ResponseEntity.ok(p);
  }
}
