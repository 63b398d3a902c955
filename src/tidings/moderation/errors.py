"""Typed errors of the moderation engine.

Each carries a stable ``code`` so the server can map it to the one JSON error
shape without string matching.
"""


class ModerationError(Exception):
    """Base of every error raised by ``tidings.moderation``."""

    code = "moderation_error"


class InvalidSignalError(ModerationError, ValueError):
    """A signal value is malformed for its type (bad hex, bad URL...)."""

    code = "invalid_signal"


class UnknownSignalTypeError(ModerationError, KeyError):
    """A signal type name is not in the manifest."""

    code = "unknown_signal_type"


class ContentTooLargeError(ModerationError, ValueError):
    """Input exceeds a named limit in ``limits``."""

    code = "content_too_large"


class UndecodableMediaError(ModerationError, ValueError):
    """Media bytes that claim to be a photo could not be decoded."""

    code = "undecodable_media"


class InvalidBankError(ModerationError, ValueError):
    """Bank name or bank entry is invalid."""

    code = "invalid_bank"


class InvalidLabelError(ModerationError, ValueError):
    """A label is not in the taxonomy."""

    code = "invalid_label"


class UnknownEntryError(ModerationError, KeyError):
    """An entry id is not in the matcher."""

    code = "unknown_entry"


class DuplicateEntryError(ModerationError, ValueError):
    """An entry id is already in the matcher."""

    code = "duplicate_entry"


class FormatError(ModerationError, ValueError):
    """Import input is malformed; ``line`` is 1-based (0 = whole input)."""

    code = "format_error"

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class CorruptIndexError(ModerationError, ValueError):
    """Serialized index bytes could not be read back."""

    code = "corrupt_index"


class VideoRefusedError(UndecodableMediaError):
    """A video was refused: undecodable, unsupported, too long or too costly.

    ``code`` says which, so the API can answer with it: ``video_undecodable``,
    ``video_unsupported``, ``video_too_long``, ``video_too_large``.
    """

    code = "video_undecodable"

    def __init__(self, message: str, code: str = "video_undecodable") -> None:
        super().__init__(message)
        self.code = code
