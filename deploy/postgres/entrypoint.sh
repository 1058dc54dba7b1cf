#!/bin/sh
# A new data folder gets a cluster whose superuser is POSTGRES_USER (password login over TCP, trust on
# the local socket, as the postgres image does), the database POSTGRES_DB and whatever the init scripts
# make; then the command runs. The init scripts run on a server without TCP, so nothing that waits for
# the port can connect before they are done. UTF-8 as in the postgres image: this image has no locale
# set, which gives SQL_ASCII, whose text psycopg 3 (the API's prediction log) returns as bytes.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password_file=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
  initdb --username="$POSTGRES_USER" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl --wait --options="-c listen_addresses=''" start
  if [ "$POSTGRES_DB" != postgres ]; then
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
  fi
  for script in /docker-entrypoint-initdb.d/*.sql; do
    if [ -e "$script" ]; then
      echo "running $script"
      psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" --file="$script"
    fi
  done
  pg_ctl --wait --mode=fast stop
fi
exec "$@"
