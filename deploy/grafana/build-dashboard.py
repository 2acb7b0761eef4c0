#!/usr/bin/env python3
"""Writes deploy/grafana/freshcache-dashboard.json, the Grafana dashboard operators import
(Dashboards > New > Import, pick the Prometheus data source). Edit the panels here, run
`python3 deploy/grafana/build-dashboard.py`, commit both files; ObservabilityFilesTest checks
that every metric the dashboard queries is one freshcache exports and that the JSON is current.
"""
import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
panels = []
_id = [0]
_y = [0]


def next_id():
    _id[0] += 1
    return _id[0]


def row(title):
    panels.append({"type": "row", "id": next_id(), "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": _y[0]}, "panels": []})
    _y[0] += 1


_x = [0]


def panel(title, targets, unit="short", kind="timeseries", w=8, h=8, description="",
          thresholds=None, extra=None):
    if _x[0] + w > 24:
        _x[0] = 0
        _y[0] += h
    p = {
        "type": kind, "id": next_id(), "title": title, "description": description,
        "datasource": DS,
        "gridPos": {"h": h, "w": w, "x": _x[0], "y": _y[0]},
        "targets": [{"datasource": DS, "refId": chr(65 + i), "expr": e, "legendFormat": l}
                    for i, (e, l) in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                        "tooltip": {"mode": "multi"}}
    if thresholds:
        p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if kind == "timeseries":
            p["fieldConfig"]["defaults"]["custom"] = {"thresholdsStyle": {"mode": "line"}}
    if extra:
        p.update(extra)
    panels.append(p)
    _x[0] += w


def end_row():
    _x[0] = 0
    _y[0] += 8


C = 'job=~"$client_job",entity=~"$entity"'
W = 'job=~"$writer_job"'
I = 'job=~"$cdc_job"'
R = "$__rate_interval"

row("Client (client-lib, in your application)")
G = 'job=~"$client_job",cache=~"$entity"'
panel("Hit ratio", [(
    f'sum by (cache) (rate(cache_gets_total{{{G},result="hit"}}[{R}])) / sum by (cache) (rate(cache_gets_total{{{G}}}[{R}]))',
    "{{cache}}")],
    unit="percentunit",
    description="Reads answered by the near cache or Redis (the standard cache_gets_total meter, cache = policy name); a read served by the loader while Redis was bypassed is a miss. The alert fires below 70%.",
    thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 0.7}])
panel("Reads per second by tier", [
    (f'sum by (entity, tier) (rate(cache_hit_total{{{C}}}[{R}]))', "hit {{entity}} {{tier}}"),
    (f'sum by (cache) (rate(cache_gets_total{{{G},result="miss"}}[{R}]))', "miss {{cache}}")], unit="reqps")
panel("Latency (p50, p99)", [
    (f'histogram_quantile(0.5, sum by (op, le) (rate(cache_latency_seconds_bucket{{job=~"$client_job"}}[{R}])))', "p50 {{op}}"),
    (f'histogram_quantile(0.99, sum by (op, le) (rate(cache_latency_seconds_bucket{{job=~"$client_job"}}[{R}])))', "p99 {{op}}")],
    unit="s", description="op=get: hits; op=load: misses that loaded; op=invalidate.")
end_row()
panel("Loader calls and leases", [
    (f'sum by (entity) (rate(cache_loader_calls_total{{{C}}}[{R}]))', "loader {{entity}}"),
    (f'sum by (entity) (rate(cache_lease_granted_total{{{C}}}[{R}]))', "lease granted {{entity}}"),
    (f'sum by (entity) (rate(cache_lease_busy_total{{{C}}}[{R}]))', "lease busy {{entity}}")], unit="ops")
panel("Fallbacks and shed reads", [
    (f'sum by (entity) (rate(cache_fallbacks_total{{{C}}}[{R}]))', "fallback {{entity}}"),
    (f'sum by (entity) (rate(cache_load_shed_total{{{C}}}[{R}]))', "shed {{entity}}")], unit="ops",
    description="Fallback: read served by the loader while Redis was bypassed. Shed: refused by the loader budget (LoadSheddingException).")
