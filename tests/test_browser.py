"""The walk-through as a person sees it: pages opened in headless Chromium through Playwright.

One browser for the whole module (Debian's /usr/bin/chromium, no browser download). Pages are
local files; any request to the network is refused, so a page that needs one fails here.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses
from tinygrad_loss.nn import Dense, Sequential

from playwright import sync_api  # in the dev extra: a missing one is a broken install, not a skip
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    """Open a local file at a 1400 px wide window; yields (page, errors seen so far)."""
    pages = []

    def _open(path: Path, width: int = 1400):
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route("http*://**", lambda route: route.abort())  # no network
        page.goto(path.as_uri())
        pages.append(page)
        return page, errors

    yield _open
    for p in pages:
        p.close()


def reference_loss():
    tl.nn.clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    loss = losses.MeanSquaredError()(tl.Tensor([3, 5, 7], name="y_true"), model(tl.Tensor([[1, 2], [2, 3], [3, 4]])))
    loss.name = "loss"
    return loss


def classifier_loss():
    """Dense(4, relu) -> Dense(4, relu) -> Dense(3) -> cross-entropy on logits: more than 20 nodes."""
    tl.nn.clear_session()
    tl.manual_seed(1)
    mlp = Sequential([Dense(4, activation="relu", input_shape=(2,)), Dense(4, activation="relu"), Dense(3)])
    ce = losses.CategoricalCrossentropy(from_logits=True)(
        tl.Tensor([[1, 0, 0], [0, 0, 1]]), mlp(tl.Tensor([[0.5, -1.0], [1.5, 2.0]])))
    ce.name = "loss"
    return ce


@pytest.fixture(scope="module")
def two_walkthroughs(tmp_path_factory):
    small, big = tl.backprop_steps(reference_loss()), tl.backprop_steps(classifier_loss())
    path = tmp_path_factory.mktemp("pages") / "two.html"
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    + small.html("first") + big.html("second") + "</body></html>", encoding="utf-8")
    return path, len(small) - 1, len(big) - 1


def counters(page):
    return page.eval_on_selector_all(".tlw .tlw-counter", "els => els.map(e => e.textContent)")


def visible_caption(page, k):
    return page.eval_on_selector_all(".tlw .tlw-caption", f"els => els[{k}].textContent")


def test_two_walkthroughs_on_one_page_advance_independently(open_page, two_walkthroughs):
    path, n_small, n_big = two_walkthroughs
    page, errors = open_page(path)
    assert counters(page) == [f"step 0 of {n_small}", f"step 0 of {n_big}"]
    first, second = page.locator(".tlw").nth(0), page.locator(".tlw").nth(1)
    first.locator('button[data-act="next"]').click()
    first.locator('button[data-act="next"]').click()
    assert counters(page) == [f"step 2 of {n_small}", f"step 0 of {n_big}"]
    assert visible_caption(page, 0).startswith(f"step 2 of {n_small}: ")
    assert visible_caption(page, 1).startswith(f"step 0 of {n_big}: the seed")
    # exactly one step shown in each, the one the counter names
    shown = page.eval_on_selector_all(".tlw", "els => els.map(e => Array.from(e.querySelectorAll('.tlw-step'))"
                                      ".filter(s => getComputedStyle(s).display !== 'none').map(s => s.dataset.step))")
    assert shown == [["2"], ["0"]]
    second.locator('button[data-act="last"]').click()
    assert counters(page) == [f"step 2 of {n_small}", f"step {n_big} of {n_big}"]
    assert second.locator('button[data-act="next"]').is_disabled()
    assert not errors, errors


def test_keys_work_when_a_walkthrough_has_focus(open_page, two_walkthroughs):
    path, n_small, n_big = two_walkthroughs
    page, errors = open_page(path)
    second = page.locator(".tlw").nth(1)
    second.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
    assert counters(page) == [f"step 0 of {n_small}", f"step 2 of {n_big}"]
    page.keyboard.press("End")
    assert counters(page)[1] == f"step {n_big} of {n_big}"
    page.keyboard.press("Home")
    assert counters(page)[1] == f"step 0 of {n_big}"
    slider = second.locator("input.tlw-slider")
    slider.fill("5")  # the slider jumps to a step
    assert counters(page) == [f"step 0 of {n_small}", f"step 5 of {n_big}"]
    page.locator(".tlw").nth(0).focus()
    page.keyboard.press("ArrowRight")
    assert counters(page) == [f"step 1 of {n_small}", f"step 5 of {n_big}"]
    assert not errors, errors


def test_play_pause_and_zoom(open_page, two_walkthroughs):
    path, n_small, _ = two_walkthroughs
    page, errors = open_page(path)
    first = page.locator(".tlw").nth(0)
    first.locator('button[data-act="play"]').click()
    page.wait_for_function("document.querySelector('.tlw .tlw-counter').textContent !== 'step 0 of %d'" % n_small,
                           timeout=5000)
    first.locator('button[data-act="play"]').click()  # pause
    k = counters(page)[0]
    page.wait_for_timeout(1500)
    assert counters(page)[0] == k and k != f"step 0 of {n_small}"
    width = lambda: page.eval_on_selector(".tlw .tlw-step.tlw-on svg", "s => s.getBoundingClientRect().width")
    before = width()
    first.locator('button[data-act="zoom-in"]').click()
    assert width() == pytest.approx(before * 1.25, rel=0.02)
    first.locator('button[data-act="zoom-reset"]').click()
    natural = page.eval_on_selector(".tlw .tlw-step.tlw-on svg", "s => parseFloat(s.getAttribute('width')) * 4 / 3")
    assert width() == pytest.approx(natural, rel=0.02)
    assert not errors, errors


def node_text_heights(page, k):
    """Heights in CSS px of the node texts of the step shown in walk-through ``k``, and its node count."""
    return page.eval_on_selector_all(".tlw", f"""els => {{
        const svg = els[{k}].querySelector('.tlw-step.tlw-on svg');
        const texts = Array.from(svg.querySelectorAll('g.node text'));
        return [texts.map(t => t.getBoundingClientRect().height), svg.querySelectorAll('g.node').length];
    }}""")


def test_node_text_of_a_big_graph_is_readable_at_1400px(open_page, two_walkthroughs):
    path, _, _ = two_walkthroughs
    page, errors = open_page(path, width=1400)
    heights, nodes = node_text_heights(page, 1)
    assert nodes >= 20
    assert heights and min(heights) >= 8, sorted(heights)[:5]
    # the graph is bigger than its viewport, so it scrolls instead of shrinking
    overflow = page.eval_on_selector_all(".tlw .tlw-view", "els => els[1].scrollWidth > els[1].clientWidth "
                                         "|| els[1].scrollHeight > els[1].clientHeight")
    assert overflow
    assert not errors, errors


def test_render_backprop_page(open_page, tmp_path):
    path = Path(tl.render_backprop(classifier_loss(), tmp_path / "steps.html", title="classifier"))
    page, errors = open_page(path)
    n = len(tl.backprop_steps(classifier_loss())) - 1
    page.locator(".tlw").focus()
    page.keyboard.press("ArrowRight")
    assert counters(page) == [f"step 1 of {n}"]
    heights, nodes = node_text_heights(page, 0)
    assert nodes >= 20 and min(heights) >= 8
    assert not errors, errors


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory):
    """docs/notebooks/backprop.ipynb, executed, exported to HTML with nbconvert."""
    from nbconvert import HTMLExporter
    from test_notebooks import NOTEBOOKS, run_notebook

    work = tmp_path_factory.mktemp("notebook")
    nb = run_notebook(NOTEBOOKS / "backprop.ipynb", work)
    body, _ = HTMLExporter().from_notebook_node(nb)
    path = work / "backprop.html"
    path.write_text(body, encoding="utf-8")
    return path


def test_notebook_exported_to_html_keeps_working_walkthroughs(open_page, notebook_page):
    page, errors = open_page(notebook_page)
    n = page.locator(".tlw").count()
    assert n >= 3
    start = counters(page)
    assert all(c.startswith("step 0 of ") for c in start)
    page.locator(".tlw").nth(1).locator('button[data-act="next"]').click()
    after = counters(page)
    assert after[1].startswith("step 1 of ") and after[0] == start[0] and after[2:] == start[2:]
    page.locator(".tlw").nth(0).focus()
    page.keyboard.press("End")
    assert counters(page)[0].split(" of ")[0] == "step " + start[0].split(" of ")[1]
    heights, nodes = node_text_heights(page, 1)
    assert nodes >= 20 and min(heights) >= 8
    # any page error, including one from the notebook's own scripts, fails the test
    assert not [e for e in errors if "net::ERR" not in e and "Failed to load resource" not in e], errors


def test_ctrl_wheel_zooms_and_dragging_pans(open_page, two_walkthroughs):
    path, _, _ = two_walkthroughs
    page, errors = open_page(path)
    big = page.locator(".tlw").nth(1)
    view = big.locator(".tlw-view")
    width = lambda: page.eval_on_selector_all(".tlw .tlw-step.tlw-on svg", "s => s[1].getBoundingClientRect().width")
    zoom_label = lambda: big.locator(".tlw-zoom").text_content()
    before, label = width(), zoom_label()
    view.hover()
    page.keyboard.down("Control")
    page.mouse.wheel(0, -200)  # ctrl + wheel up: zoom in, and the page itself does not zoom
    page.keyboard.up("Control")
    page.wait_for_function("(w) => document.querySelectorAll('.tlw .tlw-step.tlw-on svg')[1]"
                           ".getBoundingClientRect().width > w", arg=before, timeout=3000)
    assert zoom_label() != label and width() > before
    page.mouse.wheel(0, 200)  # without ctrl the wheel scrolls, it does not zoom
    page.wait_for_timeout(200)
    assert zoom_label() != label
    start = view.evaluate("v => [v.scrollLeft, v.scrollTop]")
    box = view.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3, steps=5)
    page.mouse.up()
    end = view.evaluate("v => [v.scrollLeft, v.scrollTop]")
    assert end[0] > start[0] or end[1] > start[1]  # dragging the picture left/up scrolls right/down
    assert not errors, errors


def test_a_drawn_graph_keeps_readable_text_with_zoom_and_no_step_controls(open_page, tmp_path):
    """tl.draw(loss) as a notebook shows it (its text/html): the same viewport, one picture, zoom only."""
    fragment = tl.draw(classifier_loss())._repr_mimebundle_()["text/html"]
    path = tmp_path / "draw.html"
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + fragment + "</body></html>",
                    encoding="utf-8")
    page, errors = open_page(path)
    assert page.locator(".tlw .tlw-counter").count() == 0 and page.locator('.tlw button[data-act="next"]').count() == 0
    heights, nodes = node_text_heights(page, 0)
    assert nodes >= 20 and min(heights) >= 8
    width = lambda: page.eval_on_selector(".tlw .tlw-step.tlw-on svg", "s => s.getBoundingClientRect().width")
    before = width()
    page.locator('.tlw button[data-act="zoom-out"]').click()
    assert width() == pytest.approx(before / 1.25, rel=0.02)
    page.locator(".tlw").focus()
    page.keyboard.press("ArrowRight")  # no steps: the key does nothing, and nothing breaks
    assert not errors, errors


def test_a_part_of_a_walkthrough_counts_as_its_captions(open_page, tmp_path):
    steps = tl.backprop_steps(classifier_loss())
    path = tmp_path / "part.html"
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + steps[5:9].html()
                    + "</body></html>", encoding="utf-8")
    page, errors = open_page(path)
    n = len(steps) - 1
    assert counters(page) == [f"step 5 of {n}"]
    page.locator('.tlw button[data-act="last"]').click()
    assert counters(page) == [f"step 8 of {n}"] and visible_caption(page, 0).startswith(f"step 8 of {n}: ")
    assert not errors, errors
