"""Turn a plain-text transcript into a Word document (how the demo's .docx transcripts were made).

One paragraph per line; a speaker label at the start of a line is set in bold, as transcribers do.
Usage: python corpora/tools/txt_to_docx.py corpora/demo/P03.txt  (writes P03.docx beside it)
"""

import re
import sys
from pathlib import Path

import docx

LABEL = re.compile(r"^([A-Z][\w.' -]{0,30}?:)(\s.*)?$")

for name in sys.argv[1:]:
    src = Path(name)
    document = docx.Document()
    for line in src.read_text(encoding="utf-8").split("\n"):
        p = document.add_paragraph()
        m = LABEL.match(line)
        if m and not line.startswith("#"):
            p.add_run(m.group(1)).bold = True
            p.add_run(m.group(2) or "")
        else:
            p.add_run(line)
    out = src.with_suffix(".docx")
    document.save(out)
    print(f"wrote {out}")
