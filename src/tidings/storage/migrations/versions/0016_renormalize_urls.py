"""Re-normalise stored URL bank entries with the WHATWG-style normaliser (issue 18, item 5).

URL entries are stored normalised, so a change of normalisation (``www.``/``m.``
dropped, unreserved escapes decoded, dot segments and ``//`` resolved, UTS #46
hosts) leaves old entries under keys that queries no longer produce. Each url
entry is rewritten to today's form. An entry whose new form is already banked
in the same bank (``www.x`` and ``x`` banked separately) is disabled, not
deleted, so its history stays; an entry the new rules refuse (``domain:`` of
a public suffix, which would match every site) is disabled too.

The bank epoch is renewed so every process rebuilds its matcher from the
database at the next start instead of trusting a snapshot of the old values.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def upgrade() -> None:
    from tidings.moderation.errors import ModerationError
    from tidings.moderation.manifest import validate_value

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, bank, value FROM bank_entries WHERE signal_type = 'url' ORDER BY id"
    )).all()
    taken = {(str(bank), str(value)) for _, bank, value in rows}
    disabled = rewritten = 0
    for entry_id, bank, value in rows:
        try:
            new = validate_value("url", str(value))
        except ModerationError:
            new = None
        if new == value:
            continue
        if new is None or (bank, new) in taken:
            conn.execute(sa.text("UPDATE bank_entries SET enabled = :f WHERE id = :id")
                         .bindparams(f=False, id=entry_id))
            disabled += 1
            continue
        conn.execute(sa.text("UPDATE bank_entries SET value = :v, value_key = :k WHERE id = :id")
                     .bindparams(v=new, k=_key(new), id=entry_id))
        taken.discard((bank, value))
        taken.add((bank, new))
        rewritten += 1
    conn.execute(sa.text("UPDATE bank_version SET epoch = :e WHERE id = 1")
                 .bindparams(e=secrets.token_hex(16)))
    log.info("url entries re-normalised: %d rewritten, %d disabled (duplicate or refused)",
             rewritten, disabled)


def downgrade() -> None:
    # Values stay in the new form: the old normaliser accepted them all.
    pass
