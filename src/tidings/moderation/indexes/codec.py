"""Small, safe binary framing for index serialisation (no pickle).

Pickle would let whoever supplies an index file run code in the matcher; the
frames here are: magic (4 bytes), version (1 byte), then length-prefixed
sections.
"""

import struct

from tidings.moderation.errors import CorruptIndexError

_LEN = struct.Struct(">Q")


def pack(magic: bytes, version: int, sections: list[bytes]) -> bytes:
    out = [magic, bytes([version])]
    for section in sections:
        out.append(_LEN.pack(len(section)))
        out.append(section)
    return b"".join(out)


def unpack(data: bytes, magic: bytes, version: int, count: int) -> list[bytes]:
    if data[: len(magic)] != magic:
        raise CorruptIndexError("wrong index magic")
    if len(data) <= len(magic) or data[len(magic)] != version:
        raise CorruptIndexError("unsupported index version")
    pos = len(magic) + 1
    sections: list[bytes] = []
    for _ in range(count):
        if pos + _LEN.size > len(data):
            raise CorruptIndexError("truncated index")
        (length,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        if pos + length > len(data):
            raise CorruptIndexError("truncated index")
        sections.append(data[pos : pos + length])
        pos += length
    if pos != len(data):
        raise CorruptIndexError("trailing bytes after index")
    return sections
