"""Fetching media by URL for the HMA API (``?url=``), with SSRF guards.

HMA clients (Coop) hash and bank *by URL*, which turns the server into a fetcher of
addresses a caller chooses. So every fetch, and every redirect, is checked:

- the host must be on the operator's allow-list (``hma_fetch_hosts``: a name matches
  itself and its subdomains, as in HMA's ``ALLOWED_HOSTNAMES``); an empty list refuses
  every URL;
- the name is resolved here and *every* address must be public (no loopback, private,
  link-local, multicast, reserved or unspecified address, IPv4-mapped ones included)
  unless the operator allowed private addresses (``hma_fetch_private``); the
  connection then goes to the checked address (the name is sent as Host and TLS SNI,
  and the certificate is checked against it), so a second resolution cannot swap in
  another address (DNS rebinding);
- a time limit for the whole fetch, redirects included (``hma_fetch_timeout_s``), a
  size limit (``hma_fetch_max_bytes``, on the declared length and on the bytes read),
  at most ``MAX_REDIRECTS`` redirects, http and https only;
- what was fetched is classified by its bytes (``services/imaging.sniff``), never by
  the server's ``Content-Type``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from tidings.protocol.errors import BadRequest, PayloadTooLarge

MAX_REDIRECTS = 3
USER_AGENT = "Tidings-HMA-fetch/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    hosts: tuple[str, ...] = ()
    allow_private: bool = False
    max_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 10.0


class FetchRefused(BadRequest):
    code = "url_refused"


def host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h)
               for h in (x.lower().strip().rstrip(".") for x in hosts) if h)


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified) and ip.is_global


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host)
        return [literal]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchRefused(f"cannot resolve {host}: {exc}", "url_unresolvable") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def _checked_address(url: str, policy: FetchPolicy) -> tuple[str, str, IPAddress, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("Invalid or unsafe URL provided: http(s) URLs only", "url_invalid")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("Invalid or unsafe URL provided: bad port", "url_invalid") from None
    host = parts.hostname
    if not host_allowed(host, policy.hosts):
        raise FetchRefused(f"host {host} is not on this server's fetch allow-list "
                           "(hma_fetch_hosts)", "url_host_not_allowed")
    addresses = await resolve(host, port)
    if not addresses:
        raise FetchRefused(f"{host} has no address", "url_unresolvable")
    if not policy.allow_private:
        for ip in addresses:
            if not is_public(ip):
                raise FetchRefused(f"{host} resolves to a non-public address ({ip}); "
                                   "refused", "url_private_address")
    return parts.scheme, host, addresses[0], port


async def fetch(url: str, policy: FetchPolicy) -> bytes:
    """The body at ``url`` within the policy; 400 (``url_*``) or 413 otherwise."""
    try:
        async with asyncio.timeout(policy.timeout_s), httpx.AsyncClient(
                follow_redirects=False, timeout=policy.timeout_s, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                scheme, host, ip, port = await _checked_address(url, policy)
                parts = urlsplit(url)
                netloc = f"[{ip}]" if ip.version == 6 else str(ip)
                target = f"{scheme}://{netloc}:{port}{parts.path or '/'}"
                if parts.query:
                    target += "?" + parts.query
                default_port = 443 if scheme == "https" else 80
                request = client.build_request(
                    "GET", target,
                    headers={"Host": host if port == default_port else f"{host}:{port}",
                             "User-Agent": USER_AGENT, "Accept": "image/*, video/*",
                             "Accept-Encoding": "identity"},
                    extensions={"sni_hostname": host})
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchRefused(f"Failed to fetch URL: the server answered "
                                           f"{response.status_code}", "url_fetch_failed")
                    return await _read_bounded(response, policy.max_bytes)
                finally:
                    await response.aclose()
            raise FetchRefused(f"more than {MAX_REDIRECTS} redirects", "url_redirects")
    except TimeoutError:
        raise FetchRefused(f"fetch took over {policy.timeout_s:g} s", "url_timeout") from None
    except httpx.HTTPError as exc:
        raise FetchRefused(f"Failed to fetch URL: {type(exc).__name__}: {exc}"[:300],
                           "url_fetch_failed") from exc


async def _read_bounded(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Content too large: over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Content too large: over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
