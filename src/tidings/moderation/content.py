"""Content and signal values: what the engine is asked about and what it hashes.

Content is a closed set of frozen dataclasses so the service layer cannot hand
the engine a file path, a socket or a database row by accident.
"""

from dataclasses import dataclass

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.file import FileContent
from threatexchange.content_type.photo import PhotoContent
from threatexchange.content_type.text import TextContent as PytxTextContent
from threatexchange.content_type.url import URLContent
from threatexchange.content_type.video import VideoContent

from tidings.moderation.errors import ContentTooLargeError
from tidings.moderation.limits import MAX_MEDIA_BYTES, MAX_TEXT_CHARS, MAX_URL_CHARS

#: Media types decoded as photos (PDQ applies). Anything else is hashed as bytes.
PHOTO_MEDIA_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)
#: Media types decoded as video (vPDQ applies); see ``vpdq`` for the containers.
VIDEO_MEDIA_TYPES = frozenset(
    {"video/mp4", "video/quicktime", "video/webm", "video/x-matroska"}
)


@dataclass(frozen=True, slots=True)
class TextContent:
    """A post's text. URLs inside it are matched too."""

    text: str

    def __post_init__(self) -> None:
        if len(self.text) > MAX_TEXT_CHARS:
            raise ContentTooLargeError(f"text over {MAX_TEXT_CHARS} characters")

    @property
    def content_type(self) -> type[ContentType]:
        """pytx's content type: what ``manifest.signals_for`` dispatches on."""
        return PytxTextContent


@dataclass(frozen=True, slots=True)
class MediaContent:
    """An uploaded file, as bytes, with its declared MIME type."""

    data: bytes
    media_type: str

    def __post_init__(self) -> None:
        if len(self.data) > MAX_MEDIA_BYTES:
            raise ContentTooLargeError(f"media over {MAX_MEDIA_BYTES} bytes")

    @property
    def is_photo(self) -> bool:
        return self.media_type.lower().split(";")[0].strip() in PHOTO_MEDIA_TYPES

    @property
    def is_video(self) -> bool:
        return self.media_type.lower().split(";")[0].strip() in VIDEO_MEDIA_TYPES

    @property
    def content_type(self) -> type[ContentType]:
        """pytx's content type: a video, a photo, or any other file."""
        if self.is_video:
            return VideoContent
        return PhotoContent if self.is_photo else FileContent


@dataclass(frozen=True, slots=True)
class UrlContent:
    """A link posted on its own (for example a link preview)."""

    url: str

    def __post_init__(self) -> None:
        if len(self.url) > MAX_URL_CHARS:
            raise ContentTooLargeError(f"URL over {MAX_URL_CHARS} characters")

    @property
    def content_type(self) -> type[ContentType]:
        return URLContent


@dataclass(frozen=True, slots=True)
class HashedMedia:
    """Media hashed once at upload: its stored signals stand in for its bytes, so the
    publish gate matches it without decoding it again (docs/decisions.md)."""

    signals: tuple["Signal", ...]


Content = TextContent | MediaContent | UrlContent | HashedMedia


@dataclass(frozen=True, slots=True)
class Signal:
    """One hash of one piece of content, named by its signal type.

    ``quality`` is set for PDQ only (0-100); other types leave it ``None``.
    """

    signal_type: str
    value: str
    quality: int | None = None
