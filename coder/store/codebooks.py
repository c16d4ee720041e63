"""Codebook versions: every loaded YAML is kept; one is current."""

from __future__ import annotations

from coder.store._base import StoreBase, now
from coder.store.rows import CodebookRow, columns

_CODEBOOK = f"SELECT {columns(CodebookRow, 'c')} FROM codebooks c"


class Codebooks(StoreBase):
    """Table ``codebooks``."""

    def save_codebook(self, *, name: str, version: str, hash: str, source: str, yaml_text: str) -> bool:
        """Store a codebook version and make it current; False when this exact version was current."""
        with self.transaction():
            cur = self.db.execute("SELECT hash FROM codebooks WHERE is_current = 1").fetchone()
            if cur is not None and cur[0] == hash:
                return False
            self.db.execute("UPDATE codebooks SET is_current = 0")
            self.db.execute(
                "INSERT INTO codebooks (name, version, hash, source, yaml, loaded_at, is_current)"
                " VALUES (?,?,?,?,?,?,1)"
                " ON CONFLICT(hash) DO UPDATE SET is_current = 1, loaded_at = excluded.loaded_at",
                (name, version, hash, source, yaml_text, now()),
            )
        return True

    def current_codebook_row(self) -> CodebookRow | None:
        return self._one(CodebookRow, _CODEBOOK + " WHERE c.is_current = 1")

    def codebook_versions(self) -> list[CodebookRow]:
        """Every version ever loaded, oldest first."""
        return self._all(CodebookRow, _CODEBOOK + " ORDER BY c.id")
