"""``draw`` (a ``graphviz.Digraph``, shown inline by Jupyter) and ``render`` (a picture file).

Only rendering needs Graphviz's ``dot`` binary. When it is missing, :func:`render` still
writes the DOT source next to the requested file and raises :class:`GraphvizNotFoundError`
with the command that installs it. Every file is written atomically (a temporary file in
the same directory, then ``os.replace``), so a reader never sees half a picture. A PNG
carries the DOT source it was drawn from in a text chunk (see :func:`with_dot_source`).
"""
from __future__ import annotations

import os
import struct
import zlib
from typing import TYPE_CHECKING, Optional, Tuple, Union

from .. import _validate as V
from .._io import write_atomic
from ..tensor import Tensor
from ._graph import Roots
from .dot import DrawOptions, build, source

if TYPE_CHECKING:  # graphviz is imported when a picture is made, so `import tinygrad_loss` needs only NumPy
    import graphviz

__all__ = ["draw", "render", "GraphvizNotFoundError", "FORMATS", "pipe", "write_atomic", "with_dot_source",
           "PNG_SOURCE_KEY"]

#: Formats :func:`render` accepts (anything ``dot -T`` knows also works through :func:`draw`).
FORMATS = ("svg", "png", "pdf", "dot")

INSTALL_HINT = ("install Graphviz, which provides the `dot` program: `sudo apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, or see "
                "https://graphviz.org/download/")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is not on ``PATH``."""


#: The PNG text chunk (iTXt) holding the DOT source a picture was drawn from.
PNG_SOURCE_KEY = "tinygrad_loss:dot"


def with_dot_source(png: bytes, dot_source: str) -> bytes:
    """The PNG with its DOT source added as a compressed ``iTXt`` chunk (keyword
    :data:`PNG_SOURCE_KEY`), just before ``IEND``. Viewers ignore it; it lets anyone redraw
    the picture, and lets the tests check that a checked-in picture matches the current code
    without comparing pixels (which depend on the fonts installed)."""
    end = png.rfind(b"IEND") - 4  # the IEND chunk: 4-byte length, type, CRC
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or end < 8:
        return png
    body = PNG_SOURCE_KEY.encode("latin-1") + b"\0\1\0\0\0" + zlib.compress(dot_source.encode("utf-8"), 9)
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    return png[:end] + chunk + png[end:]


def pipe(dot_source: str, fmt: str, dot_path: Optional[str] = None, where: str = "render") -> bytes:
    """Run ``dot -T<fmt>`` on the source. If ``dot`` is missing, write the source to ``dot_path``
    (when given) and raise :class:`GraphvizNotFoundError`."""
    import graphviz

    try:
        data = graphviz.Source(dot_source).pipe(format=fmt)
        return with_dot_source(data, dot_source) if fmt == "png" else data
    except graphviz.ExecutableNotFound:
        saved = ""
        if dot_path is not None:
            write_atomic(dot_path, dot_source)
            saved = f"; the DOT source was written to {dot_path} (render it later with `dot -T{fmt} -O {dot_path}`)"
        raise GraphvizNotFoundError(f"{where}: Graphviz's `dot` program was not found on PATH, so no {fmt} "
                                    f"can be made; {INSTALL_HINT}{saved}") from None


def _options(where: str, **kw) -> DrawOptions:
    try:
        return DrawOptions(**kw)
    except TypeError as e:
        names = ", ".join(DrawOptions.__dataclass_fields__)
        raise TypeError(f"{where}: unknown option ({e}); the options are: {names}") from None


def draw(tensor: Roots, **options) -> "graphviz.Digraph":
    """The graph that produced ``tensor`` as a ``graphviz.Digraph`` (displays inline in Jupyter).

    Takes the options of :func:`tinygrad_loss.to_dot`; ``draw(t).source == to_dot(t)``.
    ``Tensor.draw(**options)`` is the same call. Given a model instead of a tensor, draws its
    layers: ``draw(model, **kw)`` is :func:`tinygrad_loss.plot_model` ``(model, **kw)``.
    """
    import graphviz

    from .model_plot import is_model, plot_model

    if not isinstance(tensor, (Tensor, list, tuple)) and is_model(tensor):
        return plot_model(tensor, **options)

    lines = build(tensor, _options("draw", **options), where="draw")
    return _picture_class()("tinygrad_loss", body=[f"\t{x}\n" for x in lines])


_PICTURE = None


def _picture_class():
    """``graphviz.Digraph`` whose notebook display keeps the graph at its natural size (made on first use,
    so that graphviz is imported only when a picture is drawn)."""
    global _PICTURE
    if _PICTURE is None:
        import graphviz

        from .walkthrough import component

        class Picture(graphviz.Digraph):
            """A ``graphviz.Digraph``; Jupyter shows it in a scrollable viewport with zoom and pan, never
            shrunk to unreadable text (the plain SVG is in the same display bundle)."""

            def _repr_mimebundle_(self, include=None, exclude=None, **kw):
                bundle = super()._repr_mimebundle_(include, exclude, **kw)
                if "image/svg+xml" in bundle and "text/html" not in set(exclude or ()):
                    bundle["text/html"] = component([bundle["image/svg+xml"]], [""], "computation graph")
                return bundle

        _PICTURE = Picture
    return _PICTURE


def _target(path, fmt: Optional[str], where: str) -> Tuple[str, str]:
    path = V.path(where, "path", path)  # "" would write a hidden '.svg' in the working directory
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise ValueError(f"{where}: {path!r} is a directory; give a file name such as 'out/graph.svg'")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt is None:
        if ext and ext not in FORMATS:  # 'graph.jpg' must not quietly become 'graph.jpg.svg'
            raise ValueError(f"{where}: cannot write a .{ext} file; the formats are {', '.join(FORMATS)} "
                             f"(name the file e.g. 'graph.png', or pass format='png' to add the extension)")
        fmt = ext or "svg"
    if not isinstance(fmt, str):
        raise TypeError(f"{where}: format must be a string such as 'svg' or 'png', got {fmt!r}")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"{where}: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if ext != fmt:
        path = f"{path}.{fmt}"
    return path, fmt


def render(tensor: Roots, path: Union[str, "os.PathLike[str]"], format: Optional[str] = None, **options) -> str:
    """Draw ``tensor``'s graph into the file ``path`` and return the path written.

    ``format`` is ``"svg"``, ``"png"``, ``"pdf"`` or ``"dot"``; by default it is taken from
    the extension of ``path`` (``"svg"`` when there is none; another extension such as ``.jpg``
    is refused), and the extension is added when ``path`` lacks it. Takes the options of :func:`tinygrad_loss.to_dot`.
    If Graphviz's ``dot`` is not installed, the DOT source is written next to ``path``
    (same name, ``.dot`` extension) and :class:`GraphvizNotFoundError` says how to install it.
    """
    path, fmt = _target(path, format, "render")
    src = source(build(tensor, _options("render", **options), where="render"))
    if fmt == "dot":
        write_atomic(path, src)
        return path
    data = pipe(src, fmt, dot_path=os.path.splitext(path)[0] + ".dot", where="render")
    write_atomic(path, data)
    return path
