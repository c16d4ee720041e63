"""The embeddings cache: little-endian float32 vectors keyed by (model, text hash)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from coder.store._base import StoreBase


class Embeddings(StoreBase):
    """Table ``embeddings``."""

    def missing_embeddings(
        self, model: str, *, coded_only: bool = True, batch: int = 512
    ) -> Iterator[list[tuple[str, str]]]:
        """Batches of (text_hash, text) of segments with no cached embedding for ``model``."""
        sql = (
            "SELECT s.text_hash, MIN(s.text) FROM segments s"
            " LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = s.text_hash"
            " WHERE e.text_hash IS NULL"
            + (" AND s.coded = 1" if coded_only else "")
            # by length: each batch then holds texts of similar length, so little padding is computed
            + " GROUP BY s.text_hash ORDER BY length(MIN(s.text)), MIN(s.id)"
        )
        rows = [(r[0], r[1]) for r in self._tuples(sql, (model,))]
        for i in range(0, len(rows), batch):
            yield rows[i : i + batch]

    def count_missing_embeddings(self, model: str, *, coded_only: bool = True) -> int:
        sql = (
            "SELECT COUNT(DISTINCT s.text_hash) FROM segments s"
            " LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = s.text_hash"
            " WHERE e.text_hash IS NULL" + (" AND s.coded = 1" if coded_only else "")
        )
        return int(self.db.execute(sql, (model,)).fetchone()[0])

    def put_embeddings(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        dim = int(vectors.shape[1])
        data = np.ascontiguousarray(vectors, dtype="<f4")
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, text_hash, dim, vector) VALUES (?,?,?,?)",
                [(model, h, dim, data[i].tobytes()) for i, h in enumerate(hashes)],
            )

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            chunk = list(hashes[i : i + 500])
            q = ",".join("?" * len(chunk))
            for h, blob in self._tuples(
                f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({q})",
                [model, *chunk],
            ):
                out[h] = np.frombuffer(blob, dtype="<f4")
        return out

    def iter_segment_embeddings(
        self, model: str, *, batch: int = 2048, have: Mapping[str, np.ndarray] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(segment ids, vectors) of coded segments, in batches, streamed from the store.

        ``have``: vectors already in memory by text hash (those just embedded), not read back."""
        if have:
            yield from self._segment_embeddings_from(model, have, batch)
            return
        last = -1
        while True:
            rows = self._tuples(
                "SELECT s.id, e.vector, e.dim FROM segments s JOIN embeddings e"
                " ON e.model = ? AND e.text_hash = s.text_hash WHERE s.coded = 1 AND s.id > ?"
                " ORDER BY s.id LIMIT ?",
                (model, last, batch),
            ).fetchall()
            if not rows:
                return
            dim = rows[0][2]
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
            last = int(ids[-1])
            yield ids, vecs

    def _segment_embeddings_from(
        self, model: str, have: Mapping[str, np.ndarray], batch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            rows = self._tuples(
                "SELECT id, text_hash FROM segments WHERE coded = 1 AND id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            stored = self.get_embeddings(model, sorted({h for _, h in rows if h not in have}))
            keep = [(i, have.get(h, stored.get(h))) for i, h in rows]
            last = int(rows[-1][0])
            found = [(i, v) for i, v in keep if v is not None]  # as the join: a segment with no vector is left out
            if found:
                yield np.array([i for i, _ in found], dtype=np.int64), np.stack([v for _, v in found])
