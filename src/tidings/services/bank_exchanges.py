"""Which hash-sharing exchanges a bank can fetch from, and how each is built.

Exchanges are python-threatexchange ``SignalExchangeAPI`` implementations, named by
an exchange type. Credentials are pytx's own credential strings (``user:password`` or a
token): the ones set through the HMA API, sealed in the database
(``services/exchange_credentials.py``), come first; otherwise an exchange config names
an environment variable (``credentials_ref``, default per type below) that the server
reads when it builds the exchange. None of either is a clear error naming both.

Local-file exchanges read only files under ``<data>/exchanges/``: an admin API must
not be a way to read arbitrary files on the server. Likewise the partners' API base
URLs are pytx's own; only the server's configuration (``base_urls``, used by tests
against a local stand-in) can point an exchange type elsewhere, never an API call.

The TAT and NCMEC classes below are pytx's with two additions: a base URL override,
and (TAT) a count of the records pytx's own mapping drops (``take_rejected``), so the
status can say that e.g. image MD5s from TCAP were left out, and why.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.techagainstterrorism import api as tat_client
from threatexchange.exchanges.fetch_state import (
    FetchCheckpointBase,
    FetchDelta,
    FetchedSignalMetadata,
)
from threatexchange.exchanges.impl import techagainstterrorism_api as tat_impl
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeCredentials,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.exchanges.impl.ncmec_api import (
    NCMECCollabConfig,
    NCMECSignalExchangeAPI,
)
from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI
from threatexchange.exchanges.impl.techagainstterrorism_api import (
    TATCheckpoint,
    TATSignalExchangeAPI,
)
from threatexchange.signal_type.signal_base import SignalType
from threatexchange.utils.dataclass_json import dataclass_dumps, dataclass_loads

from tidings.moderation.manifest import SIGNAL_TYPES
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest
from tidings.storage.banks import ExchangeRecord

LOCAL_FILE_DIR = "exchanges"
"""Directory under the data directory that local-file exchanges may read."""

DEFAULT_CREDENTIAL_ENV = {
    "threatexchange": "TIDINGS_TX_ACCESS_TOKEN",
    "ncmec": "TIDINGS_NCMEC_CREDENTIALS",
    "tat": "TIDINGS_TAT_CREDENTIALS",
}
EXCHANGE_TYPES = ("local_file", "static_sample", *DEFAULT_CREDENTIAL_ENV)


class TidingsTATExchange(TATSignalExchangeAPI):
    """pytx's TAT exchange, counting what its mapping drops.

    pytx keeps PDQ and the MD5s of video files (mov, m4v, mp4, webm) and drops every
    other record without a trace (``techagainstterrorism_api._get_delta_mapping``
    returns an empty key). Same iteration and mapping as pytx's ``fetch_iter``, through
    pytx's own functions; the dropped records are counted by algorithm and file type."""

    base_url: str | None = None

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._rejected: dict[str, int] = {}

    def get_client(self) -> tat_client.TATHashListAPI:
        client = super().get_client()
        if self.base_url:
            client.BASE_URL = self.base_url  # type: ignore[misc]  # instance override
        return client

    def take_rejected(self) -> dict[str, int]:
        out, self._rejected = self._rejected, {}
        return out

    def fetch_iter(self, _supported_signal_types: t.Sequence[type[SignalType]],
                   checkpoint: TATCheckpoint | None
                   ) -> t.Iterator[FetchDelta[tuple[str, str], FetchedSignalMetadata,
                                              TATCheckpoint]]:
        client = self.get_client()
        after = checkpoint.checkpoint if checkpoint is not None else ""
        for page in client.fetch_hashes_iter(after):
            updates: dict[tuple[str, str], FetchedSignalMetadata | None] = {}
            for record in page.results:
                key, meta = tat_impl._get_delta_mapping(record)
                if not key[0]:
                    reason = (f"tat {record.algorithm} of {record.file_type or 'unknown'} "
                              "file: pytx maps only PDQ and video MD5")
                    self._rejected[reason] = self._rejected.get(reason, 0) + 1
                    continue
                updates[key] = meta
            yield FetchDelta(updates, TATCheckpoint(page.checkpoint) if page.checkpoint
                             else checkpoint)  # type: ignore[arg-type]  # as pytx does


class TidingsNCMECExchange(NCMECSignalExchangeAPI):
    """pytx's NCMEC exchange; ``base_url`` replaces the environment's URL (tests)."""

    base_url: str | None = None

    def get_client(self, environment: t.Any) -> t.Any:
        client = super().get_client(environment)
        if self.base_url:
            client._base_url = self.base_url.rstrip("/")  # pytx keeps it private
        return client