panel("Circuit breakers", [
    ('max by (instance) (cache_circuit_open{job=~"$client_job"})', "masters not closed {{instance}}"),
    ('max by (instance) (cache_circuit_state{job=~"$client_job"})', "worst state {{instance}} (0 closed, 1 open, 2 half-open)")],
    thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
end_row()
panel("Near cache", [
    (f'sum by (entity) (rate(cache_hit_total{{{C},tier="near"}}[{R}]))', "near hits/s {{entity}}"),
    ('sum by (instance) (cache_near_size{job=~"$client_job"})', "entries {{instance}}"),
    (f'sum by (instance) (rate(cache_near_flushes_total{{job=~"$client_job"}}[{R}]))', "flushes/s {{instance}}"),
    (f'sum by (instance, reason) (rate(cache_near_notices_lost_total{{job=~"$client_job"}}[{R}]))', "notices lost/s {{reason}} {{instance}}"),
    ('sum by (instance) (cache_near_channels_down{job=~"$client_job"})', "channels down {{instance}}")])
panel("Fills rejected, early refreshes, oversize", [
    (f'sum by (entity) (rate(cache_fill_rejected_total{{{C}}}[{R}]))', "fill rejected {{entity}}"),
    (f'sum by (entity) (rate(cache_early_refresh_total{{{C}}}[{R}]))', "early refresh {{entity}}"),
    (f'sum by (entity) (rate(cache_oversize_total{{{C}}}[{R}]))', "oversize {{entity}}")], unit="ops")
panel("Redis evictions and memory (redis_exporter)", [
    (f'sum by (instance) (rate(redis_evicted_keys_total[{R}]))', "evictions/s {{instance}}"),
    ('sum by (instance) (redis_memory_used_bytes)', "memory used {{instance}}")],
    description="From redis_exporter (docker-compose.yml runs it; job redis). The eviction alert fires above 100/s.",
    thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 100}])
end_row()
panel("Redis connections and replica acks", [
    ('sum by (instance) (redis_connections_active{job=~"$client_job"})', "connected {{instance}}"),
    (f'sum by (instance) (rate(cache_replica_ack_timeouts_total{{job=~"$client_job"}}[{R}]))', "ack timeouts/s {{instance}}")])
end_row()

row("cache-writer")
panel("Events applied per second", [
    (f'sum by (instance) (rate(freshcache_writer_events_applied_total{{{W}}}[{R}]))', "applied {{instance}}"),
    (f'sum by (instance) (rate(freshcache_writer_events_stale_total{{{W}}}[{R}]))', "stale (fenced) {{instance}}")], unit="ops")
panel("Commit → apply lag (histogram)", [
    (f'sum by (le) (increase(freshcache_writer_commit_to_apply_lag_seconds_bucket{{{W}}}[{R}]))', "{{le}}")],
    kind="heatmap", description="From the database commit to the apply in Redis, per CDC event.",
    extra={"options": {"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1,
                       "color": {"mode": "scheme", "scheme": "Oranges"}},
           "targets": [{"datasource": DS, "refId": "A", "format": "heatmap", "legendFormat": "{{le}}",
                        "expr": f'sum by (le) (increase(freshcache_writer_commit_to_apply_lag_seconds_bucket{{{W}}}[{R}]))'}]})
panel("Commit → apply lag (p50, p99) and produce → apply p99", [
    (f'histogram_quantile(0.5, sum by (le) (rate(freshcache_writer_commit_to_apply_lag_seconds_bucket{{{W}}}[{R}])))', "commit→apply p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(freshcache_writer_commit_to_apply_lag_seconds_bucket{{{W}}}[{R}])))', "commit→apply p99"),
    (f'histogram_quantile(0.99, sum by (le) (rate(freshcache_writer_produce_to_apply_lag_seconds_bucket{{{W}}}[{R}])))', "produce→apply p99")],
    unit="s")
end_row()
panel("Oldest unapplied event", [
    (f'max by (instance) (freshcache_writer_oldest_unapplied_age_seconds{{{W}}})', "{{instance}}")], unit="s",
    description="How long the oldest fetched event has waited to be applied; /health/ready is DOWN above WRITER_MAX_UNAPPLIED_AGE_MS (30 s).",
    thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 30}])
panel("Consumer lag (records)", [
    (f'sum by (group, topic) (freshcache_writer_consumer_lag_records{{{W}}})', "{{group}} {{topic}}")])
