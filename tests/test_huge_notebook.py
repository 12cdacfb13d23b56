"""A huge notebook (>= 50 MB): its note says its size and what a guest downloads, and stopping
its share gives the kernel's memory back (session/footprint.py, Share._release).

Real kernels (jupyter_client) share a 55 MB notebook of fresh random PNGs built here (no two
images alike: the server would send a repeated one once). Two baselines, each RSS taken after
`footprint.give_back()` (a full collection and glibc's trim, as a stop does):
- "imports": the kernel after `%load_ext jupyterspot_magic` only;
- "before": then one share of a small notebook started and stopped: every module a share
  imports is loaded and nbconvert's exporter and templates are built, which the first share in a
  process pays once and keeps.
After stop: asserted within 10 % of "before" (the issue's bound). Against "imports" it is not
within 10 %: the first share keeps about +49 MB (69 -> 118 MB here), and after the 55 MB share's
stop the kernel is at 122-124 MB (1.77-1.79x "imports"); printed, not asserted.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import shutil
import struct
import threading
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jupyterspot_magic.content.live import LiveContent
from jupyterspot_magic.content.locate import Located
from jupyterspot_magic.content.render import RenderedNotebook
from jupyterspot_magic.session import footprint, hosted
from jupyterspot_magic.session.live import LiveUpdater
from jupyterspot_magic.session.share import Share

from .conftest import DEMO, save_notebook, wait_for
from .kernel import Kernel
from .live_helpers import query, share_command

HUGE_MB = 55
NOTE = re.compile(
    r"large notebook: ([\d.]+) MB; each guest downloads about ([\d.]+) MB \(page, gzip\)"
    r" \+ ([\d.]+) MB of images"
)
MEMORY_SLACK = 1.10  # the issue's bound: within 10 % of before


def noise_png(side: int, seed: int) -> bytes:
    """A side x side RGB PNG of random pixels (incompressible: about 3 * side**2 bytes)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(rows, 0))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def write_huge_notebook(path: Path, megabytes: float, side: int = 500) -> int:
    """A notebook of at least `megabytes` (decimal) of figures, each with a markdown heading
    and a printed table; returns the bytes of its (distinct) images."""
    cells: list[dict] = []
    images = size = n = 0
    while size < megabytes * 1e6:
        png = noise_png(side, n)
        data = base64.b64encode(png).decode()
        table = "\n".join(f"{n:4d} {i:4d} {i * n * 0.37:12.4f}" for i in range(120))
        cells.append(
            {"cell_type": "markdown", "id": f"m{n}", "metadata": {}, "source": f"## Figure {n}"}
        )
        outputs = [
            {"output_type": "stream", "name": "stdout", "text": table},
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": data, "text/plain": f"<Figure {n}>"},
            },
        ]
        cells.append(
            {
                "cell_type": "code",
                "id": f"c{n}",
                "metadata": {},
                "execution_count": n + 1,
                "source": f"print(table({n}))\nshow(figure({n}))",
                "outputs": outputs,
            }
        )
        images += len(png)
        size += len(data) + len(table) + 400
        n += 1
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return images


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> tuple[Path, int]:
    """(a 55 MB notebook, the bytes of its images), built once for the module."""
    path = tmp_path_factory.mktemp("huge") / "huge.ipynb"
    return path, write_huge_notebook(path, HUGE_MB)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> None:
    """The kernel's render cache in the test's folder (listed before `kernel`: it inherits it)."""
    monkeypatch.setenv("JUPYTERSPOT_CACHE_DIR", str(tmp_path / "cache"))


def shared_notes(kernel: Kernel) -> list[str]:
    out = query(kernel, "import json, jupyterspot_magic as j; print(json.dumps(j.current().notes))")
    return json.loads(out.strip().splitlines()[-1])


def baseline(kernel: Kernel, folder: Path) -> tuple[float, float]:
    """The kernel's RSS (MB) after the extension only ("imports"), then after a small share
    started and stopped ("before"; that share's notes have no size note)."""
    query(
        kernel,
        "%load_ext jupyterspot_magic\n"
        "from jupyterspot_magic.session import footprint\nfootprint.give_back()",
    )
    imports = kernel.rss_mb()
    small = folder / "small.ipynb"
    shutil.copy(DEMO, small)
    result = kernel.execute(share_command(small), timeout=120)
    assert result["error"] is None, result["error"]
    assert not [n for n in shared_notes(kernel) if n.startswith(footprint.NOTE_START)]
    query(kernel, "import jupyterspot_magic as j; j.current().stop()")
    return imports, kernel.rss_mb()


