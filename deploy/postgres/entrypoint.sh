#!/bin/sh
# First start: a cluster whose superuser $POSTGRES_USER (default autopack)
# has the password in $POSTGRES_PASSWORD_FILE, a database of the same name,
# and password (SCRAM) logins from the network. Later starts reuse $PGDATA.
set -eu
BIN=/usr/lib/postgresql/15/bin
USER_NAME="${POSTGRES_USER:-autopack}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD_FILE:?the superuser password file is required}"
  "$BIN/initdb" -D "$PGDATA" -U "$USER_NAME" --pwfile="$POSTGRES_PASSWORD_FILE" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=127.0.0.1" -w start >/dev/null
  PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" "$BIN/createdb" -h 127.0.0.1 -U "$USER_NAME" "$USER_NAME"
  "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
