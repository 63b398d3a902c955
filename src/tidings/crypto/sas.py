"""Interactive verification with a Short Authentication String (SAS).

Two devices exchange ephemeral Curve25519 keys (through the untrusted server),
derive shared bytes, and their users compare 7 emoji or 3 numbers out of band.
A man in the middle would have to make both sides derive the same string from
different secrets, which succeeds with probability 2**-42 per attempt. After
the users confirm, each side MACs its long-term keys with the shared secret so
the other side learns those keys are authentic.

This follows the Matrix client-server spec, "Short Authentication String (SAS)
verification" (key agreement ``curve25519-hkdf-sha256``, MAC
``hkdf-hmac-sha256.v2``, the 64-entry emoji table in "SAS method: emoji"), with
the ``MATRIX_`` prefixes replaced by ``TIDINGS_`` for domain separation. All
derivation is vodozemac's ``Sas``/``EstablishedSas``.
"""

from __future__ import annotations

from dataclasses import dataclass

import vodozemac

from tidings.crypto.errors import SasError

# --- limits (the integrator moves these to protocol/limits.py) -------------------
SAS_EMOJI_COUNT = 7
SAS_MAX_ID_CHARS = 255
SAS_INFO_PREFIX = "TIDINGS_KEY_VERIFICATION_SAS|"
SAS_MAC_INFO_PREFIX = "TIDINGS_KEY_VERIFICATION_MAC"

#: The Matrix spec's SAS emoji table (data-definitions/sas-emoji.json), by index.
SAS_EMOJI: tuple[tuple[str, str], ...] = (
    ("🐶", "Dog"), ("🐱", "Cat"), ("🦁", "Lion"), ("🐎", "Horse"),
    ("🦄", "Unicorn"), ("🐷", "Pig"), ("🐘", "Elephant"), ("🐰", "Rabbit"),
    ("🐼", "Panda"), ("🐓", "Rooster"), ("🐧", "Penguin"), ("🐢", "Turtle"),
    ("🐟", "Fish"), ("🐙", "Octopus"), ("🦋", "Butterfly"), ("🌷", "Flower"),
    ("🌳", "Tree"), ("🌵", "Cactus"), ("🍄", "Mushroom"), ("🌏", "Globe"),
    ("🌙", "Moon"), ("☁️", "Cloud"), ("🔥", "Fire"), ("🍌", "Banana"),
    ("🍎", "Apple"), ("🍓", "Strawberry"), ("🌽", "Corn"), ("🍕", "Pizza"),
    ("🎂", "Cake"), ("❤️", "Heart"), ("😀", "Smiley"), ("🤖", "Robot"),
    ("🎩", "Hat"), ("👓", "Glasses"), ("🔧", "Spanner"), ("🎅", "Santa"),
    ("👍", "Thumbs Up"), ("☂️", "Umbrella"), ("⌛", "Hourglass"), ("⏰", "Clock"),
    ("🎁", "Gift"), ("💡", "Light Bulb"), ("📕", "Book"), ("✏️", "Pencil"),
    ("📎", "Paperclip"), ("✂️", "Scissors"), ("🔒", "Lock"), ("🔑", "Key"),
    ("🔨", "Hammer"), ("☎️", "Telephone"), ("🏁", "Flag"), ("🚂", "Train"),
    ("🚲", "Bicycle"), ("✈️", "Aeroplane"), ("🚀", "Rocket"), ("🏆", "Trophy"),
    ("⚽", "Ball"), ("🎸", "Guitar"), ("🎺", "Trumpet"), ("🔔", "Bell"),
    ("⚓", "Anchor"), ("🎧", "Headphones"), ("📁", "Folder"), ("📌", "Pin"),
)  # fmt: skip


@dataclass(frozen=True)
class SasParty:
    """One side of a verification: who and which device."""

    user: str
    device_id: str


class SasSession:
    """One device's side of one SAS verification (one transaction)."""

    def __init__(
        self, own: SasParty, peer: SasParty, transaction_id: str, *, we_started: bool
    ) -> None:
        for value in (own.user, own.device_id, peer.user, peer.device_id, transaction_id):
            if not 1 <= len(value) <= SAS_MAX_ID_CHARS or "|" in value:
                raise SasError("ids must be 1..255 characters without '|'")
        self._sas: vodozemac.Sas | None = vodozemac.Sas()
        self._public_key = str(self._sas.public_key.to_base64())
        self._established: vodozemac.EstablishedSas | None = None
        self._own, self._peer = own, peer
        self._transaction_id = transaction_id
        self._we_started = we_started
        self._info = ""

    @property
    def public_key(self) -> str:
        return self._public_key

    def establish(self, their_public_key: str) -> None:
        """Complete the ECDH; a session can only be established once."""
        if self._sas is None:
            raise SasError("SAS already established")
        try:
            their = vodozemac.Curve25519PublicKey.from_base64(their_public_key)
            self._established = self._sas.diffie_hellman(their)
        except ValueError as exc:
            raise SasError("their SAS public key is malformed") from exc
        self._sas = None
        # Info string per the spec's "HKDF calculation": starting side first.
        ours, theirs = (self._own, self._public_key), (self._peer, their_public_key)
        starter, acceptor = (ours, theirs) if self._we_started else (theirs, ours)
        self._info = SAS_INFO_PREFIX + "|".join(
            [
                starter[0].user, starter[0].device_id, starter[1],
                acceptor[0].user, acceptor[0].device_id, acceptor[1],
                self._transaction_id,
            ]
        )  # fmt: skip

    def _ready(self) -> vodozemac.EstablishedSas:
        if self._established is None:
            raise SasError("SAS not established yet")
        return self._established

    def emojis(self) -> list[tuple[str, str]]:
        indices = self._ready().bytes(self._info).emoji_indices
        return [SAS_EMOJI[i] for i in list(indices)[:SAS_EMOJI_COUNT]]

    def decimals(self) -> tuple[int, int, int]:
        a, b, c = self._ready().bytes(self._info).decimals
        return int(a), int(b), int(c)

    def mac_info(self, key_id: str, *, outgoing: bool) -> str:
        """MAC info per the spec's "MAC calculation": sender, recipient, txn, key id.

        Use ``key_id="KEY_IDS"`` for the MAC over the sorted comma-joined key ids.
        """
        sender, recipient = (self._own, self._peer) if outgoing else (self._peer, self._own)
        return "".join(
            [
                SAS_MAC_INFO_PREFIX,
                sender.user, sender.device_id,
                recipient.user, recipient.device_id,
                self._transaction_id, key_id,
            ]
        )  # fmt: skip

    def calculate_mac(self, input: str, info: str) -> str:
        return str(self._ready().calculate_mac(input, info))

    def verify_mac(self, input: str, info: str, tag: str) -> bool:
        established = self._ready()
        try:
            established.verify_mac(input, info, tag)
        except ValueError:
            return False
        return True
