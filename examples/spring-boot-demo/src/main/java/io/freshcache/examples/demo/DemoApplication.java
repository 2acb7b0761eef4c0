package io.freshcache.examples.demo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.annotation.EnableCaching;

/** A catalog service: {@code GET /products/{id}} read through freshcache from PostgreSQL. */
@SpringBootApplication
@EnableCaching
public class DemoApplication {
  /** @param args Spring Boot arguments */
  public static void main(String[] args) {
    SpringApplication.run(DemoApplication.class, args);
  }
}
