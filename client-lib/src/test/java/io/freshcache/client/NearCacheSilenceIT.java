package io.freshcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link CacheClientConfig.Builder#nearCacheSilenceBudget}: a client refuses near-cache hits of a
 * notice channel that has been silent for longer than the budget (the read goes to Redis and is
 * counted in {@code cache.near.silent.refusals}), and serves them again once the channel is heard
 * (here: another client's invalidation of a key on the same channel). Without the budget the same
 * silent read is a near-cache hit.
 */
class NearCacheSilenceIT {
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  static final CachePolicy NEAR = CachePolicy.PRODUCT_CATALOG.toBuilder().nearCache(true)
      .nearCacheTtl(Duration.ofMinutes(10)).build();

  static double refusals(CacheClient c) {
    return c.meters().get("cache.near.silent.refusals").counter().count();
  }

  static double nearHits(CacheClient c) {
    return c.stats().nearHits();
  }

  @Test
  void hitsOfASilentChannelFailClosedToRedisAndComeBackWhenItIsHeard() {
    CacheClientConfig base = ItClients.patient(CacheClientConfig.fromEnv());
    String k = "test:silence:" + RUN + "-a";
    int ch = NoticeChannels.indexOf(CacheKey.parse(k));
    String sameChannel = null;
    for (int i = 0; sameChannel == null; i++) {
      String c = "test:silence:" + RUN + "-b" + i;
      if (NoticeChannels.indexOf(CacheKey.parse(c)) == ch) {
        sameChannel = c;
      }
    }
    try (CacheClient budgeted = CacheClient.create(base.toBuilder().nearCacheSilenceBudget(Duration.ofMillis(300)).build());
        CacheClient unbudgeted = CacheClient.create(base);
        CacheClient other = CacheClient.create(base.toBuilder().replicaAcks(0).build())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> NoticeWatchdogIT.nearReady(budgeted) && NoticeWatchdogIT.nearReady(unbudgeted));
      AtomicInteger loads = new AtomicInteger();
      for (CacheClient c : new CacheClient[] {budgeted, unbudgeted}) {
        assertThat(c.getOrLoad(k, String.class, NEAR, () -> "v" + loads.incrementAndGet())).isNotNull();
      }
      // silent for longer than the budget: the budgeted client goes to Redis, the other hits.
      // The channels are shared by everything on the stack, so wait for a silence rather than
      // sleep past the budget (another process's notice on this channel restarts the clock)
      await().pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(20))
          .until(() -> budgeted.nearSilentNanos(k) > Duration.ofMillis(350).toNanos());
      double hitsBefore = nearHits(budgeted);
      String v = budgeted.getOrLoad(k, String.class, NEAR, () -> "never");
      assertThat(v).isEqualTo("v1");
      assertThat(refusals(budgeted)).isGreaterThanOrEqualTo(1);
      assertThat(nearHits(budgeted)).isEqualTo(hitsBefore);
      double otherHits = nearHits(unbudgeted);
      assertThat(unbudgeted.getOrLoad(k, String.class, NEAR, () -> "never")).isEqualTo("v1");
      assertThat(nearHits(unbudgeted)).isEqualTo(otherHits + 1);
      assertThat(refusals(unbudgeted)).isZero();

      // a notice on the channel: hits are served again within the budget
      other.invalidate(sameChannel);
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        double h = nearHits(budgeted);
        assertThat(budgeted.getOrLoad(k, String.class, NEAR, () -> "never")).isEqualTo("v1");
        assertThat(nearHits(budgeted)).isEqualTo(h + 1);
      });
    }
  }
}
