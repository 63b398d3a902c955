"""``?url=`` fetches of the HMA API (server/url_fetch.py): only allow-listed hosts, no
private or loopback addresses unless the operator allows them, size limits, redirects
re-checked, and the media's kind taken from its bytes. The media server runs on
127.0.0.1, so most tests allow private addresses explicitly; one shows the default."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppFactory
from tests.server.hma_util import COOP, COOP_CLIENT, PHOTO, PHOTO_PDQ, media_server

ROUTES = {
    "/photo.jpg": (200, {"Content-Type": "image/jpeg"}, PHOTO),
    "/page.jpg": (200, {"Content-Type": "image/jpeg"}, b"<html><body>not a photo</body></html>"),
    "/missing": (404, {}, b"no"),
    "/hop": (302, {"Location": "/photo.jpg"}, b""),
    "/away": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
}


async def hash_url(client: Any, url: str) -> Any:
    return await client.get("/hma/h/hash", params={"url": url}, headers=COOP)


async def test_loopback_is_refused_by_default(api: AppFactory) -> None:
    with media_server(ROUTES) as media:
        async with api(hma_clients=(COOP_CLIENT,), hma_fetch_hosts=("127.0.0.1", "localhost",
                                                                    "169.254.169.254")) as client:
            for url in (f"{media}/photo.jpg", f"http://localhost:{media.rsplit(':', 1)[1]}/",
                        "http://169.254.169.254/latest/meta-data/", "http://[::1]/x"):
                refused = await hash_url(client, url)
                assert refused.status_code == 400, (url, refused.text)
                assert refused.json()["error"]["code"] in ("url_private_address",
                                                           "url_host_not_allowed"), url
            refused = await hash_url(client, f"{media}/photo.jpg")
            assert refused.json()["error"]["code"] == "url_private_address"
            assert "127.0.0.1" in refused.json()["message"]


async def test_only_allow_listed_hosts(api: AppFactory) -> None:
    with media_server(ROUTES) as media:
        async with api(hma_clients=(COOP_CLIENT,), hma_fetch_private=True) as client:
            refused = await hash_url(client, f"{media}/photo.jpg")  # empty list: nothing
            assert refused.json()["error"]["code"] == "url_host_not_allowed"
        async with api(hma_clients=(COOP_CLIENT,), hma_fetch_private=True,
                       hma_fetch_hosts=("example.org",)) as client:
            assert (await hash_url(client, f"{media}/photo.jpg")).json()["error"]["code"] \
                == "url_host_not_allowed"
            for url in ("file:///etc/passwd", "ftp://example.org/x", "http:///nohost"):
                bad = await hash_url(client, url)
                assert bad.status_code == 400 and bad.json()["error"]["code"] == "url_invalid"


async def test_limits_redirects_and_sniffing(api: AppFactory) -> None:
    with media_server(ROUTES) as media:
        async with api(hma_clients=(COOP_CLIENT,), hma_fetch_private=True,
                       hma_fetch_hosts=("127.0.0.1",)) as client:
            assert (await hash_url(client, f"{media}/photo.jpg")).json() == {"pdq": PHOTO_PDQ}
            assert (await hash_url(client, f"{media}/hop")).json() == {"pdq": PHOTO_PDQ}
            # a redirect is checked like the first URL: not on the list, not followed
            away = await hash_url(client, f"{media}/away")
            assert away.json()["error"]["code"] == "url_host_not_allowed"
            assert (await hash_url(client, f"{media}/loop")).json()["error"]["code"] \
                == "url_redirects"
            missing = await hash_url(client, f"{media}/missing")
            assert missing.status_code == 400
            assert missing.json()["error"]["code"] == "url_fetch_failed"
            # the server says image/jpeg; the bytes say otherwise
            page = await hash_url(client, f"{media}/page.jpg")
            assert page.status_code == 400
            assert page.json()["error"]["code"] == "unsupported_content"
            hinted = await client.get("/hma/h/hash", headers=COOP, params={
                "url": f"{media}/photo.jpg", "content_type": "video"})
            assert hinted.json()["error"]["code"] == "content_type_mismatch"
        async with api(hma_clients=(COOP_CLIENT,), hma_fetch_private=True,
                       hma_fetch_hosts=("127.0.0.1",), hma_fetch_max_bytes=len(PHOTO) - 1
                       ) as client:
            big = await hash_url(client, f"{media}/photo.jpg")
            assert big.status_code == 413 and "too large" in big.json()["message"]
