"""The key material and admin token every test folder uses.

Fixed values, the same in every run: they protect nothing but test data.
"""

from __future__ import annotations

from core.keys import define_keys

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(1, 33))
KEY_3 = bytes(range(2, 34))
# Other material under version 1: rows sealed with it cannot be opened with KEY_1.
KEY_1_REPLACED = bytes(range(5, 37))

# A deployment that has added version 2: rows under version 1 are stale.
KEYS_V1_V2 = define_keys({1: KEY_1, 2: KEY_2})

ADMIN_TOKEN = "test-admin-token-" + "x" * 32

SESSION_SECRET = "test-session-secret-" + "s" * 32
