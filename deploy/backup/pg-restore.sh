#!/bin/sh
# Restores one backup directory made by pg-backup.sh into a PostgreSQL server (the PG* variables): each
# dump into a database of its own name, created here. Refuses a database that already exists (restore into
# an empty server, then point the services at it), and stops at the first error.
#
#   pg-restore.sh /backups/20261202T180000Z
set -eu

src=${1:?usage: pg-restore.sh <backup directory>}
[ -d "$src" ] || { echo "pg-restore: $src is not a backup directory" >&2; exit 2; }
for dump in "$src"/*.dump; do
    [ -f "$dump" ] || { echo "pg-restore: no dump in $src" >&2; exit 2; }
    db=$(basename "$dump" .dump)
    createdb -T template0 -E UTF8 --lc-collate=C.UTF-8 --lc-ctype=C.UTF-8 "$db"  # as the services create theirs
    pg_restore --no-owner --exit-on-error -d "$db" "$dump"
    echo "pg-restore: $db"
done
