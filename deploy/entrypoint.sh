#!/usr/bin/env bash
# One image, several entry points: api | dashboard | run | migrate | mlflow | fleetcast ...
# Fails fast, before starting anything, when a variable the entry point needs is missing.
set -euo pipefail

# Print every missing variable among "$@" and exit 64 when there is one.
require() {
    local missing=()
    local name
    for name in "$@"; do
        if [[ -z "${!name:-}" ]]; then
            missing+=("$name")
        fi
    done
    if ((${#missing[@]})); then
        {
            echo "fleetcast entrypoint ($ROLE): required environment variable(s) not set: ${missing[*]}"
            echo "Set them in .env (see deploy/.env.example) or the service's environment."
        } >&2
        exit 64
    fi
}

# Compose passes optional variables it has no value for as empty strings: unset them, so
# fleetcast and Prefect see them as absent rather than as an empty path or URL.
for name in FLEETCAST_CONFIG FLEETCAST_LAKE_URL FLEETCAST_AERODATABOX_KEY PREFECT_API_URL; do
    if [[ -z "${!name:-}" ]]; then
        unset "$name"
    fi
done

ROLE="${1:-help}"
if (($#)); then
    shift
fi

case "$ROLE" in
    api)
        require FLEETCAST_HOME FLEETCAST_DB_URL
        exec fleetcast serve --host 0.0.0.0 --port "${FLEETCAST_API_PORT:-8000}" \
            --workers "${FLEETCAST_API_WORKERS:-2}" "$@"
        ;;
    dashboard)
        require FLEETCAST_HOME FLEETCAST_DB_URL
        # Streamlit itself as PID 1 (not under `fleetcast dashboard`), so `docker stop` reaches it.
        app="$(python -c 'from fleetcast.dashboard.launch import APP; print(APP)')"
        exec python -m streamlit run "$app" --server.address 0.0.0.0 \
            --server.port "${FLEETCAST_DASHBOARD_PORT:-8501}" --server.headless true \
            --browser.gatherUsageStats false "$@"
        ;;
    run)
        require FLEETCAST_HOME FLEETCAST_DB_URL FLEETCAST_MLFLOW_URI
        exec fleetcast run "$@"
        ;;
    migrate)
        require FLEETCAST_HOME FLEETCAST_DB_URL
        exec fleetcast db upgrade "$@"
        ;;
    mlflow)
        require MLFLOW_BACKEND_STORE_URI MLFLOW_ARTIFACTS_DESTINATION MLFLOW_ALLOWED_HOSTS
        exec mlflow server --host 0.0.0.0 --port "${MLFLOW_PORT:-5000}" \
            --backend-store-uri "$MLFLOW_BACKEND_STORE_URI" --serve-artifacts \
            --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION" \
            --allowed-hosts "$MLFLOW_ALLOWED_HOSTS" "$@"
        ;;
    fleetcast)
        require FLEETCAST_HOME FLEETCAST_DB_URL
        exec fleetcast "$@"
        ;;
    help | -h | --help)
        echo "usage: entrypoint.sh {api|dashboard|run|migrate|mlflow|fleetcast ARGS...}"
        ;;
    *)
        echo "fleetcast entrypoint: unknown entry point '$ROLE'; use api, dashboard, run, migrate, mlflow or fleetcast" >&2
        exit 64
        ;;
esac
