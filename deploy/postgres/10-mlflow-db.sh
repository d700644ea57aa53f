#!/usr/bin/env bash
# First start of the PostgreSQL volume only: a second database for the MLflow server.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE mlflow OWNER \"$POSTGRES_USER\""
