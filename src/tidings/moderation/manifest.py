"""The manifest: which signal types exist, and which signals a content yields.

Like pytx's ``SignalTypeMapping``, adding a type is one line here plus its
class; the contract test then runs the new type through its own examples.
"""

import types
import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.file import FileContent
from threatexchange.content_type.photo import PhotoContent
from threatexchange.content_type.text import TextContent as PytxTextContent
from threatexchange.content_type.url import URLContent
from threatexchange.content_type.video import VideoContent
from threatexchange.signal_type.signal_base import SignalType

from tidings.moderation.content import (
    Content,
    HashedMedia,
    Signal,
)
from tidings.moderation.errors import (
    InvalidSignalError,
    UnknownSignalTypeError,
)
from tidings.moderation.signal_types import (
    Md5SignalType,
    PdqSignalType,
    QueryHasher,
    Sha256SignalType,
    TextExactSignal,
    TextNearSignal,
    UrlSignalType,
)
from tidings.moderation.text_signals import TextQuoteSignal, TextSloganSignal
from tidings.moderation.video import VpdqSignalType

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


def _query_types(content_type: type[ContentType]) -> tuple[type[QueryHasher], ...]:
    """The registered types that hash this content type at check time: those made for
    it alone first (PDQ for a photo, vPDQ for a video, the text types), then those that
    apply to several (the byte hashes every file gets, links in a text), each group in
    registration order."""
    found = [cls for cls in _REGISTERED if issubclass(cls, QueryHasher)
             and content_type in cls.query_content_types()]
    return tuple(sorted(found, key=lambda cls: len(cls.query_content_types()) > 1))


QUERY_TYPES: t.Mapping[type[ContentType], tuple[type[QueryHasher], ...]] = (
    types.MappingProxyType({ct: _query_types(ct) for ct in (
        PytxTextContent, URLContent, PhotoContent, VideoContent, FileContent)}))
"""Content type -> the signal types that hash it when it is checked, in query order."""


def signals_for(content: Content) -> list[Signal]:
    """Every signal the engine matches for one piece of content: each registered type
    that hashes the content's pytx type gives its own (``QueryHasher``), the way pytx
    dispatches by ``SignalType.get_content_types``. ``HashedMedia`` carries the signals
    computed at upload."""
    if isinstance(content, HashedMedia):
        return list(content.signals)
    return [s for cls in QUERY_TYPES[content.content_type] for s in cls.query_signals(content)]
