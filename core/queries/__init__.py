"""The SQL of each table, one module per table (ADR 0009).

``secret_rows`` holds every statement on ``secrets``, ``audit_events`` every
statement on ``audit_events``, ``api_tokens`` every statement on
``api_tokens``. A statement that writes a secret and its audit event in one
round trip lives with the secret it is about. Plain CRUD goes through
Piccolo's query builder on the table classes of :mod:`core.tables`;
set-based and hot-path statements are SQL, run by :func:`core.db.fetch` on the
current transaction's connection.

Rows come back as the driver gives them: JSON columns as text (the services
load them), timestamps as aware datetimes, ids as UUIDs.
"""
