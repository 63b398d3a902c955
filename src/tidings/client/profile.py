"""A person's client profile directory: server, device token and stream position.

The file is written atomically with mode 0600; the token in it is a password.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROFILE_FILE = "profile.json"


class ProfileError(Exception):
    code = "no_profile"


@dataclass
class Profile:
    server: str
    username: str
    device_id: str
    token: str
    stream_pos: int = 0


def default_dir() -> Path:
    return Path(os.environ.get("TIDINGS_PROFILE") or Path.home() / ".tidings")


def load(directory: Path) -> Profile:
    path = directory / PROFILE_FILE
    if not path.exists():
        raise ProfileError(f"no login in profile {directory}; run `tidings account login` "
                           "or `tidings account register` first")
    data = json.loads(path.read_text())
    return Profile(**{k: data[k] for k in Profile.__dataclass_fields__ if k in data})


def save(directory: Path, profile: Profile) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / PROFILE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(profile), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def remove(directory: Path) -> None:
    (directory / PROFILE_FILE).unlink(missing_ok=True)
