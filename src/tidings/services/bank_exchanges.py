"""Which hash-sharing exchanges a bank can fetch from, and how each is built.

Exchanges are python-threatexchange ``SignalExchangeAPI`` implementations, named by
an exchange type. Credentials never live in the database: an exchange config names an
environment variable (``credentials_ref``, default per type below) that the server
reads when it builds the exchange, in pytx's own credential string format
(``user:password`` or a token). A missing variable is a clear error naming it.

Local-file exchanges read only files under ``<data>/exchanges/``: an admin API must
not be a way to read arbitrary files on the server.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from threatexchange.exchanges.fetch_state import FetchCheckpointBase
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
    NCMECCredentials,
    NCMECSignalExchangeAPI,
)
from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI
from threatexchange.exchanges.impl.techagainstterrorism_api import TATSignalExchangeAPI
from threatexchange.utils.dataclass_json import dataclass_dumps, dataclass_loads

from tidings.moderation.manifest import SIGNAL_TYPES
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


@dataclass(frozen=True, slots=True)
class BuiltExchange:
    api: t.Any
    checkpoint_cls: type[FetchCheckpointBase]


ExchangeFactory = Callable[[ExchangeRecord], BuiltExchange]


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

    def __init__(self, data_dir: Path, environ: Mapping[str, str]) -> None:
        self.local_dir = (data_dir / LOCAL_FILE_DIR).resolve()
        self.environ = environ

    def __call__(self, record: ExchangeRecord) -> BuiltExchange:
        kind = check_type(record.exchange_type)
        if kind == "local_file":
            return self._local_file(record)
        if kind == "static_sample":
            return BuiltExchange(StaticSampleSignalExchangeAPI(),
                                 StaticSampleSignalExchangeAPI.get_checkpoint_cls())
        secret = self._credentials(record)
        user, _, password = secret.partition(":")
        if kind == "threatexchange":
            group = record.config.get("privacy_group")
            if not isinstance(group, int):
                raise ExchangeConfigError("a threatexchange exchange needs config "
                                          "{\"privacy_group\": <id>}")
            api: t.Any = FBThreatExchangeSignalExchangeAPI.for_collab(
                FBThreatExchangeCollabConfig(name=record.name, privacy_group=group),
                FBThreatExchangeCredentials(secret))
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
            api = NCMECSignalExchangeAPI.for_collab(
                NCMECCollabConfig(name=record.name, environment=env),
                NCMECCredentials(user, password))
            return BuiltExchange(api, NCMECSignalExchangeAPI.get_checkpoint_cls())
        return BuiltExchange(TATSignalExchangeAPI(user, password),
                             TATSignalExchangeAPI.get_checkpoint_cls())

    def _env_name(self, record: ExchangeRecord) -> str:
        return record.credentials_ref or DEFAULT_CREDENTIAL_ENV[record.exchange_type]

    def _credentials(self, record: ExchangeRecord) -> str:
        name = self._env_name(record)
        value = self.environ.get(name, "").strip()
        if not value:
            raise ExchangeConfigError(
                f"the {record.exchange_type} exchange {record.name!r} needs credentials: "
                f"set {name} in the server's environment", "exchange_credentials_missing")
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