@dataclass(frozen=True, slots=True)
class BuiltExchange:
    api: t.Any
    checkpoint_cls: type[FetchCheckpointBase]


ExchangeFactory = Callable[[ExchangeRecord, str | None], BuiltExchange]
"""Builds an exchange from its record and the stored (opened) credential, if any."""


class ExchangeConfigError(BadRequest):
    default_code = "exchange_misconfigured"


def check_type(exchange_type: str) -> str:
    if exchange_type not in EXCHANGE_TYPES:
        raise ExchangeConfigError(f"unknown exchange type {exchange_type!r}; known: "
                                  + ", ".join(EXCHANGE_TYPES), "unknown_exchange_type")
    return exchange_type


def dump_checkpoint(checkpoint: FetchCheckpointBase) -> str:
    return dataclass_dumps(checkpoint)


def load_checkpoint(text: str | None, cls: type[FetchCheckpointBase]
                    ) -> FetchCheckpointBase | None:
    return None if text is None else dataclass_loads(text, cls)


class Exchanges:
    """Builds exchanges from stored configs; the server passes its environment."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str],
                 base_urls: Mapping[str, str] | None = None) -> None:
        self.local_dir = (data_dir / LOCAL_FILE_DIR).resolve()
        self.environ = environ
        self.base_urls = dict(base_urls or {})
        """Exchange type -> API base URL, replacing pytx's (server config, tests)."""

    def __call__(self, record: ExchangeRecord, stored: str | None = None) -> BuiltExchange:
        """``stored``: the credential set through the HMA API (preferred to the
        environment)."""
        kind = check_type(record.exchange_type)
        if kind == "local_file":
            return self._local_file(record)
        if kind == "static_sample":
            return BuiltExchange(StaticSampleSignalExchangeAPI(),
                                 StaticSampleSignalExchangeAPI.get_checkpoint_cls())
        secret = stored.strip() if stored and stored.strip() else self._credentials(record)
        user, _, password = secret.partition(":")
        if kind == "threatexchange":
            group = record.config.get("privacy_group")
            if not isinstance(group, int):
                raise ExchangeConfigError("a threatexchange exchange needs config "
                                          "{\"privacy_group\": <id>}")
            collab = FBThreatExchangeCollabConfig(name=record.name, privacy_group=group)
            api: t.Any = FBThreatExchangeSignalExchangeAPI(
                ThreatExchangeAPI(FBThreatExchangeCredentials(secret).api_token,
                                  endpoint_override=self.base_urls.get("threatexchange")),
                collab)
            return BuiltExchange(api, FBThreatExchangeSignalExchangeAPI.get_checkpoint_cls())
        if not password:
            raise ExchangeConfigError(f"{self._env_name(record)} must be username:password",
                                      "exchange_credentials_invalid")
        if kind == "ncmec":
            from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment

            try:
                env = NCMECEnvironment[str(record.config.get("environment", "Industry"))]
            except KeyError:
                raise ExchangeConfigError("unknown NCMEC environment; one of "
                                          + ", ".join(e.name for e in NCMECEnvironment)) from None
            ncmec = TidingsNCMECExchange(NCMECCollabConfig(name=record.name, environment=env),
                                         user, password)
            ncmec.base_url = self.base_urls.get("ncmec")
            return BuiltExchange(ncmec, NCMECSignalExchangeAPI.get_checkpoint_cls())
        tat = TidingsTATExchange(user, password)
        tat.base_url = self.base_urls.get("tat")
        return BuiltExchange(tat, TATSignalExchangeAPI.get_checkpoint_cls())

    def _env_name(self, record: ExchangeRecord) -> str:
        return record.credentials_ref or DEFAULT_CREDENTIAL_ENV[record.exchange_type]

    def _credentials(self, record: ExchangeRecord) -> str:
        name = self._env_name(record)
        value = self.environ.get(name, "").strip()
        if not value:
            raise ExchangeConfigError(
                f"the {record.exchange_type} exchange {record.name!r} needs credentials: "
                f"set them through the HMA API (POST /hma/c/exchanges/api/...) or {name} in "
                "the server's environment", "exchange_credentials_missing")
        return value

    def _local_file(self, record: ExchangeRecord) -> BuiltExchange:
        filename = record.config.get("filename")
        if not isinstance(filename, str) or not filename:
            raise ExchangeConfigError("a local_file exchange needs config {\"filename\": ...}")
        path = (self.local_dir / filename).resolve()
        if not path.is_relative_to(self.local_dir):
            raise ExchangeConfigError(f"local_file exchanges read only files under "
                                      f"{self.local_dir}", "exchange_path_outside")
        if not path.is_file():
            raise ExchangeConfigError(f"no file {filename!r} under {self.local_dir}",
                                      "exchange_file_missing")
        signal_type = record.config.get("signal_type")
        if signal_type is not None and signal_type not in SIGNAL_TYPES:
            raise ExchangeConfigError(f"unknown signal type {signal_type!r}")
        collab = FileCollaborationConfig(name=record.name, api="local_file", enabled=True,
                                         filename=str(path), signal_type=signal_type)
        return BuiltExchange(LocalFileSignalExchangeAPI(collab),
                             LocalFileSignalExchangeAPI.get_checkpoint_cls())


