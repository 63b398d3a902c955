"""Rules no JSON Schema states, met by the fuzzer's positive cases on the staff routes.

Each operation below publishes in ``/openapi.json`` every rule a schema can state, and
describes the rest in its description (docs/hostile-inputs.md, "What the schema cannot
say"). A real client meets those rules: it uploads a rules file that parses, asks for
pytx names in the pytx format, sends a hash of the type it names, a URL the server may
fetch, the bytes of a photo. :func:`satisfy_staff_rules` makes a *positive* case do the
same, touching only the fields the rule concerns; the rest stay as generated, and
negative cases are left alone. Then ``positive_data_acceptance`` runs on these
operations like on every other (tests/server/test_fuzz_api.py). Schemathesis validates
a changed case again: a fix that broke the schema would make the case negative, and
the server's acceptance of it would fail ``negative_data_rejection``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.generation.meta import ComponentInfo
from schemathesis.transport.serialization import Binary

from tests.server.hma_util import start_media_server
from tidings.moderation.pytx_names import known_names
from tidings.services.exchange_credentials import CREDENTIAL_CLASSES, credential_fields

ROOT = Path(__file__).resolve().parents[2]
PHOTO = (ROOT / "tests" / "data" / "hma" / "bridge-256.jpg").read_bytes()
"""A real photo (tests/data/hma/README.md): what an HMA client hashes or looks up."""
RULES = (ROOT / "src" / "tidings" / "moderation" / "data" / "default_rules.toml").read_text()
SERVER_ENV = {"TIDINGS_HMA_FETCH_HOSTS": "127.0.0.1", "TIDINGS_HMA_FETCH_PRIVATE": "true"}
"""The fuzz server may fetch ``?url=`` media from 127.0.0.1 (:func:`media_url`)."""
API_TYPES = {"fb_threatexchange": "threatexchange", "ncmec": "ncmec", "tat": "tat"}
"""HMA's API names that take credentials -> Tidings' exchange types."""

BANK = "FUZZ_STAFF"
"""A bank with one banked item: every other positive case names it (or the item), so
the code behind the 404 runs too. It is disabled: what the fuzzer banks in it must not
refuse other operations' posts."""
AIMED = {"POST /api/v1/banks/{name}/entries": "name", "GET /api/v1/banks/{name}/export": "name",
         "PUT /hma/c/bank/{bank_name}/content/{content_id}": "bank_name"}

_media: list[str] = []
_item: list[int] = []
_aimed: dict[str, int] = {}


class Server(Protocol):
    url: str
    admin_token: str


def _bank_item(server: Server) -> int:
    """The id of the item banked in :data:`BANK`, made on first use."""
    if not _item:
        with httpx.Client(base_url=server.url, timeout=30, headers={
                "Authorization": f"Bearer {server.admin_token}"}) as http:
            made = http.post("/api/v1/banks", json={"name": BANK, "enabled": False})
            assert made.status_code in (201, 409), made.text
            item = http.post(f"/hma/c/bank/{BANK}/signal", json={"pdq": signal_of("pdq", BANK)})
            item.raise_for_status()
            _item.append(int(item.json()["id"]))
    return _item[0]


def _aim(server: Server, case: Case) -> None:
    """Every other positive case on a bank route names :data:`BANK` and its item."""
    label = case.operation.label
    _aimed[label] = _aimed.get(label, 0) + 1
    if label in AIMED and _aimed[label] % 2:
        item = _bank_item(server)
        case.path_parameters = {**case.path_parameters, AIMED[label]: BANK}
        if "content_id" in case.path_parameters:
            case.path_parameters["content_id"] = item


def media_url(path: str) -> str:
    """A URL on an allowed host (127.0.0.1) whose every path answers the photo."""
    if not _media:
        _media.append(start_media_server({}, (200, {"Content-Type": "image/jpeg"}, PHOTO))[1])
    return f"{_media[0]}/{hashlib.sha256(path.encode('utf-8', 'replace')).hexdigest()[:16]}"


def signal_of(signal_type: str, seed: Any) -> str:
    """A value of ``signal_type`` (pytx or Tidings name) drawn from ``seed``: the hex
    digits of a digest, in the type's format."""
    digest = hashlib.sha512(str(seed).encode("utf-8", "replace")).hexdigest()
    if signal_type in ("md5", "video_md5"):
        return digest[:32]
    if signal_type in ("text_near", "text_quote"):
        return digest * 4
    if signal_type == "url":
        return f"https://example.org/{digest[:16]}"
    if signal_type == "raw_text":  # letters only: digits give a second folded form
        return "fuzz " + digest[:8].translate(str.maketrans("0123456789", "ghijklmnop"))
    if signal_type == "vpdq":
        return json.dumps([f"{digest[:64]},100,0.000"])
    return digest[:64]  # pdq, sha256, video_sha256, text_exact, text_slogan


def _known(signal_type: Any) -> str:
    names = known_names()
    return signal_type if signal_type in names else names[len(str(signal_type)) % len(names)]


def _rules_file(text: Any) -> str:
    """The default rules with the case's text in every rule's name and description:
    what the server enforces stays the same for the rest of the run."""
    text = "".join(c for c in str(text) if c != "\x00" and not 0xD800 <= ord(c) < 0xE000)
    slug = "".join(c for c in text.lower() if c.isascii() and (c.isalnum() or c in "_-"))
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '"\\\x7f' else c
                      for c in text)
    out, count = [], 0
    for line in RULES.splitlines():
        if line.startswith("name = "):
            count += 1
            line = f'name = "r{count}-{slug[:50]}"'
        elif line.startswith("description = "):
            line = f'description = "{escaped}"'
        out.append(line)
    return "\n".join(out) + "\n"


