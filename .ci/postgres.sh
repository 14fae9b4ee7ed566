#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on the loopback interface, for `make test-engines`.
#
#   .ci/postgres.sh start DIR [PORT]   initdb in DIR (if new) and start it; prints the SEGUE_PG_* settings
#   .ci/postgres.sh stop DIR           stop it
#
# Uses Debian's server binaries (package `postgresql`); as root the cluster runs as
# the `postgres` user the package creates. Trust authentication on 127.0.0.1 only.
set -euo pipefail
action=${1:?usage: postgres.sh start|stop DIR [PORT]}
dir=${2:?usage: postgres.sh start|stop DIR [PORT]}
port=${3:-55432}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    # C.UTF-8: code-point ordering like DuckDB's, and upper/lower/initcap that know
    # accented letters (under plain C, initcap('édouard') gives 'éDouard').
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # fsync off: a test cluster, rebuilt from scratch whenever it is lost.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    "$bindir/pg_isready" -h 127.0.0.1 -p "$port" -t 30 >/dev/null
    echo "SEGUE_PG_HOST=127.0.0.1 SEGUE_PG_PORT=$port SEGUE_PG_USER=postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
