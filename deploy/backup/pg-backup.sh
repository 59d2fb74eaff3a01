#!/bin/sh
# Backs up every database of the suite, each in PostgreSQL's custom format (pg_dump -Fc), into
# $BACKUP_DIR/<UTC time>/, then removes the backups older than $BACKUP_KEEP_DAYS days. A backup directory
# appears only once complete. Connection: the usual PG* variables (PGHOST, PGUSER, PGPASSWORD).
#
#   pg-backup.sh --once     one backup, then exit (the restore drill, an operator before an upgrade)
#   pg-backup.sh            one backup every $BACKUP_EVERY_S seconds (compose's `backup` service)
#
# Kafka is not in these backups: its topics keep every event and are data too; snapshot its volume on the
# same schedule (deploy/README.md, "Back up and restore").
set -eu

dir=${BACKUP_DIR:-/backups}
keep=${BACKUP_KEEP_DAYS:-14}
every=${BACKUP_EVERY_S:-86400}
pattern=${BACKUP_DATABASES:-tuition\\_%}   # a LIKE pattern over the databases' names

backup_once() {
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    partial="$dir/.partial-$stamp"
    mkdir -p "$partial"
    databases=$(psql -d postgres -XAtc "SELECT datname FROM pg_database WHERE datname LIKE '$pattern' ORDER BY 1")
    if [ -z "$databases" ]; then
        echo "pg-backup: no database matches $pattern" >&2
        rm -rf "$partial"
        return 1
    fi
    for db in $databases; do
        pg_dump -Fc -Z 6 -d "$db" -f "$partial/$db.dump"
    done
    mv "$partial" "$dir/$stamp"
    echo "pg-backup: $dir/$stamp ($(echo "$databases" | wc -w) databases)"
    find "$dir" -mindepth 1 -maxdepth 1 -type d -name '20*' -mtime "+$keep" -exec rm -rf {} +
}

if [ "${1:-}" = "--once" ]; then
    backup_once
    exit 0
fi
while true; do
    backup_once || echo "pg-backup: this backup failed; the next is in $every s" >&2
    sleep "$every"
done
