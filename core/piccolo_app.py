from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.tables import (
    ApiTokenRow,
    AuditChainRow,
    AuditEventRow,
    AuditSealRow,
    ChainFenceRow,
    SecretRow,
    SecretVersionRow,
)

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        SecretRow,
        SecretVersionRow,
        AuditEventRow,
        ApiTokenRow,
        AuditSealRow,
        AuditChainRow,
        ChainFenceRow,
    ],
    migration_dependencies=[],
    commands=[],
)
