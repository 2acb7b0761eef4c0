package io.freshcache.cdc;

/**
 * A test's own event topic (three partitions) and sequence table, named by a unique suffix that
 * also names the connector's slot and publication ({@code fc_it_<suffix>}, as
 * {@link StackSettings#config} builds them); {@link #drop()} removes all of it.
 *
 * @param suffix the unique suffix
 * @param topic the event topic, {@code cdc-it-<suffix>}
 * @param table the sequence table ({@link ChangeStream#createTable}), {@code public.cdc_it_seq_<suffix>}
 */
record StreamFixture(String suffix, String topic, String table) {

  static StreamFixture create() throws Exception {
    String suffix = StackSettings.uniqueSuffix();
    StreamFixture f = new StreamFixture(suffix, "cdc-it-" + suffix, "public.cdc_it_seq_" + suffix);
    EventTail.createTopic(f.topic, 3);
    ChangeStream.createTable(f.table);
    return f;
  }

  void drop() throws Exception {
    MappingIT.sql("DROP TABLE IF EXISTS " + table);
    StackSettings.dropSlotAndPublication("fc_it_" + suffix, "fc_it_" + suffix);
    EventTail.deleteTopic(topic);
  }
}
