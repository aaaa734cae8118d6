"""Screenshot the inline walk-through as a notebook shows it, for docs/graphs.md and the tutorial.

Runs docs/notebooks/backprop.ipynb (nbclient), exports it to HTML (nbconvert), opens that page in
headless Chromium (Playwright driving Debian's /usr/bin/chromium), steps the first walk-through
to the step where `pow` sends 2·a·g, and saves the cell as a PNG.

    python examples/walkthrough_screenshot.py                 # writes docs/img/walkthrough.png
    python examples/walkthrough_screenshot.py out/shot.png    # writes somewhere else
"""
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "walkthrough.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def exported_notebook(work: Path) -> Path:
    nb = nbformat.read(str(ROOT / "docs" / "notebooks" / "backprop.ipynb"), as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    page = work / "backprop.html"
    page.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    return page


def main() -> None:
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        page_file = exported_notebook(Path(tmp))
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1800, "height": 1000}, device_scale_factor=1)
        page.route("http*://**", lambda route: route.abort())  # the page must work offline
        page.goto(page_file.as_uri())
        walkthrough = page.locator(".tlw").first
        for _ in range(3):  # step 3: pow sends 2·a·g to sub
            walkthrough.locator('button[data-act="next"]').click()
        cell = page.locator(".jp-Cell").filter(has=page.locator(".tlw")).first
        OUT.parent.mkdir(parents=True, exist_ok=True)
        tmp_png = OUT.with_name("." + OUT.name + ".tmp.png")
        cell.screenshot(path=str(tmp_png))
        os.replace(tmp_png, OUT)  # atomic: a reader never sees half a picture
        browser.close()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
