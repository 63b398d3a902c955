"""Settings from defaults, an optional TOML file and ``TIDINGS_*`` environment variables.

Later sources win: defaults < ``<data>/tidings.toml`` (or the file named by
``TIDINGS_CONFIG``) < environment. Secrets never live here; see ``secrets.py``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tidings.protocol import limits
from tidings.protocol.limits import RateRule

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"


PASSWORD_MEMORY_KIB_MIN = 19456


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    """Empty means the SQLite file ``<data_dir>/tidings.db``."""
    redis_url: str = ""
    """Empty means the in-process bus and rate limits (one server process)."""
    redis_prefix: str = "tidings:"
    """Prefix of every Redis key and channel, so deployments can share one Redis."""
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_url: str = ""
    """The URL people reach this server at; empty means ``http://host:port``."""
    ws_send_queue: int = limits.WS_SEND_QUEUE_MAX
    max_body_bytes: int = limits.MAX_BODY_BYTES
    request_header_timeout_s: int = limits.REQUEST_HEADER_TIMEOUT_S
    """Seconds a client has to send a request's headers (slowloris guard)."""
    request_body_timeout_s: int = limits.REQUEST_BODY_IDLE_TIMEOUT_S
    """Seconds a client may pause while sending a request body."""
    log_level: str = "info"
    secure_cookies: bool = False
    """Set true behind TLS so console cookies carry the Secure flag."""
    console_idle_timeout_s: int = limits.CONSOLE_IDLE_TIMEOUT_S
    """A console session with no request for this long ends (the moderator logs in again)."""
    console_session_max_s: int = limits.CONSOLE_SESSION_MAX_S
    """A console session ends this long after login, however busy it is."""
    ws_connections_per_token: int = limits.WS_CONNECTIONS_PER_TOKEN
    """Concurrent WebSocket connections one access token may hold on this process; the
    next is closed with 4029."""
    reserved_names: tuple[str, ...] = field(default=())
    password_memory_kib: int = 65536
    """argon2id memory cost of account passwords, KiB (RFC 9106's low-memory profile:
    64 MiB); at least 19456 (OWASP's floor). Existing hashes are upgraded at login."""
    password_time_cost: int = 3
    """argon2id passes of account passwords (RFC 9106: 3); at least 2."""
    rate_limits: bool = True
    """Enforce the rates in ``limits.RATE_RULES`` and the login backoff (off: load tests)."""
    rates: tuple[str, ...] = field(default=())
    """Overrides of named rates as ``name=limit/period_seconds``, e.g. ``send=1200/60``."""
    job_concurrency: int = limits.JOB_CONCURRENCY
    """Background jobs this process runs at once; 0 runs none (a web-only process)."""
    webhook_scan_s: float = 5.0
    """How often this process looks for new webhook events (orders, cases, appeals)."""
    log_format: str = "text"
    """``text`` or ``json`` (one object a line, with the request id)."""
    provider_name: str = "Tidings"
    """The hosting service provider named in removal-order confirmations (TCO Annex II)."""
    legal_contact: str = ""
    """The point of contact for removal orders (TCO Art. 15), e.g. an e-mail address;
    empty means the orders API at the public URL."""
    quarantine_items: int = limits.QUARANTINE_ITEMS
    """A partner bank entry that matches more than this many distinct items from at least
    ``quarantine_uploaders`` uploaders within ``quarantine_window_s`` is quarantined and
    a case opened (0: never)."""
    quarantine_uploaders: int = limits.QUARANTINE_UPLOADERS
    quarantine_window_s: int = limits.QUARANTINE_WINDOW_S
    false_match_limit: int = limits.FALSE_MATCH_LIMIT
    """"No violation" decisions against one entry's matches before it is quarantined
    pending review (0: never)."""
    order_confirm_per_hour: int = 30
    """Orders one authority may send in an hour before each further one, still executed
    at once, waits for an admin's confirmation and alerts the admins (0: never)."""

    hma_clients: tuple[str, ...] = field(default=())
    """Clients of the HMA API (``/hma``) that send no ``Authorization`` header (Coop), as
    ``name=<SHA-256 hex of its secret>``, optionally ``@PREFIX`` to let it change only
    banks named ``PREFIX...``. The reverse proxy adds the secret in ``hma_client_header``."""
    hma_client_header: str = "X-Tidings-HMA-Key"
    hma_allow_addresses: tuple[str, ...] = field(default=())
    """Networks (CIDR) whose calls to ``/hma`` need no credentials (optionally
    ``@PREFIX``, as for ``hma_clients``). Empty: none; never open by default."""
    hma_label: str = "category:other_illegal"
    """The taxonomy category of entries banked through ``/hma`` (HMA content has none)."""
    hma_fetch_hosts: tuple[str, ...] = field(default=())
    """Hosts (and their subdomains) ``/hma`` may fetch ``?url=`` media from; empty: none."""
    hma_fetch_private: bool = False
    """Let ``?url=`` fetches reach loopback and private addresses (tests, closed networks)."""
    hma_fetch_max_bytes: int = limits.BANK_UPLOAD_MAX_BYTES
    hma_fetch_timeout_s: int = 10
    exchange_base_urls: tuple[str, ...] = field(default=())
    """``type=URL`` entries pointing an exchange type (``tat``, ``ncmec``,
    ``threatexchange``) at another API base URL than pytx's own (a partner's test
    environment, a local stand-in). Empty: pytx's URLs. Credentials go to these URLs."""

    def exchange_urls(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in self.exchange_base_urls:
            kind, _, url = entry.partition("=")
            if kind.strip() not in ("tat", "ncmec", "threatexchange") or not url.startswith(
                    ("https://", "http://")):
                raise ConfigError(f"exchange_base_urls: {entry!r} is not "
                                  "tat|ncmec|threatexchange=http(s)://...")
            out[kind.strip()] = url.strip()
        return out

    def hma_grants(self) -> tuple[dict[str, tuple[str, str]], list[tuple[Any, str]]]:
        """Parsed ``hma_clients`` ({sha256 hex: (name, prefix)}) and ``hma_allow_addresses``
        ([(network, prefix)]); ConfigError names a bad entry."""
        import ipaddress

        clients: dict[str, tuple[str, str]] = {}
        for entry in self.hma_clients:
            name, _, rest = entry.partition("=")
            digest, _, prefix = rest.partition("@")
            digest = digest.strip().lower().removeprefix("sha256:")
            if not name.strip() or len(digest) != 64 or any(
                    c not in "0123456789abcdef" for c in digest):
                raise ConfigError(f"hma_clients: {entry!r} is not name=<sha256 hex>[@PREFIX]")
            clients[digest] = (name.strip(), prefix.strip())
        networks: list[tuple[Any, str]] = []
        for entry in self.hma_allow_addresses:
            cidr, _, prefix = entry.partition("@")
            try:
                networks.append((ipaddress.ip_network(cidr.strip(), strict=False),
                                 prefix.strip()))
            except ValueError as exc:
                raise ConfigError(f"hma_allow_addresses: {entry!r}: {exc}") from exc
        return clients, networks

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').resolve()}"

    @property
    def password_cost(self) -> tuple[int, int]:
        """argon2id's (memory KiB, passes) for account passwords."""
        return (self.password_memory_kib, self.password_time_cost)

    def rate_rules(self) -> dict[str, RateRule]:
        """``limits.RATE_RULES`` with the ``rates`` overrides applied (scopes stay)."""
        rules = dict(limits.RATE_RULES)
        for entry in self.rates:
            name, _, value = entry.partition("=")
            name = name.strip()
            if name not in rules:
                raise ConfigError(f"rates: unknown rate {name!r} (known: "
                                  f"{', '.join(sorted(rules))})")
            count, _, period = value.partition("/")
            try:
                rules[name] = RateRule(name, int(count), int(period), rules[name].scope)
            except ValueError as exc:
                raise ConfigError(f"rates: {entry!r} is not name=limit/period_seconds "
                                  "with positive numbers") from exc
        return rules

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class ConfigError(ValueError):
    code = "bad_config"


_ENV_PREFIX = "TIDINGS_"


def _coerce(name: str, raw: Any, current: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        try:
            return int(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if isinstance(current, Path):
        return Path(str(raw))
    if isinstance(current, tuple):
        if isinstance(raw, list):
            return tuple(str(x) for x in raw)
        return tuple(x.strip() for x in str(raw).split(",") if x.strip())
    return str(raw)


def load_settings(data_dir: Path | None = None, env: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    environ = dict(os.environ if env is None else env)
    settings = Settings()
    names = {f.name: f for f in fields(Settings)}
    if data_dir is None and environ.get(_ENV_PREFIX + "DATA"):
        data_dir = Path(environ[_ENV_PREFIX + "DATA"])
    if data_dir is not None:
        settings = replace(settings, data_dir=data_dir)
    config_file = Path(environ.get(_ENV_PREFIX + "CONFIG") or settings.data_dir / "tidings.toml")
    values: dict[str, Any] = {}
    if config_file.is_file():
        try:
            parsed = tomllib.loads(config_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: {exc}") from exc
        for key, raw in parsed.items():
            if key not in names or key == "data_dir":
                raise ConfigError(f"{config_file}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, getattr(settings, key))
    for name in names:
        raw_env = environ.get(_ENV_PREFIX + name.upper())
        if raw_env is not None and name != "data_dir":
            values[name] = _coerce(name, raw_env, getattr(settings, name))
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
    settings = replace(settings, **values)
    settings.rate_rules()  # a bad override stops the server at start, not at a request
    settings.hma_grants()
    settings.exchange_urls()
    if settings.log_format not in ("text", "json"):
        raise ConfigError(f"log_format must be 'text' or 'json', not {settings.log_format!r}")
    if settings.webhook_scan_s <= 0:
        raise ConfigError("webhook_scan_s must be positive")
    if settings.password_memory_kib < PASSWORD_MEMORY_KIB_MIN or settings.password_time_cost < 2:
        raise ConfigError(f"password_memory_kib must be at least {PASSWORD_MEMORY_KIB_MIN} "
                          "and password_time_cost at least 2 (OWASP's argon2id floor)")
    for name in ("console_idle_timeout_s", "console_session_max_s",
                 "ws_connections_per_token"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    if settings.console_idle_timeout_s > settings.console_session_max_s:
        raise ConfigError("console_idle_timeout_s must not exceed console_session_max_s")
    return settings
