# shellcheck shell=bash
# Sourced by dev/stack (not run on its own): the certificates and the optional Redis servers —
# the TLS + ACL cluster's helpers (the cluster itself is dev/stack's Redis Cluster code run on
# another group), the standalone master/replica and the Sentinel group. docs/dev-stack.md
# describes what they start; the settings they use are read in dev/stack.

# ---------------------------------------------------------------------------------------------
# Certificates (one dev CA; see docs/dev-stack.md)

TLS_FILES=(ca.crt ca.key server.crt server.key client.crt client.key wrong-ca.crt wrong-ca.key
  store-password truststore.p12 wrong-truststore.p12 client.p12 server.p12)
TLS_DAYS=9999

tls_openssl_conf() {
  cat <<'CONF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = freshcache dev
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CONF
}

# (The certificate functions run where `set -e` does not apply, hence the explicit returns.)

# tls_new_ca NAME CN: a self-signed CA NAME.crt / NAME.key.
tls_new_ca() {
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$TLS_DAYS" -subj "/CN=$2" \
    -config "$TLS_DIR/openssl.cnf" -extensions ca -keyout "$TLS_DIR/$1.key" -out "$TLS_DIR/$1.crt"
}

# tls_new_cert NAME CN EXTENSIONS: NAME.crt / NAME.key signed by ca.
tls_new_cert() {
  openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -config "$TLS_DIR/openssl.cnf" \
    -keyout "$TLS_DIR/$1.key" -out "$TLS_DIR/$1.csr" || return 1
  openssl x509 -req -sha256 -days "$TLS_DAYS" -in "$TLS_DIR/$1.csr" -CA "$TLS_DIR/ca.crt" \
    -CAkey "$TLS_DIR/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
    -extfile "$TLS_DIR/openssl.cnf" -extensions "$3" -out "$TLS_DIR/$1.crt" || return 1
  rm -f "$TLS_DIR/$1.csr"
}