def _photo_upload(case: Case) -> None:
    """A photo under the field the case chose (photo or file; video holds a photo's
    bytes no more than a real client's would, so it becomes photo)."""
    field = next(iter(case.body), "photo") if isinstance(case.body, dict) else "photo"
    case.body = {"file" if field == "file" else "photo": Binary(PHOTO)}
    # Schemathesis cannot validate changed bytes again (``contains_binary``: it takes
    # them for negative); a field of the schema holding a file is what it asks for.
    meta = case.meta
    assert meta is not None
    meta.components[ParameterLocation.BODY] = ComponentInfo(mode=GenerationMode.POSITIVE)
    if all(info.mode.is_positive for info in meta.components.values()):
        meta.generation.mode = GenerationMode.POSITIVE


def _fetched(query: dict[str, Any]) -> None:
    query["url"] = media_url(str(query.get("url")))
    if query.get("content_type") is not None:
        query["content_type"] = "photo"
    if query.get("types") is not None:
        query["types"] = "pdq"  # what a photo yields


def _export(case: Case) -> None:
    if case.query and case.query.get("names") == "pytx":
        case.query["format"] = "pytx"


def _rules(case: Case) -> None:
    case.body = _rules_file(case.body)


def _entry(case: Case) -> None:
    body = case.body
    if case.media_type != "application/json":  # a file: labelled in the query
        if not (case.query or {}).get("label"):
            case.query = {**(case.query or {}), "label": ["spam"]}
        return
    if not isinstance(body, dict):
        return
    if body.get("slogan") and isinstance(body.get("text"), str):  # 12..280 letters
        body["text"] = "slogan " + signal_of("raw_text", body["text"]).removeprefix("fuzz ") * 2
    if body.get("url") is not None:
        body["url"] = f"https://example.org/{hashlib.sha256(body['url'].encode()).hexdigest()}"
    if body.get("signal_type") is not None:
        body["value"] = signal_of(body["signal_type"], body.get("value"))


def _hash_url(case: Case) -> None:
    _fetched(case.query)


def _lookup(case: Case) -> None:
    query = case.query
    if query.get("url"):
        _fetched(query)
        return
    query["signal_type"] = _known(query.get("signal_type"))
    query["signal"] = signal_of(query["signal_type"], query.get("signal"))


def _raw_lookup(case: Case) -> None:
    case.query["signal"] = signal_of(case.query["signal_type"], case.query.get("signal"))


def _compare(case: Case) -> None:
    case.body = {name: [signal_of(name, a), signal_of(name, b)]
                 for name, (a, b) in case.body.items()}


def _credentials(case: Case) -> None:
    """The fields of this API's credentials_schema, with the case's strings in them."""
    given = case.body.get("credential_json") if isinstance(case.body, dict) else None
    if not given:
        return  # null sets nothing, {} clears
    fields = credential_fields(API_TYPES.get(case.path_parameters["api_name"], ""))
    if fields is None:
        case.body["credential_json"] = {}
        return
    values = [v for v in given.values() if isinstance(v, str)] or ["token"]
    creds = {f["name"]: values[i % len(values)] for i, f in enumerate(fields)}
    if len(fields) == 2:  # user:password: no ':' in the user
        user = fields[0]["name"]
        creds[user] = creds[user].replace(":", "").strip() or "user"
    case.body["credential_json"] = creds


def _content_update(case: Case) -> None:
    until = case.body.get("disable_until_ts") if isinstance(case.body, dict) else None
    if isinstance(until, int | float) and until > time.time():
        case.body["disable_until_ts"] = 1  # enable: no disabling until a future time


FIXES: dict[str, Callable[[Case], None]] = {
    # names=pytx needs format=pytx: two query parameters, no schema relates them
    "GET /api/v1/banks/{name}/export": _export,
    # the rules file's TOML: a real rules file, the case's text in names and descriptions
    "PUT /api/v1/admin/rules": _rules,
    # a URL entry must parse as one; a signal value must decode as its type; a slogan
    # needs 12 to 280 letters or digits (Unicode's, after normalising); a file needs
    # ?label= (a JSON entry has its labels in the body)
    "POST /api/v1/banks/{name}/entries": _entry,
    # uploads are hashed: the bytes of a real photo
    "POST /hma/h/hash": _photo_upload,
    "POST /hma/m/lookup": _photo_upload,
    # ?url= is fetched from an allowed host, and must be a photo or video
    "GET /hma/h/hash": _hash_url,
    # url, or a known signal type with a signal of its format
    "GET /hma/m/lookup": _lookup,
    "GET /hma/m/raw_lookup": _raw_lookup,
    "POST /hma/m/compare": _compare,
    # credentials are those of the API in the path (or none for sample, local_file)
    "POST /hma/c/exchanges/api/{api_name}": _credentials,
    # a future time is refused: Tidings has no timed disable
    "PUT /hma/c/bank/{bank_name}/content/{content_id}": _content_update,
}
assert set(API_TYPES.values()) == set(CREDENTIAL_CLASSES)


def satisfy_staff_rules(server: Server, case: Case) -> None:
    """Make a positive case meet its operation's unstated rule (:data:`FIXES`)."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    _aim(server, case)
    fix = FIXES.get(case.operation.label)
    if fix is not None:
        fix(case)
