"""Server secrets: made on first start, kept in ``<data>/secrets.json`` with mode 0600.

- ``token_pepper``: the HMAC key access tokens are hashed with.
- ``franking``: message-franking secrets by key id; the newest tags new messages, older
  ones still verify reports about old messages.
- ``cookie_secret``: the key of signed media preview URLs is derived from it (console
  sessions are server-side: ``services/console_sessions.py``).
- ``credentials``: the keys partner credentials (exchange tokens and passwords) are
  sealed with in the database (AES-256-GCM, ``crypto/sealed.py``), by key id like the
  franking keys: the newest seals, older ones still open what they sealed until
  ``tidings admin credentials-rekey`` seals everything again under the newest. A file
  from before this key existed gets one on the next start.

Nothing here is ever logged; ``repr`` hides the values.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as _random
from dataclasses import dataclass, field, replace
from pathlib import Path

SECRET_BYTES = 32
SECRETS_FILE = "secrets.json"


@dataclass(frozen=True)
class ServerSecrets:
    token_pepper: bytes = field(repr=False)
    cookie_secret: bytes = field(repr=False)
    franking_current: str
    franking_keys: dict[str, bytes] = field(repr=False)
    credentials_current: str = "c1"
    credentials_keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "token_pepper": _enc(self.token_pepper),
            "cookie_secret": _enc(self.cookie_secret),
            "franking": {"current": self.franking_current,
                         "keys": {k: _enc(v) for k, v in self.franking_keys.items()}},
            "credentials": {"current": self.credentials_current,
                            "keys": {k: _enc(v) for k, v in self.credentials_keys.items()}},
        }


def _enc(value: bytes) -> str:
    return base64.b64encode(value).decode()


def generate() -> ServerSecrets:
    return ServerSecrets(
        token_pepper=_random.token_bytes(SECRET_BYTES),
        cookie_secret=_random.token_bytes(SECRET_BYTES),
        franking_current="k1",
        franking_keys={"k1": _random.token_bytes(SECRET_BYTES)},
        credentials_current="c1",
        credentials_keys={"c1": _random.token_bytes(SECRET_BYTES)},
    )


def _write(path: Path, value: ServerSecrets) -> None:
    """Atomically, mode 0600, synced: a crash leaves the old file or the new one."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(value.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create(data_dir: Path) -> ServerSecrets:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    if not path.exists():
        _write(path, generate())
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
    data = json.loads(path.read_text())
    dec = base64.b64decode
    franking = data["franking"]
    credentials = data.get("credentials") or {"current": "c1", "keys": {}}
    loaded = ServerSecrets(
        token_pepper=dec(data["token_pepper"]),
        cookie_secret=dec(data["cookie_secret"]),
        franking_current=str(franking["current"]),
        franking_keys={str(k): dec(v) for k, v in franking["keys"].items()},
        credentials_current=str(credentials["current"]),
        credentials_keys={str(k): dec(v) for k, v in credentials["keys"].items()},
    )
    if loaded.credentials_current not in loaded.credentials_keys:
        # A file from before the credentials key: add it, keep everything else.
        keys = {**loaded.credentials_keys,
                loaded.credentials_current: _random.token_bytes(SECRET_BYTES)}
        loaded = replace(loaded, credentials_keys=keys)
        _write(path, loaded)
    return loaded


def rotate_franking(data_dir: Path) -> str:
    """Add a new franking key and make it current; old keys keep verifying."""
    current = load_or_create(data_dir)
    new_id = f"k{len(current.franking_keys) + 1}"
    keys = dict(current.franking_keys)
    keys[new_id] = _random.token_bytes(SECRET_BYTES)
    _write(data_dir / SECRETS_FILE, replace(current, franking_current=new_id,
                                            franking_keys=keys))
    return new_id


def rotate_credentials_key(data_dir: Path) -> str:
    """Add a new credentials key and make it current. Older keys stay until every
    stored credential is sealed again (``tidings admin credentials-rekey``, which
    also drops the keys nothing uses any more: ``drop_credentials_keys``)."""
    current = load_or_create(data_dir)
    number = 1 + max((int(k[1:]) for k in current.credentials_keys if k[1:].isdigit()),
                     default=0)
    new_id = f"c{number}"
    keys = {**current.credentials_keys, new_id: _random.token_bytes(SECRET_BYTES)}
    _write(data_dir / SECRETS_FILE, replace(current, credentials_current=new_id,
                                            credentials_keys=keys))
    return new_id


def drop_credentials_keys(data_dir: Path, keep: set[str]) -> list[str]:
    """Remove the credentials keys not in ``keep`` (the current one always stays)."""
    current = load_or_create(data_dir)
    keep = keep | {current.credentials_current}
    dropped = sorted(k for k in current.credentials_keys if k not in keep)
    if dropped:
        keys = {k: v for k, v in current.credentials_keys.items() if k in keep}
        _write(data_dir / SECRETS_FILE, replace(current, credentials_keys=keys))
    return dropped