def served_gzip_bytes(kernel: Kernel) -> int:
    """The guest page as the server sends it gzip-compressed, as a browser asks for it."""
    out = query(kernel, "import jupyterspot_magic as j; print(j.current().local_url)")
    url = out.strip().splitlines()[-1].split("#")[0]
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        body = answer.read()
    gzip.decompress(body)  # a whole gzip stream, not a part of one
    return len(body)


def notebook_size(kernel: Kernel) -> int:
    """What the note calls the notebook's size: its file or its page, whichever is larger."""
    out = query(
        kernel,
        "import jupyterspot_magic as j\n"
        "from jupyterspot_magic.session import footprint as f\n"
        "s = j.current(); print(f.size(s.rendered, s.located.path))",
    )
    return int(out.split()[-1])


def check_note(note: str, *, size: int, gzipped: int, images: int) -> None:
    m = NOTE.fullmatch(note)
    assert m, note
    assert m.group(1) == footprint.mb(size).split()[0], (note, size)
    assert m.group(2) == footprint.mb(gzipped).split()[0], (note, gzipped)
    assert m.group(3) == footprint.mb(images).split()[0], (note, images)


def report(imports: float, before: float, during: float, after: float) -> None:
    print(
        f"kernel RSS (MB): imports {imports:.1f}, before {before:.1f}, shared {during:.1f},"
        f" after stop {after:.1f} ({after / before:.3f}x before, {after / imports:.3f}x imports)"
    )


def stop_and_measure(kernel: Kernel) -> float:
    """Stop the share, holding on to it as a user's `s = share(...)` would: the RSS after."""
    query(kernel, "import jupyterspot_magic as j; s = j.current(); s.stop()", timeout=120)
    return kernel.rss_mb()


def test_mb_reads_like_the_issue() -> None:
    assert [footprint.mb(n) for n in (62_400_000, 9_800_000, 48_000_000, 400_000)] == [
        "62 MB",
        "9.8 MB",
        "48 MB",
        "0.4 MB",
    ]
    assert footprint.note(62_000_000, lambda: (9_800_000, 48_000_000)) == (
        "large notebook: 62 MB; each guest downloads about 9.8 MB (page, gzip) + 48 MB of images"
    )

    def server_gone() -> tuple[int, int]:
        raise RuntimeError("The share server is restarting")

    assert footprint.note(62_000_000, server_gone) == (
        "large notebook: 62 MB; each guest downloads most of it"
    )


def test_huge_share_notes_its_weight_and_stop_gives_memory_back(
    tmp_path: Path, cache: None, kernel: Kernel, huge: tuple[Path, int]
) -> None:
    path, images = huge
    imports, before = baseline(kernel, tmp_path)
    result = kernel.execute(share_command(path), timeout=300)
    assert result["error"] is None, result["error"]
    notes = [n for n in shared_notes(kernel) if n.startswith(footprint.NOTE_START)]
    assert len(notes) == 1, notes
    size = notebook_size(kernel)
    assert abs(size - path.stat().st_size) < 0.05 * size  # the page is about the file
    check_note(notes[0], size=size, gzipped=served_gzip_bytes(kernel), images=images)
    shown = json.dumps([o["data"] for o in result["outputs"]])
    assert footprint.NOTE_START in shown  # the magic shows it (the plain link's notes)
    during = kernel.rss_mb()
    after = stop_and_measure(kernel)
    report(imports, before, during, after)
    assert during > before + 2 * HUGE_MB  # the share did hold the notebook
    assert after <= before * MEMORY_SLACK, (before, during, after)


def test_a_live_update_that_makes_it_huge_warns_then_stop_gives_memory_back(
    tmp_path: Path, cache: None, kernel: Kernel, huge: tuple[Path, int]
) -> None:
    path, images = huge
    imports, before = baseline(kernel, tmp_path)
    grows = tmp_path / "grows.ipynb"
    shutil.copy(DEMO, grows)
    result = kernel.execute(share_command(grows), timeout=120)
    assert result["error"] is None, result["error"]
    assert not [n for n in shared_notes(kernel) if n.startswith(footprint.NOTE_START)]
    save_notebook(grows, json.loads(path.read_text()))  # as Jupyter saves: the live path
    notes = wait_for(
        lambda: [n for n in shared_notes(kernel) if n.startswith(footprint.NOTE_START)],
        timeout=240,
        what="the size note after the save",
        step=1.0,
    )
    size = notebook_size(kernel)
    assert abs(size - path.stat().st_size) < 0.05 * size  # the page is about the file
    check_note(notes[0], size=size, gzipped=served_gzip_bytes(kernel), images=images)
    during = kernel.rss_mb()
    after = stop_and_measure(kernel)
    report(imports, before, during, after)
    assert after <= before * MEMORY_SLACK, (before, during, after)
    # The page a live flush made was written to the disk cache at stop: an export still works.
    kept = query(
        kernel,
        "from jupyterspot_magic.content import render as R\n"
        "page = R.from_disk(s.rendered.content_hash)\n"
        "print(s.rendered.html == '' and page is not None and 'cell-id=c54' in page.html)",
    )
    assert kept.split()[-1] == "True"


