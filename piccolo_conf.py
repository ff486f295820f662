"""Piccolo's configuration: ``piccolo migrations forwards all`` (the Procfile's release step)."""

from piccolo.conf.apps import AppRegistry

from core.db import DB, configure_database
from core.settings import Settings

# Piccolo's commands import this module and use DB as it is, so point it at the
# deployment's database. A process that configured DB itself (and imports this
# module later, through Piccolo's engine lookup) keeps its own choice.
if not DB.config.get("dsn"):
    configure_database(Settings.from_env().database_url or "")

APP_REGISTRY = AppRegistry(apps=["core.piccolo_app"])

__all__ = ["APP_REGISTRY", "DB"]
