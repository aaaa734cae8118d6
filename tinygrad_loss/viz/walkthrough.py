"""The interactive walk-through: one self-contained HTML component, for pages and notebooks.

:func:`component` returns an HTML fragment holding every step as inline SVG plus a small
script. Each call gets a fresh id, its CSS selectors all start with that id and its script
looks elements up only inside its own container, so any number of walk-throughs work side by
side in one notebook or on one page. The graph keeps its natural size (text as Graphviz laid
it out) inside a scrollable viewport: it is never shrunk below ``MIN_ZOOM`` to fit; zoom with
the buttons, ``+``/``-`` or ctrl + mouse wheel (no digit keys: JupyterLab's 0, 0 restarts the kernel), pan by dragging or scrolling.

Controls (the keys work when the walk-through has focus: click it or tab to it): previous /
next buttons and ←/→, first / last and Home/End, a step slider, play/pause (space).
"""
from __future__ import annotations

import html
import re
import uuid
from typing import Optional, Sequence

__all__ = ["component", "page", "inline_svg", "MIN_ZOOM"]

#: The initial zoom fits the width but never goes below this (text 11 pt -> at least 11 px).
MIN_ZOOM = 0.75

_CSS = """
#{uid} {{ font-family: Helvetica, Arial, sans-serif; color: #1f2933; background: #f7f8fa;
  border: 1px solid #dde3ea; border-radius: 8px; outline: none; margin: 6px 0; }}
#{uid}:focus-within {{ box-shadow: 0 0 0 2px #b4c2d8; }}
#{uid} .tlw-bar {{ display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 8px 10px;
  background: #ffffff; border-bottom: 1px solid #dde3ea; border-radius: 8px 8px 0 0; }}
#{uid} .tlw-title {{ font-weight: bold; font-size: 15px; margin-right: 8px; }}
#{uid} button {{ font: inherit; font-size: 14px; padding: 3px 10px; border: 1px solid #b4c2d8;
  background: #eef2f8; border-radius: 5px; cursor: pointer; color: inherit; }}
#{uid} button:disabled {{ opacity: 0.4; cursor: default; }}
#{uid} input.tlw-slider {{ flex: 1 1 160px; min-width: 120px; }}
#{uid} .tlw-counter, #{uid} .tlw-zoom {{ font-variant-numeric: tabular-nums; color: #5f6b7a; font-size: 13px; }}
#{uid} .tlw-caption {{ padding: 8px 12px; color: #b0124a; font-weight: bold; font-size: 14px; min-height: 1.2em; }}
#{uid} .tlw-view {{ overflow: auto; max-height: 75vh; background: #ffffff; cursor: grab;
  border-top: 1px solid #dde3ea; border-radius: 0 0 8px 8px; }}
#{uid} .tlw-view.tlw-drag {{ cursor: grabbing; user-select: none; }}
#{uid} .tlw-step {{ display: none; margin: 0; padding: 0; }}
#{uid} .tlw-step.tlw-on {{ display: block; }}
#{uid} .tlw-step svg {{ display: block; max-width: none; height: auto; }}
"""

_STEPS = """<button type="button" data-act="first" title="first step (Home)">|&#9664;</button>
<button type="button" data-act="prev" title="previous step (&#8592;)">&#9664; previous</button>
<button type="button" data-act="play" title="play / pause (space)">&#9654; play</button>
<button type="button" data-act="next" title="next step (&#8594;)">next &#9654;</button>
<button type="button" data-act="last" title="last step (End)">&#9654;|</button>
<input class="tlw-slider" type="range" min="0" max="{last}" value="0" step="1" aria-label="step">
<span class="tlw-counter">step {first} of {total}</span>"""

_ZOOM = """<button type="button" data-act="zoom-out" title="zoom out (-)">&#8722;</button>
<span class="tlw-zoom">100%</span>
<button type="button" data-act="zoom-in" title="zoom in (+ or ctrl + wheel)">+</button>
<button type="button" data-act="zoom-reset" title="natural size">1:1</button>"""

