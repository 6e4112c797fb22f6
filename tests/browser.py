"""Render a page in a real headless browser (Debian's Chromium) and measure its layout, for the tests
of the report. No runtime dependency: the browser is driven by its command line only.

:func:`measure_layout` copies the page into a test folder with a small script that runs after the
page has loaded, measures every element with ``getBoundingClientRect`` and writes the result as JSON
into the page; ``chromium --dump-dom`` prints the page after the script ran. In print mode the
copy's ``@media print`` rules are applied to the screen (``@media all``) and the window is as wide as
the printable part of an A4 page, so the print stylesheet is measured as it lays out a PDF.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

A4_PRINTABLE_PX = 680
"""The printable width of A4 with margins of 1.5 cm, in CSS pixels (18 cm at 96 px per inch)."""

MEASURE = """
<script>
window.addEventListener('load', function () {
  var scrollBoxes = %(scroll_boxes)s;
  var width = document.documentElement.clientWidth;
  var wide = [];
  document.body.querySelectorAll('*').forEach(function (el) {
    if (scrollBoxes && el.closest('.tablewrap') && !el.classList.contains('tablewrap')) { return; }
    var box = el.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 1 || box.left < -1)) {
      wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' +
                Math.round(box.left) + '-' + Math.round(box.right));
    }
  });
  var tables = Array.prototype.slice.call(document.querySelectorAll('table'));
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.tablewrap'));
  var images = Array.prototype.slice.call(document.images);
  var result = {
    viewport: width, page_width: document.documentElement.scrollWidth, too_wide: wide,
    tables: tables.length,
    tables_outside_scroll_box: tables.filter(function (t) { return !t.closest('.tablewrap'); }).length,
    scrolling_boxes: boxes.filter(function (b) { return b.scrollWidth > b.clientWidth + 1; }).length,
    images: images.length,
    images_drawn: images.filter(function (i) { return i.naturalWidth > 0; }).length,
    images_too_wide: images.filter(function (i) { return i.getBoundingClientRect().right > width + 1; }).length
  };
  var out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(arguments: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    browser = chromium()
    assert browser, "Chromium is not installed (apt-get install chromium)"
    # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
               "--no-first-run", "--disable-extensions", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=3000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")})


def measure_layout(page: Path, folder: Path, width: int, *, print_mode: bool = False) -> dict:
    """The layout of ``page`` in a window ``width`` px wide (see the module text)."""
    text = page.read_text(encoding="utf-8")
    if print_mode:
        text = text.replace("@media print{", "@media all{")
    script = MEASURE % {"scroll_boxes": "false" if print_mode else "true"}
    copy = folder / f"{page.stem}.{'print' if print_mode else 'screen'}.{width}.html"
    copy.write_text(text.replace("</body>", script + "</body>", 1), encoding="utf-8")
    done = _run([f"--window-size={width},1000", "--dump-dom", copy.resolve().as_uri()])
    found = re.search(r"<pre id=\"layout-check\">(.*?)</pre>", done.stdout, re.DOTALL)
    assert found, f"the browser did not run the layout check: {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def screenshot(page: Path, target: Path, width: int, height: int) -> Path:
    """A PNG of the top ``height`` px of ``page`` in a window ``width`` px wide."""
    done = _run([f"--window-size={width},{height}", f"--screenshot={target.resolve()}", page.resolve().as_uri()])
    assert target.is_file(), f"no screenshot: {done.stderr[-2000:]}"
    return target
