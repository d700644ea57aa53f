"""The REST API (FastAPI). ``create_app(settings)`` builds it; nothing happens at import."""

from fleetcast.api.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