panel("Dead letters, downgrades and retries", [
    (f'sum by (instance) (increase(freshcache_writer_events_dead_lettered_total{{{W}}}[{R}]))', "dead-lettered {{instance}}"),
    (f'sum by (instance) (increase(freshcache_writer_events_downgraded_total{{{W}}}[{R}]))', "downgraded to invalidate {{instance}}"),
    (f'sum by (instance) (increase(freshcache_writer_batch_retries_total{{{W}}}[{R}]))', "batch retries {{instance}}")],
    thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
end_row()
panel("Batch apply time (p99)", [
    (f'histogram_quantile(0.99, sum by (instance, le) (rate(freshcache_writer_batch_apply_seconds_bucket{{{W}}}[{R}])))', "{{instance}}")], unit="s")
panel("Near-cache notices and namespace invalidations", [
    (f'sum by (instance) (rate(freshcache_writer_notices_published_total{{{W}}}[{R}]))', "notices/s {{instance}}"),
    (f'sum by (instance) (rate(freshcache_writer_namespace_keys_total{{{W}}}[{R}]))', "keys dropped by truncates/s {{instance}}")], unit="ops")
panel("Services up", [
    ('up{job=~"$writer_job|$cdc_job"}', "{{job}} {{instance}}")],
    thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}])
end_row()

row("cdc-ingest")
panel("Events produced per second", [
    (f'sum by (table, op) (rate(freshcache_cdc_events_produced_total{{{I}}}[{R}]))', "{{table}} {{op}}")], unit="ops")
