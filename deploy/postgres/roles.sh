#!/bin/sh
# Run once by the postgres image when it creates its data (docker-entrypoint-initdb.d): one login role per
# service, which may create its own database (each service migrates its own at start) and nothing else: no
# superuser, no other service's data. The superuser (POSTGRES_USER) is left to the operator and the backups.
set -eu
for service in invoicing reconciliation receipts reporting; do
    var=$(echo "$service" | tr a-z A-Z)_PG_PASSWORD
    password=$(printenv "$var") || { echo "roles.sh: $var is not set" >&2; exit 1; }
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v role="$service" -v pw="$password" <<'SQL'
CREATE ROLE :"role" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD :'pw';
SQL
done
