"""Full-text search of public channels and posts, one interface over two engines.

PostgreSQL: generated ``tsvector`` columns with GIN indexes (migration 0003), queried
with ``to_tsquery`` and ranked by ``ts_rank``; nothing to maintain on write. SQLite:
FTS5 tables keyed by rowid, which this class keeps in step inside the caller's
transaction, queried with ``MATCH`` and ranked by ``bm25``. Both use no stemming
(the 'simple' configuration, FTS5 ``unicode61``) so every language is searched alike,
and both match each word as a prefix, all words required.

User input never reaches either query language as syntax: it is split into words
(letters and digits only) and each word is quoted (FTS5) or suffixed (tsquery) here.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol import limits
from tidings.storage.plan import Plan, run_async

_WORD_RE = re.compile(r"[^\W_]+")


def query_terms(query: str) -> list[str]:
    """The words of a search query, lower-cased and bounded (SEARCH_TERMS_MAX)."""
    words = _WORD_RE.findall(query[: limits.SEARCH_QUERY_MAX].lower())
    return list(dict.fromkeys(words))[: limits.SEARCH_TERMS_MAX]


class SearchIndex:
    # --- writes (SQLite only; PostgreSQL columns are generated) ---------------------
    async def index_channel(self, conn: AsyncConnection, channel_id: int, handle: str,
                            title: str, description: str) -> None:
        if conn.dialect.name != "sqlite":
            return
        await self.unindex_channel(conn, channel_id)
        await conn.execute(sa.text(
            "INSERT INTO channel_fts(rowid, handle, title, description) "
            "VALUES (:id, :h, :t, :d)"), {"id": channel_id, "h": handle.replace("_", " "),
                                          "t": title, "d": description})

    async def unindex_channel(self, conn: AsyncConnection, channel_id: int) -> None:
        if conn.dialect.name == "sqlite":
            await conn.execute(sa.text("DELETE FROM channel_fts WHERE rowid = :id"),
                               {"id": channel_id})

    async def index_post(self, conn: AsyncConnection, post_id: int, text: str) -> None:
        await run_async(conn, self.index_post_plan(post_id, text, conn.dialect.name))

    def index_post_plan(self, post_id: int, text: str, dialect: str) -> Plan[None]:
        if dialect != "sqlite":
            return
        yield from self.unindex_post_plan(post_id, dialect)
        if text:
            yield sa.text("INSERT INTO post_fts(rowid, text) VALUES (:id, :t)").bindparams(
                id=post_id, t=text)

    async def unindex_post(self, conn: AsyncConnection, post_id: int) -> None:
        await run_async(conn, self.unindex_post_plan(post_id, conn.dialect.name))

    def unindex_post_plan(self, post_id: int, dialect: str) -> Plan[None]:
        if dialect == "sqlite":
            yield sa.text("DELETE FROM post_fts WHERE rowid = :id").bindparams(id=post_id)

    # --- queries: ids of visible public channels / posts, best first ----------------
    async def channels(self, conn: AsyncConnection, query: str, limit: int) -> list[int]:
        return await self._run(conn, query, limit, _PG_CHANNELS, _LITE_CHANNELS)

    async def posts(self, conn: AsyncConnection, query: str, limit: int) -> list[int]:
        return await self._run(conn, query, limit, _PG_POSTS, _LITE_POSTS)

    async def _run(self, conn: AsyncConnection, query: str, limit: int, pg: str,
                   lite: str) -> list[int]:
        terms = query_terms(query)
        if not terms:
            return []
        if conn.dialect.name == "postgresql":
            sql, q = pg, _tsquery(terms)
        else:
            sql, q = lite, _fts5(terms)
        rows = await conn.execute(sa.text(sql), {"q": q, "n": limit})
        return [int(r[0]) for r in rows]


_PG_CHANNELS = """
SELECT c.id FROM channels c, to_tsquery('simple', :q) q
WHERE c.search @@ q AND c.state = 'visible' AND c.visibility = 'public'
ORDER BY ts_rank(c.search, q) DESC, c.subscriber_count DESC, c.id LIMIT :n"""

_LITE_CHANNELS = """
SELECT c.id FROM channel_fts f JOIN channels c ON c.id = f.rowid
WHERE channel_fts MATCH :q AND c.state = 'visible' AND c.visibility = 'public'
ORDER BY bm25(channel_fts, 10.0, 10.0, 1.0), c.subscriber_count DESC, c.id LIMIT :n"""

_PG_POSTS = """
SELECT p.id FROM channel_posts p JOIN channels c ON c.id = p.channel_id,
     to_tsquery('simple', :q) q
WHERE p.search @@ q AND p.state = 'visible' AND p.deleted_at IS NULL
  AND c.state = 'visible' AND c.visibility = 'public'
ORDER BY ts_rank(p.search, q) DESC, p.id DESC LIMIT :n"""

_LITE_POSTS = """
SELECT p.id FROM post_fts f JOIN channel_posts p ON p.id = f.rowid
JOIN channels c ON c.id = p.channel_id
WHERE post_fts MATCH :q AND p.state = 'visible' AND p.deleted_at IS NULL
  AND c.state = 'visible' AND c.visibility = 'public'
ORDER BY bm25(post_fts), p.id DESC LIMIT :n"""


def _fts5(terms: list[str]) -> str:
    # FTS5 query syntax: a double-quoted string is one literal token; * makes it a prefix.
    return " ".join(f'"{t}"*' for t in terms)


def _tsquery(terms: list[str]) -> str:
    # tsquery syntax: word:* is a prefix match; & requires all.
    return " & ".join(f"{t}:*" for t in terms)
