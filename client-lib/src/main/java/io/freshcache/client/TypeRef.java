package io.freshcache.client;

import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.util.Objects;

/**
 * The full type of a cached value, generics included, for reads of types a {@link Class} cannot
 * name, such as {@code List<Product>} or {@code Map<String, Price>}.
 *
 * <pre>{@code
 * TypeRef<List<Product>> PRODUCTS = new TypeRef<>() {};      // capture with an anonymous subclass
 * List<Product> top = cache.getOrLoad("catalog:top:home", PRODUCTS, policy, dao::topProducts);
 * TypeRef<Product> one = TypeRef.of(Product.class);            // or wrap a class
 * }</pre>
 *
 * <p>Two refs are equal when their {@link #type()}s are equal. Each read is served only values
 * decoded for its own type: the near cache and the in-process single flight keep reads of one
 * key as different types apart (a near-cache entry stored by a {@code List<Price>} read is
 * never returned to a {@code List<Product>} read). The type must be fully resolved: no type
 * variables or wildcards ({@code List<T>}, {@code List<?>}), since the codec could not know what
 * to decode.
 *
 * <p>Decoding a generic type needs a codec that supports it ({@link
 * io.freshcache.protocol.Codec#decode(byte[], Type)}); the built-in Jackson codecs (JSON, CBOR,
 * Smile, MessagePack) all do.
 *
 * @param <T> the value type
 */
public abstract class TypeRef<T> {
  private final Type type;

  /**
   * Captures the type argument of an anonymous subclass: {@code new TypeRef<List<Product>>() {}}.
   *
   * @throws IllegalArgumentException if the subclass does not give a concrete type argument
   */
  protected TypeRef() {
    Type sup = getClass().getGenericSuperclass();
    if (!(sup instanceof ParameterizedType p) || p.getRawType() != TypeRef.class) {
      throw new IllegalArgumentException("TypeRef must be created as an anonymous subclass with a"
          + " type argument, e.g. new TypeRef<List<Product>>() {}, but was " + getClass().getName());
    }
    this.type = checked(p.getActualTypeArguments()[0]);
  }

  private TypeRef(Type type) {
    this.type = checked(type);
  }

  /**
   * @param <T> the value type
   * @param type the value's class, not null
   * @return a ref of {@code type}
   */
  public static <T> TypeRef<T> of(Class<T> type) {
    return new TypeRef<T>(Objects.requireNonNull(type, "type")) { };
  }

  /**
   * A ref of a type obtained by reflection (a method's generic return type, say); the caller
   * vouches that {@code T} matches it.
   *
   * @param <T> the value type
   * @param type a fully resolved type, not null
   * @return a ref of {@code type}
   * @throws IllegalArgumentException if {@code type} holds a type variable or wildcard
   */
  public static <T> TypeRef<T> of(Type type) {
    return new TypeRef<T>(Objects.requireNonNull(type, "type")) { };
  }

  /** @return the full type, a {@link Class} or a {@link ParameterizedType} or array type */
  public final Type type() {
    return type;
  }

  /** @return the erasure of {@link #type()}: {@code List.class} for {@code List<Product>} */
  public final Class<?> rawType() {
    return raw(type);
  }

  /**
   * @param value a value, not null
   * @return whether {@code value} can be returned as this type as far as the JVM can check (its
   *     erasure; a primitive type accepts its wrapper)
   */
  public final boolean accepts(Object value) {
    Class<?> r = rawType();
    if (r.isPrimitive()) {
      return java.lang.invoke.MethodType.methodType(r).wrap().returnType().isInstance(value);
    }
    return r.isInstance(value);
  }

  @Override
  public final boolean equals(Object o) {
    return o instanceof TypeRef<?> t && t.type.equals(type);
  }

  @Override
  public final int hashCode() {
    return type.hashCode();
  }

  @Override
  public final String toString() {
    return type.getTypeName();
  }

  private static Type checked(Type t) {
    if (t instanceof TypeVariable<?> || t instanceof WildcardType) {
      throw new IllegalArgumentException("a TypeRef needs a fully resolved type, but was '"
          + t.getTypeName() + "'");
    }
    if (t instanceof ParameterizedType p) {
      for (Type a : p.getActualTypeArguments()) {
        checked(a);
      }
    } else if (t instanceof GenericArrayType g) {
      checked(g.getGenericComponentType());
    }
    return t;
  }

  private static Class<?> raw(Type t) {
    if (t instanceof Class<?> c) {
      return c;
    }
    if (t instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    if (t instanceof GenericArrayType g) {
      return java.lang.reflect.Array.newInstance(raw(g.getGenericComponentType()), 0).getClass();
    }
    throw new IllegalArgumentException("unsupported type '" + t.getTypeName() + "'");
  }
}
