from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.tables import ApiTokenRow, AuditEventRow, SecretRow, SecretVersionRow

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[SecretRow, SecretVersionRow, AuditEventRow, ApiTokenRow],
    migration_dependencies=[],
    commands=[],
)
