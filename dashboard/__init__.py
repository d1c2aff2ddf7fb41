"""The EpochScope web app."""

from dashboard.factory import create_app

__all__ = ["create_app"]