# --- status of fetch runs ----------------------------------------------------------


def backoff_ms(failures: int, interval_s: int | None) -> int:
    """Delay before the next try after ``failures`` failed runs in a row: doubling from
    ``EXCHANGE_BACKOFF_BASE_S``, capped at ``EXCHANGE_BACKOFF_MAX_S`` (and never past a
    scheduled exchange's own interval when that is longer than the base)."""
    delay = limits.EXCHANGE_BACKOFF_BASE_S * 2 ** max(0, failures - 1)
    cap = limits.EXCHANGE_BACKOFF_MAX_S
    if interval_s is not None:
        cap = min(cap, max(interval_s, limits.EXCHANGE_BACKOFF_BASE_S))
    return int(min(delay, cap) * 1000)


def _merge_reasons(into: dict[str, int], more: Mapping[str, int]) -> None:
    for reason, n in more.items():
        if reason in into or len(into) < limits.EXCHANGE_REASONS_KEPT:
            into[reason] = into.get(reason, 0) + n
        else:
            into["other reasons"] = into.get("other reasons", 0) + n


@dataclass
class StatusTracker:
    """Builds an exchange's status JSON through one run.

    ``totals`` and ``rejected_by_reason`` are cumulative over every run; ``last_run``
    (or ``progress`` while running) is this run's. Written with each batch's commit, so
    after a crash the totals match what was committed."""

    previous: dict[str, t.Any]
    started_at: int
    batches: int = 0
    fetched: int = 0
    added: int = 0
    duplicates: int = 0
    removed: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def batch(self, fetched: int, rejected: Mapping[str, int]) -> None:
        self.batches += 1
        self.fetched += fetched
        _merge_reasons(self.rejected_by_reason, rejected)

    def applied(self, added: int, duplicates: int, removed: int) -> None:
        self.added += added
        self.duplicates += duplicates
        self.removed += removed

    def _run(self) -> dict[str, t.Any]:
        return {"started_at": self.started_at, "batches": self.batches,
                "fetched": self.fetched, "added": self.added, "duplicates": self.duplicates,
                "removed": self.removed, "rejected": self.rejected,
                "rejected_by_reason": dict(self.rejected_by_reason)}

    def _with_totals(self, **changes: t.Any) -> dict[str, t.Any]:
        out = {k: v for k, v in self.previous.items() if k not in ("progress",)}
        base = self.previous.get("totals", {})
        out["totals"] = {k: int(base.get(k, 0)) + getattr(self, k)
                         for k in ("added", "removed", "rejected")}
        reasons = dict(self.previous.get("rejected_by_reason", {}))
        _merge_reasons(reasons, self.rejected_by_reason)
        out["rejected_by_reason"] = reasons
        out.update(changes)
        return out

    def start(self) -> dict[str, t.Any]:
        return {**self.previous, "state": "running", "running_since": self.started_at,
                "last_attempt_at": self.started_at, "progress": self._run()}

    def progress(self, added: int, removed: int) -> dict[str, t.Any]:
        """During a batch's commit: this batch's added/removed are not applied yet."""
        self.applied(added, 0, removed)
        try:
            return self._with_totals(state="running", running_since=self.started_at,
                                     progress=self._run())
        finally:
            self.applied(-added, 0, -removed)

    def done(self, now: int) -> dict[str, t.Any]:
        return self._with_totals(state="ok", running_since=None, last_success_at=now,
                                 last_run={**self._run(), "finished_at": now})

    def failed(self, error: str, now: int) -> dict[str, t.Any]:
        return self._with_totals(state="failed", running_since=None, last_error=error,
                                 last_error_at=now,
                                 last_run={**self._run(), "finished_at": now, "error": error})
