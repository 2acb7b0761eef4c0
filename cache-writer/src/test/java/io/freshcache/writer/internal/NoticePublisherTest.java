package io.freshcache.writer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.freshcache.protocol.CacheKey;
import io.freshcache.protocol.NoticeChannels;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class NoticePublisherTest {

  @Property(tries = 50)
  void everyKeyIsNamedOnceOnItsOwnChannelAndNoNoticeIsTooLarge(@ForAll @IntRange(min = 0, max = 5000) int n,
      @ForAll @IntRange(min = 1, max = 3) int repeats) {
    List<CacheKey> keys = new ArrayList<>();
    for (int r = 0; r < repeats; r++) {
      for (int i = 0; i < n; i++) {
        keys.add(CacheKey.of("svc", "ent", i));
      }
    }
    List<NoticePublisher.Notice> notices = NoticePublisher.group(keys);
    Set<CacheKey> named = new HashSet<>();
    int total = 0;
    for (NoticePublisher.Notice notice : notices) {
      assertThat(notice.keys()).isNotEmpty().hasSizeLessThanOrEqualTo(NoticePublisher.MAX_KEYS_PER_NOTICE);
      for (CacheKey k : notice.keys()) {
        assertThat(NoticeChannels.indexOf(k)).isEqualTo(notice.channel());
        named.add(k);
        total++;
      }
    }
    assertThat(total).as("each key once").isEqualTo(n);
    assertThat(named).hasSize(n);
    if (n > 0 && n <= NoticePublisher.MAX_KEYS_PER_NOTICE) {
      assertThat(notices.size()).as("one notice per channel").isLessThanOrEqualTo(NoticeChannels.COUNT);
    }
  }
}