# certs_generate: makes the missing files (certs_ensure logs its output).
certs_generate() {
  local f new_ca=0 stores=0
  if [[ ! -s $TLS_DIR/ca.crt || ! -s $TLS_DIR/ca.key ]]; then
    tls_new_ca ca "freshcache dev CA" || return 1
    new_ca=1
  fi
  if ((new_ca)) || [[ ! -s $TLS_DIR/server.crt || ! -s $TLS_DIR/server.key ]]; then
    tls_new_cert server localhost server || return 1
    stores=1
  fi
  if ((new_ca)) || [[ ! -s $TLS_DIR/client.crt || ! -s $TLS_DIR/client.key ]]; then
    tls_new_cert client freshcache-client client || return 1
    stores=1
  fi
  if [[ ! -s $TLS_DIR/wrong-ca.crt || ! -s $TLS_DIR/wrong-ca.key ]]; then
    tls_new_ca wrong-ca "unrelated dev CA (wrong-CA tests)" || return 1
    stores=1
  fi
  chmod 600 "$TLS_DIR"/*.key && chmod 644 "$TLS_DIR"/*.crt || return 1
  for f in store-password truststore.p12 wrong-truststore.p12 client.p12 server.p12; do
    [[ -s $TLS_DIR/$f ]] || stores=1
  done
  [[ $(cat "$TLS_DIR/store-password" 2>/dev/null) == "$TLS_STORE_PASSWORD" ]] || stores=1
  ((stores)) || return 0
  printf '%s\n' "$TLS_STORE_PASSWORD" >"$TLS_DIR/store-password" || return 1
  rm -f "$TLS_DIR/truststore.p12" "$TLS_DIR/wrong-truststore.p12"
  keytool -importcert -noprompt -alias freshcache-dev-ca -file "$TLS_DIR/ca.crt" \
    -keystore "$TLS_DIR/truststore.p12" -storetype PKCS12 -storepass "$TLS_STORE_PASSWORD" || return 1
  keytool -importcert -noprompt -alias wrong-ca -file "$TLS_DIR/wrong-ca.crt" \
    -keystore "$TLS_DIR/wrong-truststore.p12" -storetype PKCS12 -storepass "$TLS_STORE_PASSWORD" || return 1
  for f in client server; do
    openssl pkcs12 -export -name "freshcache-$f" -in "$TLS_DIR/$f.crt" -inkey "$TLS_DIR/$f.key" \
      -certfile "$TLS_DIR/ca.crt" -passout "file:$TLS_DIR/store-password" -out "$TLS_DIR/$f.p12" || return 1
  done
}

# certs_ensure: creates what is missing under $TLS_DIR; a new CA means new certificates and stores.
# Existing files are kept, so servers that run keep matching certificates.
certs_ensure() {
  local f missing=() t0 log=$LOGS/certs.log
  mkdir -p "$LOGS"
  for f in "${TLS_FILES[@]}"; do [[ -s $TLS_DIR/$f ]] || missing+=("$f"); done
  if [[ -s $TLS_DIR/store-password && $(cat "$TLS_DIR/store-password") != "$TLS_STORE_PASSWORD" ]]; then
    missing+=(store-password)
  fi
  ((${#missing[@]} == 0)) && return 0
  t0=$(now_us)
  ((${#TLS_STORE_PASSWORD} >= 6)) \
    || die "certs: FRESHCACHE_TLS_STORE_PASSWORD must have at least 6 characters (keytool's minimum) but has ${#TLS_STORE_PASSWORD}"
  command -v openssl >/dev/null || apt_install "certs: openssl missing" openssl
  command -v keytool >/dev/null || ensure_java_tools
  mkdir -p "$TLS_DIR"
  chmod 755 "$TLS_DIR"
  tls_openssl_conf >"$TLS_DIR/openssl.cnf"
  if ! certs_generate >>"$log" 2>&1 \
      || ! openssl verify -CAfile "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt" "$TLS_DIR/client.crt" >>"$log" 2>&1; then
    tail_log "$log"
    die "certs: generating certificates in $TLS_DIR failed; log: $log"
  fi
  say "certs: created ${missing[*]} in $TLS_DIR in $(since "$t0")"
}

status_certs() {
  local f missing=()
  for f in "${TLS_FILES[@]}"; do [[ -s $TLS_DIR/$f ]] || missing+=("$f"); done
  if ((${#missing[@]} == ${#TLS_FILES[@]})); then
    printf '%-16s %-8s %s\n' certs absent "(created by up certs/redis-tls/kafka/postgres) $TLS_DIR"
  elif ((${#missing[@]})); then
    printf '%-16s %-8s missing %s in %s\n' certs partial "${missing[*]}" "$TLS_DIR"
  else
    printf '%-16s %-8s %s, CA valid until %s\n' certs present "$TLS_DIR" \
      "$(openssl x509 -noout -enddate -in "$TLS_DIR/ca.crt" 2>/dev/null | cut -d= -f2)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis groups: dev/stack's Redis Cluster functions work on the group that redis_group selects.

REDIS_TLS_ACL_COPY=$STATE/redis-tls/users.acl

redis_group() {
  case $1 in
    plain) RG_NAME=redis RG_TLS=0 RG_SETTING=FRESHCACHE_REDIS_PORTS
      REDIS_PORTS=("${REDIS_CLUSTER_PORTS[@]}") ;;
    tls) RG_NAME=redis-tls RG_TLS=1 RG_SETTING=FRESHCACHE_REDIS_TLS_PORTS
      REDIS_PORTS=("${REDIS_TLS_PORTS[@]}") ;;
    standalone) RG_NAME=redis-standalone RG_TLS=0 RG_SETTING=FRESHCACHE_REDIS_STANDALONE_PORTS
      REDIS_PORTS=("${REDIS_STANDALONE_PORTS[@]}") ;;
    sentinel) RG_NAME=redis-sentinel RG_TLS=0 RG_SETTING=FRESHCACHE_SENTINEL_REDIS_PORTS
      REDIS_PORTS=("${SENTINEL_REDIS_PORTS[@]}") ;;
  esac
}

# redis_tls_node_flags PORT: sets `tls` to the redis-server options that make a cluster node
# TLS only (port 0), also on the cluster bus and for replication, with ACL users. A client
# certificate is asked for but optional, so both server-only TLS and mutual TLS work. A replica
# authenticates to its master as the ACL admin user; that password goes in a file (--include),
# not on the command line.
redis_tls_node_flags() {
  local p=$1
  (umask 077; printf 'masteruser %s\nmasterauth %s\n' "$REDIS_ADMIN_USER" "$REDIS_ADMIN_PASSWORD" \
    >"$STATE/$RG_NAME/$p/auth.conf")
  tls=(--port 0 --tls-port "$p" --tls-cluster yes --tls-replication yes
    --tls-cert-file "$TLS_DIR/server.crt" --tls-key-file "$TLS_DIR/server.key"
    --tls-ca-cert-file "$TLS_DIR/ca.crt" --tls-auth-clients optional
    --aclfile "$REDIS_TLS_ACL_COPY" --include "$STATE/$RG_NAME/$p/auth.conf")
}

# The ACL file of the repo (comments allowed) becomes $STATE/redis-tls/users.acl without them
# (Redis 7.0 rejects comments in an aclfile). A changed file is loaded into running nodes.
redis_tls_prepare() {
  local new=$REDIS_TLS_ACL_COPY.new p out
  certs_ensure
  [[ -r $REDIS_ACL_FILE ]] || die "redis-tls: ACL file '$REDIS_ACL_FILE' (FRESHCACHE_REDIS_ACL_FILE) is not readable"
  grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$REDIS_ACL_FILE" >"$new" || true
  awk -v u="$REDIS_ADMIN_USER" -v pw=">$REDIS_ADMIN_PASSWORD" '$1 == "user" && $2 == u {
      on = ok = 0; for (i = 3; i <= NF; i++) { if ($i == "on") on = 1; if ($i == pw) ok = 1 }
      if (on && ok) found = 1 } END { exit !found }' "$new" \
    || die "redis-tls: ACL file '$REDIS_ACL_FILE' (FRESHCACHE_REDIS_ACL_FILE) must enable user '$REDIS_ADMIN_USER' with the password of FRESHCACHE_REDIS_ADMIN_PASSWORD (dev/stack sets up and checks the cluster as that user)"
  chmod 600 "$new"
  if [[ -f $REDIS_TLS_ACL_COPY ]] && cmp -s "$new" "$REDIS_TLS_ACL_COPY"; then
    rm -f "$new"
    return 0
  fi
  mv "$new" "$REDIS_TLS_ACL_COPY"
  for p in "${REDIS_PORTS[@]}"; do
    redis_pid "$p" >/dev/null || continue
    out=$(rcli "$p" acl load)
    [[ $out == OK ]] || die "redis-tls: ACL LOAD of $REDIS_ACL_FILE on $HOST:$p failed: $out"
    say "redis-tls: loaded the changed ACL file into node $p"
  done
}

# ACL user's password from the ACL file (first >password), for `env`.
acl_password() {
  [[ -r $REDIS_ACL_FILE ]] || return 0
  awk -v u="$1" '$1 == "user" && $2 == u { for (i = 3; i <= NF; i++) if ($i ~ /^>/) { print substr($i, 2); exit } }' "$REDIS_ACL_FILE"
}

# ---------------------------------------------------------------------------------------------
# Standalone Redis (a master and its replicas, no cluster) and the Sentinel group

# plain_start_node PORT [MASTER_PORT]: a non-cluster node of the current group.
plain_start_node() {
  local p=$1 master=${2:-} repl=()
  [[ -z $master ]] || repl=(--replicaof "$HOST" "$master")
  mkdir -p "$STATE/$RG_NAME/$p"
  (close_fds; exec redis-server --bind "$HOST" --port "$p" --protected-mode no \
    --repl-diskless-sync-delay 0 --save '' --appendonly no "${repl[@]}" \
    --daemonize yes --pidfile "$(redis_pidfile "$p")" --logfile "$(redis_log "$p")" \
    --dir "$STATE/$RG_NAME/$p") </dev/null >>"$(redis_log "$p")" 2>&1 \
    || die "$RG_NAME: redis-server on port $p failed to start; log: $(redis_log "$p")"
}

# check_plain_ports MIN: the current group's ports are ports, at least MIN, none twice.
check_plain_ports() {
  local p seen=" "
  ((${#REDIS_PORTS[@]} >= $1)) || die "$RG_NAME: $RG_SETTING needs at least $1 ports but was '${REDIS_PORTS[*]}'"
  for p in "${REDIS_PORTS[@]}"; do
    is_port "$p" || die "$RG_NAME: $RG_SETTING must hold ports but has '$p'"
    [[ $seen != *" $p "* ]] || die "$RG_NAME: $RG_SETTING lists port $p twice"
    seen+="$p "
  done
}

# replication_check MASTER: MASTER is a master, every other node of the group its replica with the
# link up. Problem in REDIS_PROBLEM / REDIS_PROBLEM_PORT.
replication_check() {
  local master=$1 p repl
  for p in "${REDIS_PORTS[@]}"; do
    REDIS_PROBLEM_PORT=$p
    repl=$(rcli "$p" info replication)
    if [[ $repl != *role:* ]]; then REDIS_PROBLEM="$HOST:$p does not answer (${repl:0:80})"; return 1; fi
    if [[ $p == "$master" ]]; then
      [[ $(field role "$repl") == master ]] || { REDIS_PROBLEM="$HOST:$p should be the master but is $(field role "$repl")"; return 1; }
    elif [[ $(field role "$repl") != slave || $(field master_port "$repl") != "$master" ]]; then
      REDIS_PROBLEM="$HOST:$p should replicate $master but is $(field role "$repl") of '$(field master_port "$repl")'"; return 1
    elif [[ $(field master_link_status "$repl") != up ]]; then
      REDIS_PROBLEM="replica $HOST:$p has master_link_status:$(field master_link_status "$repl")"; return 1
    fi
  done
  REDIS_PROBLEM=
}

# group_start_missing MASTER: starts the group's stopped nodes (MASTER as master, the others as
# its replicas) after checking their ports are free.
group_start_missing() {
  local master=$1 p to_start=() t0
  t0=$(now_us)
  for p in "${REDIS_PORTS[@]}"; do redis_pid "$p" >/dev/null || to_start+=("$p"); done
  ((${#to_start[@]})) || return 0
  for p in "${to_start[@]}"; do require_free_port "$RG_NAME" "$p" "$RG_SETTING" "$(redis_log "$p")"; done
  for p in "${to_start[@]}"; do
    if [[ $p == "$master" ]]; then plain_start_node "$p"; else plain_start_node "$p" "$master"; fi
  done
  redis_wait_ping "${to_start[@]}"
  say "$RG_NAME nodes ${to_start[*]} started in $(since "$t0") (master $master)"
}

up_standalone() {
  local t0 master deadline
  t0=$(now_us)
  ensure_redis_tools
  redis_group standalone
  check_plain_ports 1
  master=${REDIS_PORTS[0]}
  group_start_missing "$master"
  deadline=$(( $(now_us) + READY_TIMEOUT_S * 1000000 ))
  until replication_check "$master"; do
    if (( $(now_us) > deadline )); then
      tail_log "$(redis_log "$REDIS_PROBLEM_PORT")"
      die "redis-standalone: not ready after ${READY_TIMEOUT_S}s: $REDIS_PROBLEM; log: $(redis_log "$REDIS_PROBLEM_PORT")"
    fi
    sleep 0.1
  done
  say "redis-standalone ready in $(since "$t0") (master $HOST:$master, replicas ${REDIS_PORTS[*]:1})"
}

status_plain_group() {
  local label=$1 master=$2 p pid running=0 repl detail state=running ready=ready rc=0
  for p in "${REDIS_PORTS[@]}"; do redis_pid "$p" >/dev/null && running=$((running + 1)); done
  if ((running == 0)); then
    printf '%-16s %-8s %-10s ports %s (optional)\n' "$label" stopped "not ready" "${REDIS_PORTS[*]}"
    return 2
  fi
  ((running == ${#REDIS_PORTS[@]})) || state=partial
  if [[ -z $master ]] || ! replication_check "$master"; then ready="not ready: ${REDIS_PROBLEM:-no master known}"; rc=1; fi
  printf '%-16s %-8s %-10s ports %s\n' "$label" "$state" "$ready" "${REDIS_PORTS[*]}"
  for p in "${REDIS_PORTS[@]}"; do
    if pid=$(redis_pid "$p"); then
      repl=$(rcli "$p" info replication)
      if [[ $(field role "$repl") == slave ]]; then
        detail="replica of $(field master_port "$repl"), link $(field master_link_status "$repl")"
      else
        detail="master, $(field connected_slaves "$repl") replica(s)"
      fi
      printf '  %-7s running  pid %-8s %s\n' "$p" "$pid" "$detail"
    else
      printf '  %-7s stopped\n' "$p"
    fi
  done
  return $rc
}

status_standalone() { redis_group standalone; status_plain_group redis-standalone "${REDIS_PORTS[0]}"; }

# -- Sentinel: SENTINEL_REDIS_PORTS (first = initial master) and SENTINEL_PORTS

sentinel_log() { printf '%s' "$LOGS/sentinel-$1.log"; }
sentinel_pidfile() { printf '%s' "$RUN/sentinel-$1.pid"; }
sentinel_pid() { pid_from_file "$(sentinel_pidfile "$1")" "redis-server $HOST:$1 "; }
scli() { local port=$1; shift; timeout 3 redis-cli -h "$HOST" -p "$port" "$@" 2>&1 | tr -d '\r'; }

sentinel_check_ports() {
  local p seen=" "
  redis_group sentinel
  check_plain_ports 2
  ((${#SENTINEL_PORTS[@]} >= 3)) || die "sentinel: FRESHCACHE_SENTINEL_PORTS needs at least 3 ports (quorum 2) but was '${SENTINEL_PORTS[*]}'"
  for p in "${SENTINEL_PORTS[@]}" "${SENTINEL_REDIS_PORTS[@]}"; do
    is_port "$p" || die "sentinel: FRESHCACHE_SENTINEL_PORTS must hold ports but has '$p'"
    [[ $seen != *" $p "* ]] || die "sentinel: port $p is listed twice in FRESHCACHE_SENTINEL_PORTS / FRESHCACHE_SENTINEL_REDIS_PORTS"
    seen+="$p "
  done
  [[ $SENTINEL_MASTER =~ ^[A-Za-z0-9._-]+$ ]] || die "sentinel: FRESHCACHE_SENTINEL_MASTER must be a simple name but was '$SENTINEL_MASTER'"
}

# The master port as the running Sentinels report it (the first that answers), else as the
# running data nodes report it (the only one with role master). Fails when none is known.
sentinel_master_port() {
  local p out port
  for p in "${SENTINEL_PORTS[@]}"; do
    sentinel_pid "$p" >/dev/null || continue
    out=$(scli "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER")
    port=$(sed -n 2p <<<"$out")
    if is_port "$port" && [[ " ${SENTINEL_REDIS_PORTS[*]} " == *" $port "* ]]; then
      printf '%s' "$port"; return 0
    fi
  done
  local masters=()
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do
    redis_pid "$p" >/dev/null || continue
    [[ $(scli "$p" role | head -1) == master ]] && masters+=("$p")
  done
  ((${#masters[@]} == 1)) || return 1
  printf '%s' "${masters[0]}"
}

# sentinel_check: data nodes replicate from the master, and every Sentinel names that master,
# knows the other Sentinels and the replicas (flags exactly "slave"), and reaches its quorum.
sentinel_check() {
  local master p out others want_others=$(( ${#SENTINEL_PORTS[@]} - 1 )) r
  redis_group sentinel
  master=$(sentinel_master_port) || { REDIS_PROBLEM="no master known for $SENTINEL_MASTER"; REDIS_PROBLEM_PORT=${SENTINEL_PORTS[0]}; return 1; }
  replication_check "$master" || return 1
  for p in "${SENTINEL_PORTS[@]}"; do
    REDIS_PROBLEM_PORT=$p
    out=$(scli "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER")
    [[ $(sed -n 2p <<<"$out") == "$master" ]] \
      || { REDIS_PROBLEM="sentinel $HOST:$p names master '$(tr '\n' ' ' <<<"$out")', not $master"; return 1; }
    out=$(scli "$p" sentinel master "$SENTINEL_MASTER")
    others=$(awk 'prev == "num-other-sentinels" { print; exit } { prev = $0 }' <<<"$out")
    [[ $others == "$want_others" ]] \
      || { REDIS_PROBLEM="sentinel $HOST:$p knows ${others:-?} of $want_others other sentinels"; return 1; }
    out=$(scli "$p" sentinel replicas "$SENTINEL_MASTER" \
      | awk 'prev == "name" { n = $0 } prev == "flags" { print n "=" $0 } { prev = $0 }')
    for r in "${SENTINEL_REDIS_PORTS[@]}"; do
      [[ $r == "$master" ]] && continue
      grep -qx "$HOST:$r=slave" <<<"$out" \
        || { REDIS_PROBLEM="sentinel $HOST:$p does not (yet) see replica $r as healthy (${out//$'\n'/ })"; return 1; }
    done
    out=$(scli "$p" sentinel ckquorum "$SENTINEL_MASTER")
    [[ $out == OK* ]] || { REDIS_PROBLEM="sentinel $HOST:$p: ckquorum: $out"; return 1; }
  done
  REDIS_PROBLEM=
}

sentinel_write_conf() {
  local p=$1 master=$2 dir=$STATE/sentinel/$1 myid
  mkdir -p "$dir"
  # keep the Sentinel's id across restarts, so the others do not count it twice
  myid=$(sed -n 's/^sentinel myid \([0-9a-f]*\)$/\1/p' "$dir/sentinel.conf" 2>/dev/null | head -1 || true)
  cat >"$dir/sentinel.conf" <<CONF
# Written by dev/stack when this Sentinel starts; Sentinel rewrites it while it runs.
port $p
bind $HOST
protected-mode no
daemonize yes
pidfile $(sentinel_pidfile "$p")
logfile $(sentinel_log "$p")
dir $dir
${myid:+sentinel myid $myid}
sentinel monitor $SENTINEL_MASTER $HOST $master 2
sentinel down-after-milliseconds $SENTINEL_MASTER $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $SENTINEL_MASTER $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $SENTINEL_MASTER 1
CONF
}

sentinel_stop_all() {
  local p pid pids=()
  for p in "${SENTINEL_PORTS[@]}"; do pid=$(sentinel_pid "$p") && pids+=("$pid"); done
  ((${#pids[@]} == 0)) || stop_pids 3 "${pids[@]}"
  pids=()
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do pid=$(redis_pid "$p") && pids+=("$pid"); done
  ((${#pids[@]} == 0)) || stop_pids 3 "${pids[@]}"
  for p in "${SENTINEL_PORTS[@]}"; do rm -f "$(sentinel_pidfile "$p")"; done
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do rm -f "$(redis_pidfile "$p")"; done
}

up_sentinel() {
  local t0 p master= running_sentinels=0 running_data=0 to_start=() deadline
  t0=$(now_us)
  ensure_redis_tools
  sentinel_check_ports
  for p in "${SENTINEL_PORTS[@]}"; do sentinel_pid "$p" >/dev/null && running_sentinels=$((running_sentinels + 1)); done
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do redis_pid "$p" >/dev/null && running_data=$((running_data + 1)); done
  if ((running_sentinels == ${#SENTINEL_PORTS[@]} && running_data == ${#SENTINEL_REDIS_PORTS[@]})) && sentinel_check; then
    say "sentinel group already up and ready (master $SENTINEL_MASTER at $HOST:$(sentinel_master_port)) in $(since "$t0")"
    return 0
  fi
  if ((running_sentinels + running_data > 0)); then
    master=$(sentinel_master_port || true)
    if [[ -n $master ]] && ! redis_pid "$master" >/dev/null && ((running_sentinels > 0)); then
      # the master is down: give the Sentinels time to fail over to a replica that runs
      say "sentinel: master $master is down, waiting for the Sentinels to fail over"
      deadline=$(( $(now_us) + (SENTINEL_DOWN_AFTER_MS + SENTINEL_FAILOVER_TIMEOUT_MS) * 1000 + 5000000 ))
      while ! redis_pid "$master" >/dev/null && (( $(now_us) < deadline )); do
        sleep 0.2
        master=$(sentinel_master_port || true)
        [[ -n $master ]] || break
      done
    fi
    if [[ -z $master ]] || ! redis_pid "$master" >/dev/null; then
      say "sentinel: no running master known: stopping the group and starting it anew"
      master=
    fi
  fi
  if [[ -z $master ]]; then
    sentinel_stop_all
    rm -rf "${STATE:?}/sentinel" "${STATE:?}/redis-sentinel"
    master=${SENTINEL_REDIS_PORTS[0]}
  fi
  redis_group sentinel
  # every port this start needs is checked before anything starts
  for p in "${SENTINEL_PORTS[@]}"; do sentinel_pid "$p" >/dev/null || to_start+=("$p"); done
  for p in "${to_start[@]}"; do require_free_port sentinel "$p" FRESHCACHE_SENTINEL_PORTS "$(sentinel_log "$p")"; done
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do
    redis_pid "$p" >/dev/null || require_free_port sentinel "$p" FRESHCACHE_SENTINEL_REDIS_PORTS "$(redis_log "$p")"
  done
  group_start_missing "$master"
  for p in "${to_start[@]}"; do
    sentinel_write_conf "$p" "$master"
    (close_fds; exec redis-server "$STATE/sentinel/$p/sentinel.conf" --sentinel) </dev/null \
      >>"$(sentinel_log "$p")" 2>&1 || die "sentinel: redis-server --sentinel on port $p failed to start; log: $(sentinel_log "$p")"
  done
  ((${#to_start[@]} == 0)) || say "sentinels ${to_start[*]} started (monitoring $SENTINEL_MASTER at $HOST:$master)"
  deadline=$(( $(now_us) + READY_TIMEOUT_S * 1000000 ))
  until sentinel_check; do
    if (( $(now_us) > deadline )); then
      if [[ " ${SENTINEL_PORTS[*]} " == *" $REDIS_PROBLEM_PORT "* ]]; then tail_log "$(sentinel_log "$REDIS_PROBLEM_PORT")"
      else tail_log "$(redis_log "$REDIS_PROBLEM_PORT")"; fi
      die "sentinel: group not ready after ${READY_TIMEOUT_S}s: $REDIS_PROBLEM; port $REDIS_PROBLEM_PORT, logs: $LOGS/sentinel-*.log $LOGS/redis-sentinel-*.log"
    fi
    sleep 0.2
  done
  say "sentinel group ready in $(since "$t0") (master $SENTINEL_MASTER at $HOST:$master, sentinels ${SENTINEL_PORTS[*]})"
}

# sentinel_select ARG...: ports (data or Sentinel) to act on; "master" means the current master.
sentinel_sel_data=()
sentinel_sel_sentinels=()
sentinel_select() {
  local a m
  sentinel_sel_data=()
  sentinel_sel_sentinels=()
  redis_group sentinel
  if (($# == 0)); then
    sentinel_sel_data=("${SENTINEL_REDIS_PORTS[@]}"); sentinel_sel_sentinels=("${SENTINEL_PORTS[@]}"); return
  fi
  for a in "$@"; do
    if [[ $a == master ]]; then
      m=$(sentinel_master_port) || die "sentinel: no master of '$SENTINEL_MASTER' known (is the group up?)"
      sentinel_sel_data+=("$m")
    elif [[ " ${SENTINEL_REDIS_PORTS[*]} " == *" $a "* ]]; then
      sentinel_sel_data+=("$a")
    elif [[ " ${SENTINEL_PORTS[*]} " == *" $a "* ]]; then
      sentinel_sel_sentinels+=("$a")
    else
      die "sentinel: port $a is neither in FRESHCACHE_SENTINEL_REDIS_PORTS (${SENTINEL_REDIS_PORTS[*]}) nor in FRESHCACHE_SENTINEL_PORTS (${SENTINEL_PORTS[*]})"
    fi
  done
}

# stop_sentinel_group HOW ARG...: HOW is stop (SIGTERM, then SIGKILL) or kill (SIGKILL).
stop_sentinel_group() {
  local how=$1 t0 p pid pids=() names=()
  shift
  t0=$(now_us)
  sentinel_select "$@"
  # Sentinels first: a stopped group must not fail over while it goes down
  for p in "${sentinel_sel_sentinels[@]}"; do pid=$(sentinel_pid "$p") && { pids+=("$pid"); names+=("sentinel:$p"); }; done
  if ((${#pids[@]})); then
    if [[ $how == kill ]]; then kill_pids_wait "${pids[@]}"; else stop_pids 3 "${pids[@]}"; fi
  fi
  local dpids=()
  for p in "${sentinel_sel_data[@]}"; do pid=$(redis_pid "$p") && { dpids+=("$pid"); names+=("redis:$p"); }; done
  if ((${#dpids[@]})); then
    if [[ $how == kill ]]; then kill_pids_wait "${dpids[@]}"; else stop_pids 3 "${dpids[@]}"; fi
  fi
  if ((${#names[@]} == 0)); then say "sentinel: ${*:-group} not running"; return 0; fi
  if [[ $how != kill ]]; then
    for p in "${sentinel_sel_sentinels[@]}"; do rm -f "$(sentinel_pidfile "$p")"; done
    for p in "${sentinel_sel_data[@]}"; do rm -f "$(redis_pidfile "$p")"; done
  fi
  say "sentinel group: ${names[*]} $([[ $how == kill ]] && echo "killed (SIGKILL)" || echo stopped) in $(since "$t0")"
}

status_sentinel() {
  local p pid running=0 rc=0 master label="sentinel"
  redis_group sentinel
  for p in "${SENTINEL_PORTS[@]}"; do sentinel_pid "$p" >/dev/null && running=$((running + 1)); done
  for p in "${SENTINEL_REDIS_PORTS[@]}"; do redis_pid "$p" >/dev/null && running=$((running + 1)); done
  if ((running == 0)); then
    printf '%-16s %-8s %-10s redis %s, sentinels %s (optional)\n' "$label" stopped "not ready" "${SENTINEL_REDIS_PORTS[*]}" "${SENTINEL_PORTS[*]}"
    return 2
  fi
  local ready=ready state=running
  ((running == ${#SENTINEL_PORTS[@]} + ${#SENTINEL_REDIS_PORTS[@]})) || state=partial
  if ! sentinel_check; then ready="not ready: $REDIS_PROBLEM"; rc=1; fi
  master=$(sentinel_master_port || true)
  printf '%-16s %-8s %-10s master %s = %s, sentinels %s\n' "$label" "$state" "$ready" "$SENTINEL_MASTER" "${master:-?}" "${SENTINEL_PORTS[*]}"
  status_plain_group "  redis-sentinel" "$master" | sed 1d || true
  for p in "${SENTINEL_PORTS[@]}"; do
    if pid=$(sentinel_pid "$p"); then printf '  %-7s running  pid %-8s sentinel\n' "$p" "$pid"
    else printf '  %-7s stopped  sentinel\n' "$p"; fi
  done
  return $rc
}

# ---------------------------------------------------------------------------------------------
# `dev/stack env`: the optional servers' variables

# Printed always, from the settings, whether or not the component runs. All named FRESHCACHE_*:
# they describe servers to test against and must not be read as the services' own REDIS_*/KAFKA_*
# settings (every KAFKA_* variable is a Kafka client property, and dev/test evaluates this output).
env_optional() {
  local u
  export_line FRESHCACHE_TLS_DIR "$TLS_DIR"
  export_line FRESHCACHE_TLS_CA_FILE "$TLS_DIR/ca.crt"
  export_line FRESHCACHE_TLS_WRONG_CA_FILE "$TLS_DIR/wrong-ca.crt"
  export_line FRESHCACHE_TLS_CLIENT_CERT_FILE "$TLS_DIR/client.crt"
  export_line FRESHCACHE_TLS_CLIENT_KEY_FILE "$TLS_DIR/client.key"
  export_line FRESHCACHE_TLS_TRUSTSTORE "$TLS_DIR/truststore.p12"
  export_line FRESHCACHE_TLS_WRONG_TRUSTSTORE "$TLS_DIR/wrong-truststore.p12"
  export_line FRESHCACHE_TLS_CLIENT_KEYSTORE "$TLS_DIR/client.p12"
  export_line FRESHCACHE_TLS_STORE_PASSWORD "$TLS_STORE_PASSWORD"
  export_line FRESHCACHE_REDIS_TLS_NODES "$(addr_list "${REDIS_TLS_PORTS[@]}")"
  export_line FRESHCACHE_REDIS_ADMIN_USER "$REDIS_ADMIN_USER"
  export_line FRESHCACHE_REDIS_ADMIN_PASSWORD "$REDIS_ADMIN_PASSWORD"
  for u in client writer; do
    export_line "FRESHCACHE_REDIS_${u^^}_USER" "freshcache-$u"
    export_line "FRESHCACHE_REDIS_${u^^}_PASSWORD" "$(acl_password "freshcache-$u")"
  done
  export_line FRESHCACHE_REDIS_STANDALONE_NODE "$HOST:${REDIS_STANDALONE_PORTS[0]}"
  export_line FRESHCACHE_REDIS_STANDALONE_NODES "$(addr_list "${REDIS_STANDALONE_PORTS[@]}")"
  export_line FRESHCACHE_REDIS_SENTINELS "$(addr_list "${SENTINEL_PORTS[@]}")"
  export_line FRESHCACHE_REDIS_SENTINEL_MASTER "$SENTINEL_MASTER"
  export_line FRESHCACHE_REDIS_SENTINEL_NODES "$(addr_list "${SENTINEL_REDIS_PORTS[@]}")"
  export_line FRESHCACHE_KAFKA_SASL_BOOTSTRAP_SERVERS "$HOST:$KAFKA_SASL_PORT"
  export_line FRESHCACHE_KAFKA_SASL_MECHANISM SCRAM-SHA-512
  export_line FRESHCACHE_KAFKA_SASL_USER "$KAFKA_SASL_USER"
  export_line FRESHCACHE_KAFKA_SASL_PASSWORD "$KAFKA_SASL_PASSWORD"
  export_line FRESHCACHE_PG_TLS_USER "$PG_TLS_USER"
  export_line FRESHCACHE_PG_TLS_PASSWORD "$PG_TLS_PASSWORD"
  export_line FRESHCACHE_PG_TLS_JDBC_URL "jdbc:postgresql://localhost:$PG_PORT/$PG_DB?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.crt"
}
