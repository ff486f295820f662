"""Demo data for the embedded default: a few dozen plausible secrets to look at.

Values are random: they look like the credentials they are named after but
open nothing. Some carry metadata, some expire soon, and a few are already
expired, so every state of the secrets page has something to show.
"""

from __future__ import annotations

import secrets as random_source
from typing import Any

from core.runtime import Store

DEMO_NAMESPACES = ("demo", "demo:staging")
_DAY_MS = 86_400_000

# (name, value prefix, metadata)
_SAMPLES: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("OPENAI_API_KEY", "sk-proj-", {"owner": "ml-platform", "rotate": "quarterly"}),
    ("STRIPE_SECRET_KEY", "sk_live_", {"owner": "payments", "pci": True}),
    ("STRIPE_WEBHOOK_SECRET", "whsec_", {"owner": "payments"}),
    ("GITHUB_TOKEN", "ghp_", {"owner": "ci", "scopes": ["repo", "workflow"]}),
    ("SLACK_BOT_TOKEN", "xoxb-", {"owner": "support"}),
    ("SENDGRID_API_KEY", "SG.", None),
    ("AWS_SECRET_ACCESS_KEY", "", {"account": "prod-main", "iam_user": "deployer"}),
    ("DATABASE_PASSWORD", "", {"owner": "dba", "host": "db-primary"}),
    ("REDIS_PASSWORD", "", None),
    ("JWT_SIGNING_KEY", "", {"alg": "HS256"}),
    ("SENTRY_DSN", "https://", {"owner": "sre"}),
    ("DATADOG_API_KEY", "dd-", {"owner": "sre"}),
    ("TWILIO_AUTH_TOKEN", "", {"owner": "notifications"}),
    ("PAGERDUTY_TOKEN", "pd-", {"owner": "sre", "team": "on-call"}),
    ("GOOGLE_OAUTH_CLIENT_SECRET", "GOCSPX-", {"owner": "identity"}),
    ("ENCRYPTION_PEPPER", "", None),
    ("SMTP_PASSWORD", "", {"host": "smtp.example.com"}),
    ("CLOUDFLARE_API_TOKEN", "cf-", {"zone": "example.com"}),
    ("ALGOLIA_ADMIN_KEY", "", {"owner": "search"}),
    ("MAPBOX_TOKEN", "pk.", None),
    ("NPM_TOKEN", "npm_", {"owner": "ci"}),
    ("DOCKERHUB_PASSWORD", "", {"owner": "ci", "user": "example-bot"}),
    ("OKTA_CLIENT_SECRET", "", {"owner": "identity"}),
    ("webhook signing secret (legacy)", "", {"deprecated": True}),
)


def _value(prefix: str) -> str:
    return prefix + random_source.token_urlsafe(24)


async def seed_demo(store: Store, *, actor: str | None) -> int:
    """Write the demo secrets (overwriting earlier demo runs); returns how many."""
    count = 0
    for index, (name, prefix, metadata) in enumerate(_SAMPLES):
        # Every fifth one expires within days, and every seventh has expired already.
        ttl_ms: int | None = None
        if index % 5 == 4:
            ttl_ms = (index + 1) * _DAY_MS
        if index % 7 == 6:
            ttl_ms = 1
        await store.put("demo", name, _value(prefix), metadata=metadata, ttl_ms=ttl_ms, actor=actor)
        count += 1
    for index, (name, prefix, metadata) in enumerate(_SAMPLES[:12]):
        staging = {**(metadata or {}), "env": "staging"}
        ttl_ms = 1 if index == 3 else None
        await store.put(
            "demo:staging", name, _value(prefix), metadata=staging, ttl_ms=ttl_ms, actor=actor
        )
        count += 1
    return count
