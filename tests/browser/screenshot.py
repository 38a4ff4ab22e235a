#!/usr/bin/env python3
"""Screenshot of a running demo page, for the README (docs/demo.png, docs/demo-firefox.png).

    scripts/demo &                     # the demo on its usual ports
    .venv/bin/python tests/browser/screenshot.py [--engine chromium|firefox] [URL] [OUT]
                                       # defaults: chromium, http://localhost:3000/, and
                                       # docs/demo.png (chromium) or docs/demo-firefox.png (firefox)

Waits until the page has run every row and writes OUT only if every row is as expected (a
screenshot of a failing demo is saved next to OUT as *.failed.png instead, and the exit status is 1).
The browser is started and stopped the way the browser tests do it (engines.py); the driver's
log goes to tests/artifacts/screenshot/ENGINE/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_stack  # noqa: E402
import engines  # noqa: E402

DEFAULT_OUT = {"chromium": "demo.png", "firefox": "demo-firefox.png"}


def shrink(png: Path) -> None:
    """A 256-colour palette makes the picture a third of the size, text intact (needs Pillow;
    without it the screenshot stays as the browser wrote it)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def capture(browser: engines.Browser, url: str, out: Path) -> bool:
    """Loads the demo at url, waits for every row, writes the full page to out (or *.failed.png)."""
    browser.set_viewport(1440, 900)
    browser.open(url)
    browser.wait_for("document.documentElement.dataset.state === 'done'", 60)
    summary = browser.evaluate("() => window.DEMO_SUMMARY")
    good = summary["passed"] == summary["total"]
    target = out if good else out.with_suffix(".failed.png")
    browser.screenshot(target, full_page=True)
    shrink(target)
    print(f"{browser.name} {browser.version}: {summary['passed']}/{summary['total']} rows as expected; wrote {target}")
    return good


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=engines.ENGINES, default="chromium")
    ap.add_argument("url", nargs="?", default="http://localhost:3000/")
    ap.add_argument("out", nargs="?", type=Path)
    args = ap.parse_args()
    out = args.out or demo_stack.ROOT / "docs" / DEFAULT_OUT[args.engine]
    try:
        browser = engines.launch(args.engine, demo_stack.ARTIFACTS / "screenshot" / args.engine)
    except engines.EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        return 0 if capture(browser, args.url, out) else 1
    finally:
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
