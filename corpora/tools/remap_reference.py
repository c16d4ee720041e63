"""Re-point corpora/demo/reference-coding.csv at the current default segmentation (run once per change).

When the segmenter joins sentences the old one cut apart (``coder.segment.whole_sentences``), a
reference coding of a fragment becomes a coding of the whole sentence that contains it (not counting
annotations such as "[pause]" that opened it, which now close the sentence before): its
``start``/``end``/``text`` become that sentence's, and a code given to two fragments of one sentence
is kept once. A reference span that no unit contains stops the script: nothing is written.

    .venv/bin/python corpora/tools/remap_reference.py
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from coder.app import Project  # noqa: E402
from coder.segment import load_splitter, segment  # noqa: E402
from coder.transcripts import read_file  # noqa: E402

REFERENCE = ROOT / "corpora" / "demo" / "reference-coding.csv"
NOTES = re.compile(r"(?:\[[^\]]*\]\s*)+")


def main() -> None:
    files, _, _ = Project.demo_inputs()
    splitter = load_splitter()
    units = {}
    for p in files:
        t = read_file(Path(p))[0]
        units[Path(p).name] = [s for s in segment(t, splitter) if s.coded]
    with REFERENCE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        rows = list(reader)
    out, seen, moved = [], set(), 0
    for i, r in enumerate(rows, start=2):
        a, b = int(r["start"]), int(r["end"])
        home = next((s for s in units[r["document"]] if s.start <= a and b <= s.end), None)
        if home is None:  # an annotation that opened the span ("[pause] I don't…") now closes the sentence before
            lead = NOTES.match(r["text"])
            a += lead.end() if lead else 0
            home = next((s for s in units[r["document"]] if s.start <= a and b <= s.end), None)
        if home is None:
            raise SystemExit(f"{REFERENCE}: row {i}: no unit contains {r['document']} {a}-{b}; nothing written")
        key = (r["document"], home.start, home.end, r["code"])
        moved += (home.start, home.end) != (a, b)
        if key in seen:
            continue
        seen.add(key)
        out.append({**r, "start": str(home.start), "end": str(home.end), "text": home.text})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)  # the file's CRLF line ends, as csv writes them
    w.writeheader()
    w.writerows(out)
    REFERENCE.write_bytes(buf.getvalue().encode("utf-8"))
    print(
        f"{len(rows)} codings: {moved} moved to the whole sentence that contains them, {len(rows) - len(out)} "
        f"merged with the same code on the same sentence; {len(out)} written"
    )


if __name__ == "__main__":
    main()
