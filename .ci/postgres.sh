#!/usr/bin/env bash
# Starts a PostgreSQL server for the delivery service tests (package
# delivery/store/pgstore and the multi-process tests of package delivery).
#
# Run as root on Debian 12:
#
#   export MLS_TEST_POSTGRES=$(.ci/postgres.sh)    # or: eval "$(.ci/postgres.sh --export)"
#   go test ./delivery/...
#
# It installs Debian's postgresql package when it is missing, starts (or
# creates) a cluster listening on 127.0.0.1:5432, creates the role and
# database the tests use, and prints the URL to export as MLS_TEST_POSTGRES
# (the only line on stdout; with --export, an "export ..." line instead). It
# is idempotent: running it again on a running server only re-checks the role
# and database. Everything else it says goes to stderr.
set -euo pipefail

role=${MLS_PG_ROLE:-mls}
password=${MLS_PG_PASSWORD:-mls}
database=${MLS_PG_DATABASE:-mls_test}
port=${MLS_PG_PORT:-5432}
url="postgres://${role}:${password}@127.0.0.1:${port}/${database}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
	log "must run as root (it installs packages and runs commands as the postgres user)"
	exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	log "installing PostgreSQL from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
cluster=main
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
	log "creating cluster $version/$cluster"
	pg_createcluster --port "$port" "$version" "$cluster" >&2
fi

# Listen on the loopback address only, on the port the tests use (conf.d is
# read after postgresql.conf, so these settings win).
conf=/etc/postgresql/$version/$cluster
mkdir -p "$conf/conf.d"
printf "listen_addresses = '127.0.0.1'\nport = %d\n" "$port" >"$conf/conf.d/mls-ci.conf"
pg_conftool "$version" "$cluster" set port "$port" >&2

status=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')
if [[ $status != online ]]; then
	log "starting cluster $version/$cluster on 127.0.0.1:$port"
	pg_ctlcluster "$version" "$cluster" start >&2
elif ! pg_isready -q -h 127.0.0.1 -p "$port"; then
	# Running, but not where the tests look: the address or port changed.
	log "restarting cluster $version/$cluster on 127.0.0.1:$port"
	pg_ctlcluster "$version" "$cluster" restart >&2
fi

for _ in $(seq 1 60); do
	if pg_isready -q -h 127.0.0.1 -p "$port"; then
		break
	fi
	sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
	log "server is not accepting connections on 127.0.0.1:$port; see /var/log/postgresql/"
	exit 1
fi

psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"; }

if [[ $(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'") != 1 ]]; then
	log "creating role $role"
	psql_admin -c "CREATE ROLE \"$role\" LOGIN PASSWORD '$password'" >&2
else
	psql_admin -c "ALTER ROLE \"$role\" LOGIN PASSWORD '$password'" >&2
fi
if [[ $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'") != 1 ]]; then
	log "creating database $database"
	psql_admin -c "CREATE DATABASE \"$database\" OWNER \"$role\"" >&2
fi

if [[ ${1:-} == --export ]]; then
	echo "export MLS_TEST_POSTGRES=$url"
else
	echo "$url"
fi
