"""The manifest: which signal types exist, and which signals a content yields.

Like pytx's ``SignalTypeMapping``, adding a type is one line here plus its
class; the contract test then runs the new type through its own examples.
"""

import types
import typing as t

from threatexchange.signal_type.signal_base import SignalType

from tidings.moderation.content import (
    Content,
    HashedMedia,
    MediaContent,
    Signal,
    TextContent,
    UrlContent,
)
from tidings.moderation.errors import (
    InvalidSignalError,
    UndecodableMediaError,
    UnknownSignalTypeError,
)
from tidings.moderation.limits import PDQ_MIN_QUALITY
from tidings.moderation.normalize import DOMAIN_PREFIX, extract_urls, normalize_url
from tidings.moderation.signal_types import (
    Md5SignalType,
    PdqSignalType,
    Sha256SignalType,
    TextExactSignal,
    TextNearSignal,
    UrlSignalType,
)
from tidings.moderation.text_signals import TextQuoteSignal, TextSloganSignal, query_text_signals
from tidings.moderation.video import VpdqSignalType, video_signals

_REGISTERED: tuple[type[SignalType], ...] = (
    PdqSignalType,
    Md5SignalType,
    Sha256SignalType,
    UrlSignalType,
    TextExactSignal,
    TextNearSignal,
    TextQuoteSignal,
    TextSloganSignal,
    VpdqSignalType,
)

#: Registered signal types by ``get_name()``; read-only.
SIGNAL_TYPES: t.Mapping[str, type[SignalType]] = types.MappingProxyType(
    {cls.get_name(): cls for cls in _REGISTERED}
)


def get_signal_type(name: str) -> type[SignalType]:
    try:
        return SIGNAL_TYPES[name]
    except KeyError:
        raise UnknownSignalTypeError(name) from None


def validate_value(signal_type: str, value: str) -> str:
    """Normalised value for a type; any plugin's ValueError becomes typed."""
    try:
        return str(get_signal_type(signal_type).validate_signal_str(value))
    except InvalidSignalError:
        raise
    except ValueError as exc:
        raise InvalidSignalError(f"invalid {signal_type} value: {exc}") from exc


def signals_for(content: Content) -> list[Signal]:
    """Every signal the engine matches for one piece of content.

    Photos that fail to decode, or decode to a flat image (PDQ quality below
    ``PDQ_MIN_QUALITY``), still get byte hashes but no PDQ: a low-quality PDQ
    matches unrelated flat images.
    """
    if isinstance(content, TextContent):
        out = query_text_signals(content.text)
        out.extend(Signal("url", u) for u in extract_urls(content.text))
        return out
    if isinstance(content, UrlContent):
        if content.url.strip().startswith(DOMAIN_PREFIX):
            return [Signal("url", UrlSignalType.validate_signal_str(content.url))]
        return [Signal("url", normalize_url(content.url))]
    if isinstance(content, HashedMedia):
        return list(content.signals)
    return _media_signals(content)


def _media_signals(content: MediaContent) -> list[Signal]:
    """Videos are decoded here too (the fast decode, ``video``); a video that
    cannot be decoded, or is over a limit, raises ``VideoRefusedError``: a
    video we cannot see is refused, not published on its byte hashes alone."""
    out: list[Signal] = []
    if content.is_video:
        out.extend(video_signals(content.data))
    elif content.is_photo:
        try:
            value, quality = PdqSignalType.hash_with_quality(content.data)
        except UndecodableMediaError:
            pass
        else:
            if quality >= PDQ_MIN_QUALITY:
                out.append(Signal("pdq", value, quality))
    out.append(Signal("md5", Md5SignalType.hash_from_bytes(content.data)))
    out.append(Signal("sha256", Sha256SignalType.hash_from_bytes(content.data)))
    return out
