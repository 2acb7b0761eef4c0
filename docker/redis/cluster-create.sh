#!/usr/bin/env bash
# One-shot of docker-compose.yml (service redis-cluster-create): forms the Redis Cluster from the
# nodes in REDIS_NODES and waits until it is ready, the way dev/stack's up_redis does:
#   - already ready: nothing to do;
#   - every node blank: redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes;
#   - every node knows all nodes (restart from nodes-*.conf): wait for the cluster to reform;
#     if it has not within REFORM_TIMEOUT_S, or the nodes are mixed (e.g. one volume was
#     removed), reset every node (FLUSHALL + CLUSTER RESET HARD) and create it anew. The nodes run
#     with --save '' and --appendonly no, so no data survives a node restart anyway.
# Ready: on every node cluster_state:ok, 16384 slots ok, all nodes known, none flagged as failing,
# and every replica's master_link_status:up.
set -euo pipefail

IFS=, read -r -a NODES <<<"${REDIS_NODES:?REDIS_NODES must list the nodes as host:port,host:port,...}"
READY_TIMEOUT_S=${FRESHCACHE_READY_TIMEOUT_S:-60}
REFORM_TIMEOUT_S=20
N=${#NODES[@]}

say() { printf 'redis-cluster-create: %s\n' "$*"; }
die() { printf 'redis-cluster-create: error: %s\n' "$*" >&2; exit 1; }
rcli() { local node=$1; shift; timeout 3 redis-cli -h "${node%:*}" -p "${node##*:}" "$@" 2>&1 | tr -d '\r'; }
field() { sed -n "s/^$1://p" <<<"$2" | head -1; }

((N >= 6)) || die "REDIS_NODES needs at least 6 nodes (3 masters, 3 replicas) but has $N: ${NODES[*]}"

wait_ping() {
  local node deadline=$((SECONDS + READY_TIMEOUT_S))
  for node in "${NODES[@]}"; do
    until [[ $(rcli "$node" ping) == PONG ]]; do
      ((SECONDS < deadline)) || die "node $node does not answer PING after ${READY_TIMEOUT_S}s"
      sleep 0.2
    done
  done
}

PROBLEM=
check() {
  local node info nodes repl
  for node in "${NODES[@]}"; do
    info=$(rcli "$node" cluster info)
    if [[ $info != *cluster_state* ]]; then PROBLEM="$node does not answer (${info:0:80})"; return 1; fi
    if [[ $(field cluster_state "$info") != ok ]]; then
      PROBLEM="$node has cluster_state:$(field cluster_state "$info")"; return 1
    fi
    if [[ $(field cluster_slots_ok "$info") != 16384 ]]; then
      PROBLEM="$node has $(field cluster_slots_ok "$info") of 16384 slots ok"; return 1
    fi
    if [[ $(field cluster_known_nodes "$info") != "$N" ]]; then
      PROBLEM="$node knows $(field cluster_known_nodes "$info") of $N nodes"; return 1
    fi
    nodes=$(rcli "$node" cluster nodes)
    if grep -qE '^[^ ]+ [^ ]+ [^ ]*fail' <<<"$nodes"; then
      PROBLEM="$node still flags a node as failing"; return 1
    fi
    repl=$(rcli "$node" info replication)
    if [[ $(field role "$repl") == slave && $(field master_link_status "$repl") != up ]]; then
      PROBLEM="replica $node has master_link_status:$(field master_link_status "$repl")"; return 1
    fi
  done
  PROBLEM=
}

wait_ready() {
  local deadline=$((SECONDS + $1))
  until check; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# blank: no node knows another and no slot is assigned; formed: every node knows all nodes.
kind() {
  local node info blank=0 formed=0
  for node in "${NODES[@]}"; do
    info=$(rcli "$node" cluster info)
    if [[ $(field cluster_known_nodes "$info") == 1 && $(field cluster_slots_assigned "$info") == 0 ]]; then
      blank=$((blank + 1))
    elif [[ $(field cluster_known_nodes "$info") == "$N" ]]; then
      formed=$((formed + 1))
    fi
  done
  if ((blank == N)); then echo blank; elif ((formed == N)); then echo formed; else echo mixed; fi
}

reset_all() {
  local node out
  for node in "${NODES[@]}"; do
    rcli "$node" flushall >/dev/null || true # a replica refuses (READONLY); its reset flushes it
    out=$(rcli "$node" cluster reset hard)
    [[ $out == OK ]] || die "CLUSTER RESET HARD on $node failed: $out"
  done
}

wait_ping
if check; then
  say "cluster already up and ready (${NODES[*]})"
  exit 0
fi
kind=$(kind)
if [[ $kind == formed ]] && ! wait_ready "$REFORM_TIMEOUT_S"; then
  say "cluster did not reform within ${REFORM_TIMEOUT_S}s ($PROBLEM): resetting the nodes and creating it anew"
  reset_all
  kind=blank
fi
if [[ $kind == mixed ]]; then
  say "the nodes do not form one cluster: resetting them and creating it anew"
  reset_all
  kind=blank
fi
if [[ $kind == blank ]]; then
  redis-cli --cluster create "${NODES[@]}" --cluster-replicas 1 --cluster-yes </dev/null \
    || die "redis-cli --cluster create failed"
  say "cluster created"
fi
wait_ready "$READY_TIMEOUT_S" || die "cluster not ready after ${READY_TIMEOUT_S}s: $PROBLEM"
say "cluster ready (${NODES[*]})"
