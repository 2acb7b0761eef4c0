package io.freshcache.spring.cache;

import io.freshcache.client.TypeRef;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.springframework.aop.support.AopUtils;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheOperationInvocationContext;
import org.springframework.cache.interceptor.SimpleCacheResolver;
import org.springframework.core.ResolvableType;

/**
 * Resolves caches as Spring's default resolver does, and gives each freshcache cache the
 * annotated method's generic return type, so {@code List<Product> top()} reads
 * {@code List<Product>} back from Redis rather than a list of maps. {@code Optional<T>} and
 * {@code CompletionStage<T>} return types give {@code T}. A return type with unresolved type
 * variables falls back to its erasure, a {@code void} method to the cache's configured value
 * type.
 */
public class FreshcacheCacheResolver extends SimpleCacheResolver {
  /** @param cacheManager the cache manager */
  public FreshcacheCacheResolver(CacheManager cacheManager) {
    super(cacheManager);
  }

  @Override
  public Collection<? extends Cache> resolveCaches(CacheOperationInvocationContext<?> context) {
    Collection<? extends Cache> caches = super.resolveCaches(context);
    TypeRef<?> type = returnType(context.getMethod(), context.getTarget());
    if (type == null) {
      return caches;
    }
    List<Cache> out = new ArrayList<>(caches.size());
    for (Cache c : caches) {
      FreshcacheCache f = FreshcacheCacheManager.cast(c);
      out.add(f == null ? c : f.withType(type));
    }
    return out;
  }

  /** @return the value type of {@code method}, or {@code null} if it returns nothing */
  static TypeRef<?> returnType(Method method, Object target) {
    Class<?> targetClass = target == null ? method.getDeclaringClass() : AopUtils.getTargetClass(target);
    ResolvableType rt = ResolvableType.forMethodReturnType(method, targetClass);
    Class<?> raw = rt.resolve(Object.class);
    if (raw == void.class || raw == Void.class) {
      return null;
    }
    if (raw == Optional.class || CompletionStage.class.isAssignableFrom(raw)) {
      rt = rt.as(raw == Optional.class ? Optional.class : CompletionStage.class).getGeneric(0);
    }
    if (rt.resolve() != null && rt.resolve().isPrimitive()) {
      return TypeRef.of(rt.resolve());
    }
    Type t = rt.hasUnresolvableGenerics() ? rt.resolve(Object.class) : resolved(rt);
    try {
      return TypeRef.of(t);
    } catch (IllegalArgumentException e) {
      return TypeRef.of(rt.resolve(Object.class));
    }
  }

  /** A fully resolved reflective type of {@code rt} (type variables replaced by their bindings). */
  private static Type resolved(ResolvableType rt) {
    Class<?> raw = rt.resolve(Object.class);
    if (!rt.hasGenerics()) {
      return raw;
    }
    ResolvableType[] generics = rt.getGenerics();
    Type[] args = new Type[generics.length];
    for (int i = 0; i < generics.length; i++) {
      args[i] = resolved(generics[i]);
    }
    return new ParameterizedType() {
      @Override
      public Type[] getActualTypeArguments() {
        return args.clone();
      }

      @Override
      public Type getRawType() {
        return raw;
      }

      @Override
      public Type getOwnerType() {
        return raw.getDeclaringClass();
      }

      @Override
      public boolean equals(Object o) {
        return o instanceof ParameterizedType p && raw.equals(p.getRawType())
            && java.util.Arrays.equals(args, p.getActualTypeArguments())
            && java.util.Objects.equals(getOwnerType(), p.getOwnerType());
      }

      @Override
      public int hashCode() {
        // as the JDK's ParameterizedTypeImpl, so equal types hash alike
        return java.util.Arrays.hashCode(args) ^ java.util.Objects.hashCode(getOwnerType()) ^ raw.hashCode();
      }

      @Override
      public String getTypeName() {
        StringBuilder sb = new StringBuilder(raw.getTypeName()).append('<');
        for (int i = 0; i < args.length; i++) {
          sb.append(i == 0 ? "" : ", ").append(args[i].getTypeName());
        }
        return sb.append('>').toString();
      }

      @Override
      public String toString() {
        return getTypeName();
      }
    };
  }
}