def test_export_after_stop_reads_the_page_back(nb: Path, tmp_path: Path) -> None:
    """Stop keeps no page in memory; an export after it reads the page from the disk cache."""
    from jupyterspot_magic.session import registry

    share = registry.share(nb, tunnel="none", fresh=True)
    ids = share.rendered.cell_ids
    share.stop()
    assert share.rendered.html == "" and share.updater.content.snapshot is None
    out = share.export(tmp_path / "after-stop.html").read_text()
    assert all(f'id="cell-id={cid}"' in out for cid in ids)


# -- a stopped share takes nothing back; the size note is added once (no kernel needed) --


class FakeHost:
    """A running server whose `page_weight` answers once `answer` is set."""

    running = True
    port = 0

    def __init__(self) -> None:
        self.answer = threading.Event()

    def call(self, fn: Callable[..., Any], room: str, *args: Any) -> Any:
        assert fn is hosted.page_weight, fn
        assert self.answer.wait(30)
        return 1_000_000, 2_000_000


class FakeUpdater:
    def __init__(self) -> None:
        self.adopted: list[RenderedNotebook] = []
        self.content = LiveContent("huge")

    def adopt(self, rendered: RenderedNotebook) -> None:
        self.adopted.append(rendered)


def page(html: str, version: str = "v1") -> RenderedNotebook:
    return RenderedNotebook(html, version, [], "huge", [], 0.0, False)


def bare_share(status: str) -> tuple[Share, list[Any]]:
    """A Share without a server, tunnel or kernel: the state `refresh` and `_check_size` use."""
    share = Share.__new__(Share)
    emitted: list[Any] = []
    share.__dict__.update(
        status=status,
        rendered=page(""),
        located=Located(None, None, "colab", None),
        host=FakeHost(),
        room="r",
        events=SimpleNamespace(emit=emitted.append),
        updater=FakeUpdater(),
        notes=[],
        _server_cells=None,
        _on_disk=True,
        _size_note=None,
        _notes_lock=threading.Lock(),
        _weighing=0,
        _tell_size=True,
    )
    return share, emitted


def test_a_late_flush_after_stop_puts_nothing_back() -> None:
    """A save or live flush racing `stop()` (the flusher is waited for 5 s, the watcher 2 s)
    used to learn its cells again and keep its whole page in the stopped share."""
    share, _ = bare_share("stopped")
    share.refresh(page("x" * 10_000_000, "late"), streamed=True)
    assert share.rendered.html == "" and share._on_disk
    assert share.updater.adopted == []  # type: ignore[attr-defined]


def test_a_released_updater_learns_and_publishes_nothing() -> None:
    published: list[RenderedNotebook] = []
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    located = Located(None, notebook, "colab", None)
    updater = LiveUpdater(located, page("", "v0"), lambda r, **_: published.append(r), lambda: True)
    updater.release()
    seeding = updater._seeding
    updater.adopt(page("x" * 1000, "late"))
    assert updater._seeding is seeding  # no seed thread parsing the notebook again
    assert updater._push(page("x" * 1000, "late"), True) is False and published == []


def test_a_shrink_and_grow_while_weighed_adds_one_note(monkeypatch) -> None:
    """Weighing runs on a thread of its own (the start waits at most footprint.START_WAIT);
    a notebook that shrinks and grows again meanwhile gets one note, not two."""
    monkeypatch.setattr(footprint, "HUGE_BYTES", 100)
    share, emitted = bare_share("live")
    first = share._check_size(page("x" * 200))
    assert first is not None and first.is_alive()  # not blocked by the server's page
    assert share._check_size(page("x")) is None
    second = share._check_size(page("x" * 200))
    assert second is not None
    share.host.answer.set()  # type: ignore[attr-defined]
    first.join(30)
    second.join(30)
    notes = [n for n in share.notes if n.startswith(footprint.NOTE_START)]
    assert notes == [footprint.note(200, lambda: (1_000_000, 2_000_000))]
    assert [e.message for e in emitted] == notes
