# lib.sh - shell helpers shared by the Benchmarks/*.sh scripts and Benchmarks/loadgen/*test.sh.
# Source it; it defines functions only.

# A TCP port on 127.0.0.1 that nothing listens on right now (tiny race until the server binds).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT PID SECONDS: succeeds once 127.0.0.1:PORT accepts a TCP connection; fails early
# if PID exits, or after SECONDS.
wait_port() {
    local port=$1 pid=$2 limit=$3 waited=0
    while ((waited < limit * 10)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    return 1
}

# stop_pid PID: SIGTERM, up to 5 s grace, then SIGKILL; reaps it if it is our child.
stop_pid() {
    local pid=$1 waited=0
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# make_cert DIR: a throwaway CA (DIR/ca.pem) and a leaf for 127.0.0.1 / localhost
# (DIR/cert.pem chain, DIR/key.pem), ECDSA P-256 so handshakes stay cheap.
make_cert() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=Earpiece benchmark CA" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null || return 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=127.0.0.1" -keyout "$dir/key.pem" -out "$dir/leaf.csr" 2>/dev/null || return 1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
        >"$dir/leaf.ext"
    openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
        -days 2 -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null || return 1
    cat "$dir/leaf.pem" "$dir/ca.pem" >"$dir/cert.pem"
}

# kv KEY LINE: the value of KEY in a line of key=value pairs (empty if absent).
kv() {
    local key=$1 line=$2
    sed -n "s/^\(.* \)\{0,1\}$key=\([^ ]*\).*/\2/p" <<<"$line"
}

# rss_kib PID: VmRSS of the process in KiB (empty if it is gone).
rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# median: the median of the numbers on stdin, one per line (empty input prints nothing).
median() {
    sort -g | awk '{ values[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print values[(NR + 1) / 2]; else print (values[NR / 2] + values[NR / 2 + 1]) / 2 }'
}

# cores_busy CPU...: the busiest of the given CPUs over the next second, in whole percent
# (user + nice + system + irq + softirq + steal; guest time is already inside user).
cores_busy() {
    local pattern before after
    pattern="^cpu($(IFS='|'; echo "$*")) "
    before=$(grep -E "$pattern" /proc/stat)
    sleep 1
    after=$(grep -E "$pattern" /proc/stat)
    paste -d' ' <(echo "$before") <(echo "$after") | awk '{
        n = (NF - 2) / 2; busy = 0; total = 0
        for (i = 1; i <= n && i <= 8; i++) {
            delta = $(n + 2 + i) - $(1 + i); total += delta
            if (i != 4 && i != 5) busy += delta
        }
        for (i = 9; i <= n; i++) total += $(n + 2 + i) - $(1 + i)
        if (total > 0 && 100 * busy / total > worst) worst = 100 * busy / total
    } END { printf "%d\n", worst }'
}

# wait_quiet LIMIT CPU...: waits up to LIMIT seconds until every given CPU is under 10% busy, so
# other work on a shared machine does not land inside a measurement. Warns if it never is.
wait_quiet() {
    local limit=$1 busy waited=0
    shift
    while :; do
        busy=$(cores_busy "$@")
        ((busy < 10)) && return 0
        if ((waited >= limit)); then
            echo "WARNING: CPUs $* still ${busy}% busy after waiting ${limit}s for quiet; this run will be noisy" >&2
            return 1
        fi
        waited=$((waited + 1))
    done
}

# raise_fd_limit NEEDED SCRIPT: raises this shell's open-file limit to NEEDED (the hard limit too, when
# root may); exits with a message naming SCRIPT when it cannot.
raise_fd_limit() {
    local needed=$1 script=$2 hard
    hard=$(ulimit -Hn)
    if [[ $hard != unlimited && $hard -lt $needed ]]; then
        ulimit -Hn "$needed" 2>/dev/null || {
            echo "$script: need $needed open files, hard limit is $hard (raise it, e.g. in limits.conf)" >&2
            exit 1
        }
    fi
    ulimit -n "$needed"
}

# release_binary PRODUCT SCRATCH BUILD LOG: builds the Swift product PRODUCT in release mode with
# scratch path SCRATCH (only when BUILD is 1; its output goes to LOG) under $ROOT, then sets BINARY to
# its path, or leaves BINARY empty and sets BINARY_PROBLEM to why there is none.
release_binary() {
    local product=$1 scratch=$2 build=$3 log=$4 bin_dir
    BINARY=
    BINARY_PROBLEM=
    if ((build)) && ! (cd "$ROOT" && swift build -c release --product "$product" --scratch-path "$scratch") >"$log" 2>&1; then
        BINARY_PROBLEM="build failed (see $log)"
        return 0
    fi
    bin_dir=$(cd "$ROOT" && swift build -c release --scratch-path "$scratch" --show-bin-path 2>/dev/null || true)
    if [[ -x $bin_dir/$product ]]; then
        BINARY=$bin_dir/$product
    else
        BINARY_PROBLEM="no $bin_dir/$product"
    fi
}
