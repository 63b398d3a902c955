"""The one place where a change of a post reaches its readers.

Publishing, an edit, a hold, a removal (moderator, order, retro-scan), a release, an
appeal that restores and an author's delete all end here, inside the writer's
transaction: the search index follows what the public may see, a pin on a post the
public may no longer see is dropped, and the channel's update log gets one entry when
what the public sees changed. The live frame is built from the same public rendering
(``moderation/visibility.py``) and published after commit by :meth:`announce`.

The update log stores only which post changed (``{"id": N}``, the internal id), never
its content:
readers of the log get each post rendered as it is *now*, for them, so a removed
post's text or an edited post's old text cannot be read back from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.bus.base import Bus
from tidings.moderation.visibility import Audience, Shown, post_state, post_view
from tidings.protocol.control import Frame, compact, splice
from tidings.services.channel_access import post_json
from tidings.services.live import to_channel
from tidings.services.streams import dumps
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.plan import Plan, run_async
from tidings.storage.search import SearchIndex


def channel_frame(handle: str, seq: int, kind: str, post_body: str) -> str:
    """The live frame subscribers get; ``post_body`` is already serialised JSON."""
    return splice(compact({"type": "channel", "channel": handle, "seq": seq, "kind": kind}),
                  {"post": post_body})


@dataclass(frozen=True, slots=True)
class Announcement:
    """A frame to publish once the transaction that logged it has committed."""

    channel_id: int
    frame: str


def public(post: PostRecord) -> bool:
    """Does the public see this post in full?"""
    state = post_state(post.state, post.deleted_at is not None)
    return post_view(state, Audience.PUBLIC).shown is Shown.FULL


def _content_changed(before: PostRecord, after: PostRecord) -> bool:
    return (before.text, before.media, before.edited_at) != (
        after.text, after.media, after.edited_at)


class PostStates:
    def __init__(self, store: ChannelStore, search: SearchIndex, bus: Bus) -> None:
        self.store = store
        self.search_index = search
        self.bus = bus

    async def changed(self, conn: AsyncConnection, channel: ChannelRecord,
                      before: PostRecord | None, after: PostRecord, now: int
                      ) -> Announcement | None:
        """Apply what ``before -> after`` means to readers (``before`` None: a new post)."""
        return await run_async(conn, self.changed_plan(channel, before, after, now,
                                                       conn.dialect.name))

    def changed_plan(self, channel: ChannelRecord, before: PostRecord | None,
                     after: PostRecord, now: int, dialect: str) -> Plan[Announcement | None]:
        """:meth:`changed` as a plan (``storage/plan.py``)."""
        was, now_public = before is not None and public(before), public(after)
        if now_public:
            yield from self.search_index.index_post_plan(after.id, after.text, dialect)
        else:
            yield from self.search_index.unindex_post_plan(after.id, dialect)
            current = yield from self.store.by_id_plan(channel.id)
            if current is not None and current.pinned_post_id == after.id:
                yield from self.store.update_plan(channel.id, pinned_post_id=None,
                                                  pinned_number=None)
        if now_public and not was:
            kind = "post"
        elif now_public and before is not None and _content_changed(before, after):
            kind = "edit"
        elif was and not now_public:
            kind = "delete"
        else:
            return None
        seq = yield from self.store.append_update_plan(channel.id, kind, after.id,
                                                       dumps({"id": after.id}), now, dialect)
        body = dumps(post_json(after, channel))
        return Announcement(channel.id, channel_frame(channel.handle, seq, kind, body))

    async def announce(self, announcement: Announcement | None) -> None:
        if announcement is not None:
            await to_channel(self.bus, announcement.channel_id, Frame(announcement.frame))
