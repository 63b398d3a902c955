"""Step 1: two people chat end to end encrypted; the server's storage holds no plaintext."""

from __future__ import annotations

import asyncio
import secrets

from tidings.demo.context import Demo
from tidings.demo.plaintext import queued_ciphertext, search_database, search_files

EXCERPT_CHARS = 120


def secret_text() -> str:
    """Alice's message, with a random word so no earlier run can leave it lying around."""
    return f"The spare key is under the blue flowerpot ({secrets.token_hex(4)})"


async def private_chat(demo: Demo) -> None:
    n = demo.narrator
    await n.step(1, "Private chat, end to end encrypted",
                 "Alice and Bob register; each phone makes its own Olm keys and publishes "
                 "only the public halves.")
    alice, bob = await asyncio.gather(demo.person("alice"), demo.person("bob"))
    directory = await alice.messenger.query(["alice", "bob"])
    listed = {user: sorted(devices) for user, devices in directory.items()}
    n.check(listed == {"alice": [alice.messenger.crypto.device_id],
                       "bob": [bob.messenger.crypto.device_id]},
            "alice and bob registered; the key directory lists each one's device with a "
            "valid self-signed key record", f"the directory lists {listed!r}")

    text = secret_text()
    n.say(f'alice → bob: "{text}"')
    sent = await alice.messenger.send_text("bob", text)
    n.check(bool(sent.get("id")), f"the server accepted message {sent.get('id')} for "
            "bob's device: it stores ciphertext until the device takes it")

    db = demo.server.db_path
    bob_device = bob.messenger.crypto.device_id
    ciphertext = queued_ciphertext(db, bob_device)
    n.check(ciphertext is not None, "bob's device has one message waiting in the server's "
            "queue", "the queue is empty")
    assert ciphertext is not None
    n.show(f"Olm ciphertext queued for bob's device "
           f"({len(ciphertext)} base64 chars)",
           ciphertext[:EXCERPT_CHARS] + ("…" if len(ciphertext) > EXCERPT_CHARS else ""))

    n.say(f"Searching every text and blob column of {db.name} for the message …")
    found = search_database(db, text)
    n.check(not found.hits, f"no plaintext found in the database: {found.columns} text/blob "
            f"columns of {found.tables} tables, {found.rows} rows searched",
            f"it is in {', '.join(found.hits)}")
    files, hits = search_files(demo.server.data_dir, text)
    n.check(not hits, f"no plaintext found in any of the {files} files of the server's data "
            "directory (database, write-ahead log, blobs, log)", f"it is in {', '.join(hits)}")
    control = search_database(db, "alice")
    n.check(bool(control.hits), "the same search does find what is stored in clear: "
            f"'alice' in {', '.join(sorted(set(control.hits)))}", "it finds nothing at all")

    inbox = await bob.messenger.receive(0)
    texts = [m.text for m in inbox.messages if m.sender == "alice"]
    n.check(texts == [text], "bob's device fetched it over the WebSocket and decrypted it",
            f"bob read {texts!r}")
    n.check(queued_ciphertext(db, bob_device) is None,
            "once bob's device acknowledged it, the server deleted its copy",
            "the ciphertext is still queued")

    reply = "Got it, thanks!"
    await bob.messenger.send_text("alice", reply)
    got = [m.text for m in (await alice.messenger.receive(0)).messages if m.sender == "bob"]
    n.check(got == [reply], f'bob → alice: "{reply}" — decrypted on alice\'s device',
            f"alice read {got!r}")
    demo.facts["secret_text"] = text
