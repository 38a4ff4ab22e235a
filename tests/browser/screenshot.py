#!/usr/bin/env python3
"""Screenshot of a running demo page, for the README (docs/demo.png).

    scripts/demo &                     # the demo on its usual ports
    .venv/bin/python tests/browser/screenshot.py [URL] [OUT]
                                       # defaults: http://localhost:3000/  docs/demo.png

Waits until the page has run every row and writes OUT only if every row is as expected (a
screenshot of a failing demo is saved next to OUT as *.failed.png instead, and the exit status is 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import demo_stack  # noqa: E402


def shrink(png: Path) -> None:
    """A 256-colour palette makes the picture a third of the size, text intact (needs Pillow;
    without it the screenshot stays as Chromium wrote it)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000/"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else demo_stack.ROOT / "docs" / "demo.png")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=demo_stack.CHROMIUM, args=demo_stack.CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
            page.goto(url)
            page.wait_for_function("document.documentElement.dataset.state === 'done'", timeout=60_000)
            summary = page.evaluate("window.DEMO_SUMMARY")
            good = summary["passed"] == summary["total"]
            target = out if good else out.with_suffix(".failed.png")
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
            shrink(target)
            print(f"{summary['passed']}/{summary['total']} rows as expected; wrote {target}")
            return 0 if good else 1
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
