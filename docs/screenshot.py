"""Take the README's screenshot of the review page (needs /usr/bin/chromium and the dev extras).

    make demo && .venv/bin/python docs/screenshot.py demo-project/demo.db docs/review-page.png

Works on a copy of the project, so the demo project itself is not changed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from coder import web as sv

FLAGS = list(sv.HEADLESS_CHROMIUM_FLAGS)


def main(project: str, out: str, document: str = "P01.txt") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(project).name
        shutil.copy(project, copy)
        server = sv.make_server(copy, port=0, learn_every=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                page = browser.new_page(viewport={"width": 1360, "height": 860}, device_scale_factor=1)
                page.goto(f"{server.url}&coder=ana")
                page.get_by_role("link", name=document, exact=True).click()
                page.wait_for_selector("body[data-ready='1']")
                for key in ("j", "r", "2", "a", "a", "j"):  # reject (wrong code), accept, accept, move on
                    page.keyboard.press(key)
                    page.wait_for_timeout(250)
                page.screenshot(path=out)
                browser.close()
        finally:
            server.shutdown()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
