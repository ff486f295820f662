from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.tables import ApiTokenRow, AuditEventRow, ChainFenceRow, SecretRow

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[SecretRow, AuditEventRow, ApiTokenRow, ChainFenceRow],
    migration_dependencies=[],
    commands=[],
)
