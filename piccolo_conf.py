from piccolo.conf.apps import AppRegistry

from core.db import DB

APP_REGISTRY = AppRegistry(apps=["core.piccolo_app"])

__all__ = ["APP_REGISTRY", "DB"]