# Every lookup starts from `root`, this walk-through's own container.
_SCRIPT = """(function () {
  var root = document.getElementById("%(uid)s");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var steps = root.querySelectorAll(".tlw-step"), view = root.querySelector(".tlw-view");
  var slider = root.querySelector(".tlw-slider"), counter = root.querySelector(".tlw-counter");
  var caption = root.querySelector(".tlw-caption"), zoomLabel = root.querySelector(".tlw-zoom");
  var btn = function (a) { return root.querySelector('button[data-act="' + a + '"]'); };
  var k = 0, zoom = 1, timer = null, last = steps.length - 1, MIN = %(min_zoom)s;
  function natural(svg) {
    var w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
    var pt = /pt$/.test(svg.getAttribute("width") || "") ? 4 / 3 : 1;
    return [w * pt, h * pt];
  }
  function applyZoom() {
    for (var i = 0; i < steps.length; i++) {
      var svg = steps[i].querySelector("svg"); if (!svg) continue;
      var n = natural(svg);
      svg.style.width = (n[0] * zoom) + "px"; svg.style.height = (n[1] * zoom) + "px";
    }
    zoomLabel.textContent = Math.round(zoom * 100) + "%%";
  }
  function setZoom(z, cx, cy) {
    var old = zoom; z = Math.max(0.2, Math.min(4, z));
    var ax = (cx === undefined) ? view.clientWidth / 2 : cx, ay = (cy === undefined) ? view.clientHeight / 2 : cy;
    var x = (view.scrollLeft + ax) / old, y = (view.scrollTop + ay) / old;
    zoom = z; applyZoom();
    view.scrollLeft = x * z - ax; view.scrollTop = y * z - ay;
  }
  function disable(a, v) { var b = btn(a); if (b) b.disabled = v; }
  function show(i) {
    k = Math.max(0, Math.min(last, i));
    for (var j = 0; j < steps.length; j++) steps[j].className = "tlw-step" + (j === k ? " tlw-on" : "");
    if (slider) slider.value = k;
    if (counter) counter.textContent = "step " + steps[k].getAttribute("data-number") + " of " + root.getAttribute("data-last");
    if (caption) caption.textContent = steps[k].getAttribute("data-caption");
    disable("first", k === 0); disable("prev", k === 0);
    disable("last", k === last); disable("next", k === last);
    if (k === last) stop();
  }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (btn("play")) btn("play").innerHTML = "&#9654; play";
  }
  function play() {
    if (timer) { stop(); return; }
    if (k === last) show(0);
    btn("play").innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(function () { show(k + 1); }, %(interval)d);
  }
  var actions = {
    first: function () { stop(); show(0); }, prev: function () { stop(); show(k - 1); },
    next: function () { stop(); show(k + 1); }, last: function () { stop(); show(last); }, play: play,
    "zoom-in": function () { setZoom(zoom * 1.25); }, "zoom-out": function () { setZoom(zoom / 1.25); },
    "zoom-reset": function () { setZoom(1); }
  };
  root.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button[data-act]") : null;
    if (b && root.contains(b)) { actions[b.getAttribute("data-act")](); root.focus({ preventScroll: true }); }
  });
  if (slider) slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  var keys = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last", " ": "play",
               "+": "zoom-in", "=": "zoom-in", "-": "zoom-out" };
  root.addEventListener("keydown", function (e) {
    if (e.target === slider && e.key !== " ") return;  // the slider moves itself
    var a = keys[e.key]; if (!a || !btn(a) || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault(); e.stopPropagation(); actions[a]();
  });
  view.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    var r = view.getBoundingClientRect();
    setZoom(zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, l: view.scrollLeft, t: view.scrollTop };
    view.classList.add("tlw-drag");
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) return;
    view.scrollLeft = drag.l - (e.clientX - drag.x); view.scrollTop = drag.t - (e.clientY - drag.y);
  });
  window.addEventListener("pointerup", function () { drag = null; view.classList.remove("tlw-drag"); });
  var widest = 0;
  for (var i = 0; i < steps.length; i++) {
    var s = steps[i].querySelector("svg"); if (s) widest = Math.max(widest, natural(s)[0]);
  }
  var fit = (view.clientWidth && widest) ? (view.clientWidth - 4) / widest : 1;
  zoom = Math.max(MIN, Math.min(1, fit));
  applyZoom(); show(0);
})();"""


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG document made fit for embedding: no XML prolog/doctype/comments, every id prefixed."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return svg.strip()


def component(svgs: Sequence[str], captions: Sequence[str], title: str, interval_ms: int = 1200,
              numbers: Optional[Sequence[int]] = None, last: Optional[int] = None) -> str:
    """The walk-through of the step pictures ``svgs`` (SVG documents) as one HTML fragment.

    ``numbers`` are the step numbers the counter shows (default 0, 1, ...) and ``last`` the number of the
    last step of the whole pass (so a part of a walk-through counts as its captions do)."""
    if len(svgs) != len(captions) or not svgs:
        raise ValueError("walkthrough: need one caption per picture, and at least one picture")
    numbers = list(range(len(svgs))) if numbers is None else list(numbers)
    last = len(svgs) - 1 if last is None else last
    uid = "tlw-" + uuid.uuid4().hex[:12]
    stepping = len(svgs) > 1  # a single picture gets the viewport and the zoom, no step controls
    sections = []
    for k, (svg, cap) in enumerate(zip(svgs, captions)):
        on = " tlw-on" if k == 0 else ""  # without the script, step 0 still shows
        sections.append(f'<section class="tlw-step{on}" data-step="{k}" data-number="{numbers[k]}" '
                        f'data-caption="{html.escape(cap)}" '
                        f'aria-label="{html.escape(cap)}">\n{inline_svg(svg, f"{uid}-s{k}-")}\n</section>')
    bar = (f'<div class="tlw-bar">\n<span class="tlw-title">{html.escape(title)}</span>\n'
           f"{_STEPS.format(last=len(svgs) - 1, first=numbers[0], total=last) if stepping else ''}\n{_ZOOM}\n</div>")
    caption = f'<div class="tlw-caption" aria-live="polite">{html.escape(captions[0])}</div>\n' if stepping else ""
    script = _SCRIPT % {"uid": uid, "min_zoom": MIN_ZOOM, "interval": interval_ms}
    # data-lm-suppress-shortcuts: JupyterLab leaves the keys to the walk-through while it has focus
    return (f'<div class="tlw" id="{uid}" tabindex="0" role="group" aria-label="{html.escape(title)}" '
            f'data-last="{last}" data-lm-suppress-shortcuts="true">\n<style>{_CSS.format(uid=uid)}</style>\n{bar}\n{caption}'
            f'<div class="tlw-view">\n' + "\n".join(sections) + f"\n</div>\n<script>{script}</script>\n</div>")


def page(fragment: str, title: str) -> str:
    """A whole HTML page around one walk-through (no network needed)."""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>\n"
            "<style>body { margin: 0; padding: 14px 18px; background: #eef1f5; }</style></head>\n"
            f"<body>\n{fragment}\n</body></html>\n")
