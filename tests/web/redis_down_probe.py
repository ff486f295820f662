"""A web process whose Redis is down, run by test_maintenance in a process of its own.

The worker's broker is set up once per process from the environment, so the
honest way to see what a web process does without Redis is to start one with
``REDIS_URL`` pointing at a closed port. It prints each answer as JSON.
"""

from __future__ import annotations

import json
import os

from litestar.testing import TestClient

from web.app import create_app

REQUESTS = [
    ("post_rotation", "POST", "/api/v1/rotation", None),
    ("get_rotation", "GET", "/api/v1/rotation", None),
    ("cleanup_secrets", "POST", "/api/v1/cleanup/secrets", None),
    ("cleanup_events", "POST", "/api/v1/cleanup/events", {"retention_ms": 1000}),
    ("put", "PUT", "/api/v1/secrets/ns/s", {"value": "still here"}),
    ("get", "GET", "/api/v1/secrets/ns/s", None),
    ("list", "GET", "/api/v1/secrets/ns", None),
    ("ready", "GET", "/api/v1/ready", None),
]


def main() -> None:
    token = os.environ["SECRET_STORE_ADMIN_TOKEN"]
    answers = {}
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app()) as client:
        for label, method, path, body in REQUESTS:
            response = client.request(method, path, json=body, headers=headers)
            answers[label] = {"status": response.status_code, "body": response.json()}
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
