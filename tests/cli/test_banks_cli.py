"""`tidings bank ...` and `tidings hash` against a live server (in-process)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.apps import kernel_of
from tests.cli.inproc import invoke
from tests.moderation.images import encode, generate
from tidings.services.moderation import ModerationService

PASSWORD = "a long enough passphrase"
LABEL = ["--label", "category:terrorist_content"]


async def tidings(*args: str, stdin: str = "", check: bool = True) -> tuple[int, str, str]:
    """The command in-process (tests/cli/inproc.py); tests/cli/test_account_cli.py and
    tests/cli/test_messages_cli.py run the console script in a subprocess."""
    result = await asyncio.to_thread(invoke, list(args), stdin, {"COLUMNS": "200"})
    code, out, err = result.exit_code, result.stdout, result.stderr
    if check:
        assert code == 0, (args, out, err, result.exception)
    return code, out, err


def md5_lines(n: int, start: int = 0) -> str:
    return "".join(f"md5 {i:032x}\n" for i in range(start, start + n))


def csv_rows(text: str) -> list[list[str]]:
    """Rows without the bank and added_at columns (those differ between banks)."""
    rows = [line.split(",") for line in text.strip().splitlines()]
    return sorted(r[:2] + r[3:5] + r[6:] for r in rows[1:])


async def test_cli_import_export_round_trip(live_server: Any, tmp_path: Path) -> None:
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD, "admin",
                                                    check_reserved=False)
        common = ["--server", server.url, "--profile", str(tmp_path / "profile")]
        await tidings("account", "login", "boss", "--password-stdin", *common,
                      stdin=PASSWORD + "\n")
        for bank in ("TERROR_A", "TERROR_B", "TERROR_C"):
            await tidings("bank", "create", bank, *common)

        src = tmp_path / "list.txt"
        src.write_text(md5_lines(2500) + "\n" + md5_lines(10, 5000))
        _, out, err = await tidings("bank", "import", "TERROR_A", str(src), *LABEL,
                                    "--chunk-lines", "1000", *common)
        assert "imported 2510 entries" in out
        _, listed, _ = await tidings("bank", "list", "--json", *common)
        banks = {b["name"]: b for b in json.loads(listed)["banks"]}
        assert banks["TERROR_A"]["entries"] == 2510

        await tidings("bank", "add", "TERROR_A", "--text", "a" * 80, *LABEL, "--label",
                      "behaviour:threat", *common)
        _, added, _ = await tidings("bank", "add", "TERROR_A", "--url", "https://bad.example/",
                                    *LABEL, "--json", *common)
        url_id = json.loads(added)["entries"][0]["id"]
        await tidings("bank", "disable", "TERROR_A", str(url_id), *common)

        # CSV round trip A -> B (all entries, labels, sources, enabled flags, times).
        _, csv_a, _ = await tidings("bank", "export", "TERROR_A", "--format", "csv", *common)
        csv_file = tmp_path / "a.csv"
        csv_file.write_text(csv_a)
        await tidings("bank", "import", "TERROR_B", str(csv_file), "--format", "csv",
                      "--chunk-lines", "700", *common)
        _, csv_b, _ = await tidings("bank", "export", "TERROR_B", "--format", "csv", *common)
        # 2510 md5 + the text's text_exact, text_near and text_quote + the URL.
        assert csv_rows(csv_b) == csv_rows(csv_a) and len(csv_rows(csv_a)) == 2514
        assert [r[-2] for r in (x.split(",") for x in csv_b.splitlines()[1:])] == \
            [r[-2] for r in (x.split(",") for x in csv_a.splitlines()[1:])]  # added_at kept

        # pytx round trip A -> C (enabled entries only; the disabled URL stays out).
        _, pytx_a, _ = await tidings("bank", "export", "TERROR_A", *common)
        pytx_file = tmp_path / "a.txt"
        pytx_file.write_text(pytx_a)
        await tidings("bank", "import", "TERROR_C", str(pytx_file), *LABEL, *common)
        _, pytx_c, _ = await tidings("bank", "export", "TERROR_C", *common)
        assert sorted(pytx_c.splitlines()) == sorted(pytx_a.splitlines())
        assert "url " not in pytx_a and len(pytx_a.splitlines()) == 2513

        # A bad line deep in a chunked import is reported by its line in the file.
        bad = tmp_path / "bad.txt"
        bad.write_text(md5_lines(1499) + "md5 nothex\n")
        code, _, err = await tidings("bank", "import", "TERROR_C", str(bad), *LABEL,
                                     "--chunk-lines", "1000", *common, check=False)
        assert code == 1 and "line 1500" in err

        image = tmp_path / "photo.png"
        image.write_bytes(encode(generate(31)))
        _, added, _ = await tidings("bank", "add", "TERROR_C", "--file", str(image), *LABEL,
                                    "--json", *common)
        assert json.loads(added)["added"] >= 3
        gate: ModerationService = kernel_of(server).moderation
        assert "TERROR_C" in gate.banks and len(gate.matcher) > 2510 * 3


async def test_hash_is_local(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    image.write_bytes(encode(generate(32)))
    _, out, _ = await tidings("hash", str(image))
    kinds = [line.split(" ", 1)[0] for line in out.splitlines()]
    assert kinds == ["pdq", "md5", "sha256"]
    _, as_json, _ = await tidings("hash", str(image), "--json")
    assert [r["signal_type"] for r in json.loads(as_json)] == kinds


async def test_hash_pytx_names(tmp_path: Path) -> None:
    """--pytx-names writes what pytx reads: a video's MD5 as video_md5; a photo's byte
    hashes have no pytx type and are left out, said on stderr."""
    image = tmp_path / "photo.png"
    image.write_bytes(encode(generate(33)))
    _, out, err = await tidings("hash", str(image), "--pytx-names")
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == ["pdq"]
    assert "md5 of photo: pytx has only video_md5" in err
    video = tmp_path / "clip.mp4"
    video.write_bytes((Path(__file__).resolve().parents[1] / "moderation" / "data" / "vpdq"
                       / "test-padded-dimensions.mp4").read_bytes())  # a real MP4
    _, out, _ = await tidings("hash", str(video), "--pytx-names")
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == [
        "vpdq", "video_md5", "video_sha256"]  # a real video also has its vPDQ


async def test_cli_exchange_fetch_status_schedule(live_server: Any, tmp_path: Path) -> None:
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD, "admin",
                                                    check_reserved=False)
        common = ["--server", server.url, "--profile", str(tmp_path / "profile")]
        await tidings("account", "login", "boss", "--password-stdin", *common,
                      stdin=PASSWORD + "\n")
        await tidings("bank", "create", "PARTNER_Z", *common)
        feed_dir = kernel_of(server).settings.data_dir / "exchanges"
        feed_dir.mkdir(parents=True, exist_ok=True)
        (feed_dir / "z.txt").write_text(f"video_md5 {'2' * 32}\nvideo_md5 {'3' * 32}\n"
                                        "photodna zzz\n")
        await tidings("bank", "exchange", "set", "PARTNER_Z", "z", "--type", "local_file",
                      *LABEL, "--config", '{"filename": "z.txt"}', *common)
        _, out, _ = await tidings("bank", "exchange", "fetch", "PARTNER_Z", "z", *common)
        assert "2 added" in out and "rejected 1: unsupported signal type 'photodna'" in out
        _, out, _ = await tidings("bank", "exchange", "status", "PARTNER_Z", "z", *common)
        assert "in total: 2 added, 0 removed, 1 rejected" in out
        _, out, _ = await tidings("bank", "exchange", "list", "PARTNER_Z", "--json", *common)
        [row] = json.loads(out)["exchanges"]
        assert row["totals"] == {"added": 2, "removed": 0, "rejected": 1}
        code, _, err = await tidings("bank", "exchange", "schedule", "PARTNER_Z", "z",
                                     "--every", "10", *common, check=False)
        assert code != 0 and "error" in err
        _, out, _ = await tidings("bank", "exchange", "schedule", "PARTNER_Z", "z",
                                  "--every", "3600", "--json", *common)
        assert json.loads(out)["interval_s"] == 3600
        _, out, err = await tidings("bank", "export", "PARTNER_Z", "--pytx-names", *common)
        assert sorted(out.splitlines()) == [f"video_md5 {'2' * 32}", f"video_md5 {'3' * 32}"]
async def test_cli_domain_and_slogan_entries(live_server: Any, tmp_path: Path) -> None:
    """`bank add --url domain:HOST` works as documented (it was refused), catches the
    host's subdomains and scheme-less or defanged links to them; `--slogan` banks a
    short text that holds a longer post for review; bad entries fail with one line."""
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD, "admin",
                                                    check_reserved=False)
        admin = ["--server", server.url, "--profile", str(tmp_path / "admin")]
        owner = ["--server", server.url, "--profile", str(tmp_path / "owner")]
        await tidings("account", "login", "boss", "--password-stdin", *admin,
                      stdin=PASSWORD + "\n")
        await tidings("account", "register", "owner", "--password-stdin", *owner,
                      stdin=PASSWORD + "\n")
        await tidings("bank", "create", "EXTREMIST_LINKS", *admin)
        extremism = ["--label", "category:violent_extremism"]
        _, added, _ = await tidings("bank", "add", "EXTREMIST_LINKS", "--url",
                                    "domain:WWW.Evil-Archive.org", *extremism, "--json", *admin)
        entry = json.loads(added)["entries"][0]
        assert (entry["signal_type"], entry["value"]) == ("url", "domain:evil-archive.org")
        _, added, _ = await tidings("bank", "add", "EXTREMIST_LINKS", "--text",
                                    "victory to the caravan of martyrs", "--slogan",
                                    *extremism, "--json", *admin)
        assert {e["signal_type"] for e in json.loads(added)["entries"]} >= {
            "text_exact", "text_slogan"}
        code, _, err = await tidings("bank", "add", "EXTREMIST_LINKS", "--url", "domain:co.uk",
                                     *extremism, *admin, check=False)
        assert code == 1 and "public suffix" in err and len(err.strip().splitlines()) == 1
        code, _, err = await tidings("bank", "add", "EXTREMIST_LINKS", "--url", "x.org",
                                     "--slogan", *extremism, *admin, check=False)
        assert code == 1 and "(usage)" in err and "--slogan" in err

        await tidings("channel", "create", "daily_news", "--title", "Daily News", *owner)
        for text in ("mirror: files.evil-archive.org/v/1", "hxxps://evil-archive[.]org/x"):
            code, _, err = await tidings("channel", "post", "daily_news", text, *owner,
                                         check=False)
            assert code == 1 and "content_rejected" in err, (text, err)
        _, out, _ = await tidings("channel", "post", "daily_news",
                                  "Graffiti read 'victory to the caravan of martyrs'; police "
                                  "condemned it.", "--json", *owner)
        assert json.loads(out)["state"] == "held"
        _, out, _ = await tidings("channel", "post", "daily_news",
                                  "see not-evil-archive.org and setup.py", "--json", *owner)
        assert json.loads(out)["state"] == "visible"