panel("Commit → produce lag (p50, p99)", [
    (f'histogram_quantile(0.5, sum by (le) (rate(freshcache_cdc_commit_to_produce_lag_seconds_bucket{{{I}}}[{R}])))', "p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(freshcache_cdc_commit_to_produce_lag_seconds_bucket{{{I}}}[{R}])))', "p99")], unit="s")
panel("Replication slot lag (retained WAL)", [
    (f'max by (connector) (freshcache_cdc_slot_lag_bytes{{{I}}})', "{{connector}}")], unit="bytes",
    description="WAL PostgreSQL retains for the slot beyond its confirmed position. Debezium's heartbeat (every 1 s) moves the confirmed position while the captured tables are idle, so it stays near 0 on a healthy capture; a steady climb means cdc-ingest is stuck or gone.")
end_row()
panel("Engine up and errors", [
    (f'min by (connector) (freshcache_cdc_engine_up{{{I}}})', "engine up {{connector}}"),
    (f'sum by (type) (increase(freshcache_cdc_errors_total{{{I}}}[{R}]))', "errors {{type}}")])
panel("Rows skipped, truncates ignored, upserts sent as invalidations", [
    (f'sum by (connector) (rate(freshcache_cdc_rows_skipped_total{{{I}}}[{R}]))', "skipped {{connector}}"),
    (f'sum by (connector) (rate(freshcache_cdc_truncates_ignored_total{{{I}}}[{R}]))', "truncates ignored {{connector}}"),
    (f'sum by (reason) (rate(freshcache_cdc_upserts_uncarried_total{{{I}}}[{R}]))', "uncarried ({{reason}})"),
    (f'sum by (connector) (rate(freshcache_cdc_upserts_invalidated_total{{{I}}}[{R}]))', "TOAST → invalidate")], unit="ops")
panel("Changes per batch", [
    (f'sum(rate(freshcache_cdc_batch_size_sum{{{I}}}[{R}])) / sum(rate(freshcache_cdc_batch_size_count{{{I}}}[{R}]))', "mean")])
end_row()

row("Consistency (checker, freshness heartbeat)")
K = 'job=~"$checker_job"'
panel("Nines consistent within each window (checker)", [
    (f'min by (window) (freshcache_checker_nines{{{K}}})', "within {{window}}")],
    description="From the consistency checker (ops module): log10 of checked events over those whose key still held something older than the event's version at the window (window confirmed: confirmed against the database). 3 = 99.9%. With no failure the value is log10 of the checks (at least that many nines).",
    thresholds=[{"color": "red", "value": None}, {"color": "yellow", "value": 3}, {"color": "green", "value": 5}])
panel("Checks by window and result", [
    (f'sum by (window, result) (rate(freshcache_checker_checks_total{{{K}}}[{R}]))', "{{window}} {{result}}")], unit="ops",
    description="Each event's key is checked M after its commit; an apparent violation again at every longer window until it clears.")
panel("Violations (after the last window)", [
    (f'sum by (result) (increase(freshcache_checker_violations_total{{{K}}}[{R}]))', "{{result}}"),
    (f'max (freshcache_checker_pending{{{K}}})', "checks pending")],
    description="confirmed: the database shows the cached value stale (the checker logs event offset, fence, value headers, TTLs; freshcache inspect KEY shows the key now). refuted: the row changed meanwhile. unconfirmed: the confirmation rate limit or the database was unavailable. The alert fires on any confirmed one.",
    thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
end_row()
panel("Freshness heartbeat: commit → apply (cache-writer) and → notice (clients), p50/p99", [
    (f'histogram_quantile(0.5, sum by (le) (rate(freshcache_heartbeat_apply_lag_seconds_bucket{{{W}}}[{R}])))', "apply p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(freshcache_heartbeat_apply_lag_seconds_bucket{{{W}}}[{R}])))', "apply p99"),
    (f'histogram_quantile(0.99, sum by (le) (rate(freshcache_heartbeat_notice_lag_seconds_bucket{{job=~"$client_job"}}[{R}])))', "notice p99 (clients)")],
    unit="s", w=12,
    description="cdc-ingest commits a heartbeat row every CDC_HEARTBEAT_INTERVAL_MS (2 s) whether or not the application writes; its way through PostgreSQL → cdc-ingest → Kafka → cache-writer → Redis → near-cache notice is the pipeline's freshness when nothing else changes. The stalled alert fires when no heartbeat is applied for 2 minutes.")
panel("Near-cache sampler: nines consistent within each window (clients)", [
    ('min by (window) (cache_near_sample_nines{job=~"$client_job"})', "within {{window}}"),
    (f'sum (increase(cache_near_sample_violations_total{{job=~"$client_job",result="confirmed"}}[{R}]))', "confirmed violations")],
    w=12,
    description="Clients with NEAR_CACHE_SAMPLE_PER_S > 0 compare random near entries with the fence and value Redis holds; an entry Redis holds something newer for and that the near cache still serves at M and at each window counts against that window (the checker's formula). Confirmed = still held after the last window (against Redis: clients have no database).",
    thresholds=[{"color": "red", "value": None}, {"color": "yellow", "value": 3}, {"color": "green", "value": 5}])
panel("Heartbeats applied and near-cache hits refused for silence", [
    (f'sum by (instance) (rate(freshcache_heartbeat_apply_lag_seconds_count{{{W}}}[{R}]))', "heartbeats applied/s {{instance}}"),
    (f'sum by (instance) (rate(cache_near_silent_refusals_total{{job=~"$client_job"}}[{R}]))', "near hits refused (silent channel)/s {{instance}}")],
    unit="ops", w=12,
    description="Refusals: with NEAR_CACHE_SILENCE_BUDGET_MS a client reads Redis instead of its near cache while a notice channel has been silent longer than the budget.")
end_row()


def var(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query,
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}


dashboard = {
    "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                  "pluginId": "prometheus", "pluginName": "Prometheus"}],
    "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
                   {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
    "uid": "freshcache",
    "title": "freshcache",
    "description": "freshcache: client-lib reads, cache-writer applies, cdc-ingest capture, consistency (checker, freshness heartbeat). Metric names: ClientMeters, WriterMetricNames, CdcMetricNames, ConsistencyChecker.",
    "tags": ["freshcache", "redis", "kafka", "debezium"],
    "timezone": "browser",
    "schemaVersion": 38,
    "version": 1,
    "editable": True,
    "graphTooltip": 1,
    "refresh": "30s",
    "time": {"from": "now-1h", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1},
        var("client_job", "Application job", "label_values(cache_hit_total, job)"),
        var("entity", "Policy", 'label_values(cache_hit_total{job=~"$client_job"}, entity)'),
        var("writer_job", "cache-writer job", "label_values(freshcache_writer_events_applied_total, job)"),
        var("cdc_job", "cdc-ingest job", "label_values(freshcache_cdc_engine_up, job)"),
        var("checker_job", "Consistency checker job", "label_values(freshcache_checker_pending, job)"),
    ]},
    "annotations": {"list": []},
    "links": [],
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "freshcache-dashboard.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(out)
