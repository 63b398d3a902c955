"""Server secrets: made on first start, kept in ``<data>/secrets.json`` with mode 0600.

- ``token_pepper``: the HMAC key access tokens are hashed with.
- ``franking``: message-franking secrets by key id; the newest tags new messages, older
  ones still verify reports about old messages.
- ``cookie_secret``: the key of signed media preview URLs is derived from it (console
  sessions are server-side: ``services/console_sessions.py``).

Nothing here is ever logged; ``repr`` hides the values.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as _random
from dataclasses import dataclass, field
from pathlib import Path

SECRET_BYTES = 32
SECRETS_FILE = "secrets.json"


@dataclass(frozen=True)
class ServerSecrets:
    token_pepper: bytes = field(repr=False)
    cookie_secret: bytes = field(repr=False)
    franking_current: str
    franking_keys: dict[str, bytes] = field(repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "token_pepper": _enc(self.token_pepper),
            "cookie_secret": _enc(self.cookie_secret),
            "franking": {"current": self.franking_current,
                         "keys": {k: _enc(v) for k, v in self.franking_keys.items()}},
        }


def _enc(value: bytes) -> str:
    return base64.b64encode(value).decode()


def generate() -> ServerSecrets:
    return ServerSecrets(
        token_pepper=_random.token_bytes(SECRET_BYTES),
        cookie_secret=_random.token_bytes(SECRET_BYTES),
        franking_current="k1",
        franking_keys={"k1": _random.token_bytes(SECRET_BYTES)},
    )


def load_or_create(data_dir: Path) -> ServerSecrets:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    if not path.exists():
        fresh = generate()
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(fresh.to_json(), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
    data = json.loads(path.read_text())
    dec = base64.b64decode
    franking = data["franking"]
    return ServerSecrets(
        token_pepper=dec(data["token_pepper"]),
        cookie_secret=dec(data["cookie_secret"]),
        franking_current=str(franking["current"]),
        franking_keys={str(k): dec(v) for k, v in franking["keys"].items()},
    )


def rotate_franking(data_dir: Path) -> str:
    """Add a new franking key and make it current; old keys keep verifying."""
    current = load_or_create(data_dir)
    new_id = f"k{len(current.franking_keys) + 1}"
    keys = dict(current.franking_keys)
    keys[new_id] = _random.token_bytes(SECRET_BYTES)
    updated = ServerSecrets(current.token_pepper, current.cookie_secret, new_id, keys)
    path = data_dir / SECRETS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(updated.to_json(), fh)
    os.replace(tmp, path)
    return new_id
