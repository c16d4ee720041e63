"""Memos: a coder's notes on sentences."""

from __future__ import annotations

from coder.store._base import StoreBase, now
from coder.store.rows import MemoDetail, MemoRow, columns

_MEMO = f"SELECT {columns(MemoRow, 'm')} FROM memos m"


class Memos(StoreBase):
    """Table ``memos``."""

    def add_memo(self, segment_id: int, coder: str, text: str, *, created_at: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO memos (segment_id, coder, text, created_at) VALUES (?,?,?,?)",
            (segment_id, coder, text, created_at or now()),
        )
        return int(cur.lastrowid or 0)

    def memos(self, segment_id: int) -> list[MemoRow]:
        return self._all(MemoRow, _MEMO + " WHERE m.segment_id = ? ORDER BY m.id", (segment_id,))

    def document_memos(self, document_id: int, coder: str) -> list[MemoRow]:
        """A coder's memos on the sentences of one document, oldest first."""
        return self._all(
            MemoRow,
            f"""SELECT {columns(MemoRow, "m")} FROM memos m JOIN segments s ON s.id = m.segment_id
                WHERE s.document_id = ? AND m.coder = ? ORDER BY m.id""",
            (document_id, coder),
        )

    def all_memos(self) -> list[MemoDetail]:
        """Every memo with its segment's document id and offsets (for exports)."""
        return self._all(
            MemoDetail,
            f"""SELECT {columns(MemoRow, "m")}, s.document_id, s.start, s.end
                FROM memos m JOIN segments s ON s.id = m.segment_id ORDER BY m.id""",
        )
