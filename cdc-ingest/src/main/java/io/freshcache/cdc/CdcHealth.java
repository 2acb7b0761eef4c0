package io.freshcache.cdc;

/**
 * What {@code GET /health} answers: up while the engine runs and PostgreSQL streams to it (the
 * replication slot is active). A failed engine is down for good (the service exits and a
 * supervisor restarts it); a slot that is briefly inactive (PostgreSQL restarting, the connector
 * reconnecting) is down until the stream resumes.
 *
 * @param up the engine runs and the slot is active
 * @param engine {@code running}, {@code starting}, {@code stopped} or {@code failed}
 * @param slotActive the replication slot is held by our walsender
 * @param slotLagBytes WAL bytes the slot retains beyond its confirmed position, -1 if unknown
 * @param eventsProduced events Kafka acknowledged since start
 * @param lastCommitToProduceMs the last batch's commit-to-acknowledgement lag, -1 before the first
 * @param problem why it is down, or null
 */
public record CdcHealth(boolean up, String engine, boolean slotActive, long slotLagBytes,
    long eventsProduced, double lastCommitToProduceMs, String problem)
    implements io.freshcache.protocol.ServiceEndpoints.Health {

  /**
   * What {@code /health/live} answers: alive while the engine has not failed or stopped, even
   * while the replication slot is briefly inactive (PostgreSQL restarting), so a liveness probe
   * does not restart a capture that is reconnecting; {@code /health/ready} and {@code /health}
   * follow {@link #up()}.
   *
   * @return false once the engine failed or stopped
   */
  @Override
  public boolean live() {
    return "running".equals(engine) || "starting".equals(engine);
  }

  /** @return the answer as a JSON object, e.g. {@code {"status":"UP","engine":"running",...}} */
  public String json() {
    StringBuilder sb = new StringBuilder(160).append("{\"status\":\"")
        .append(up ? "UP" : "DOWN").append("\",\"engine\":\"").append(engine)
        .append("\",\"slotActive\":").append(slotActive)
        .append(",\"slotLagBytes\":").append(slotLagBytes)
        .append(",\"eventsProduced\":").append(eventsProduced)
        .append(",\"lastCommitToProduceMs\":").append(lastCommitToProduceMs);
    if (problem != null) {
      sb.append(",\"problem\":\"").append(escape(problem)).append('"');
    }
    return sb.append('}').toString();
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        default -> {
          if (ch < 0x20) {
            sb.append(String.format("\\u%04x", (int) ch));
          } else {
            sb.append(ch);
          }
        }
      }
    }
    return sb.toString();
  }
}
