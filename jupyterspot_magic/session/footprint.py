"""A share's weight: the note a huge notebook gets, and the memory a stopped share gives back.

- A notebook of `HUGE_BYTES` or more (its file or its page) gets a note saying its size and
  what each guest downloads: the guest page gzip-compressed plus the images cut out of it
  (content/images.py; served at x/img). The numbers are the share server's own (session/hosted.py
  `page_weight`): the page it builds and compresses for its first visitor anyway, so nothing is
  compressed twice and the kernel's thread only waits.
- `give_back()`: after a stop has dropped its share's page, cells and live notebook, the memory
  goes back to the system. Two things hold it otherwise: nbconvert 7's HTMLExporter parses every
  page it renders with BeautifulSoup (its alt-text pass), a tree of reference cycles as big as
  the page that only a full collection frees; and glibc keeps freed heap pages (the page's cells
  and the notebook's outputs are chunks below its mmap threshold) until `malloc_trim`.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import logging
from collections.abc import Callable
from pathlib import Path

from ..content.render import RenderedNotebook

log = logging.getLogger(__name__)

# One threshold: a notebook (file or rendered page) this big gets the note. Decimal MB, as the
# note prints sizes: 50 MB is where a guest's download takes seconds on a good connection and a
# meeting's Wi-Fi starts to feel it (bench/memory_stop.py prints what such a share costs).
HUGE_BYTES = 50 * 10**6
NOTE_START = "large notebook:"
# s a share's start waits for its note (the server building and compressing the page, about a
# second for 55 MB): a page slower than that gets its note later, told as a message, and the
# kernel is not held for the server's own bound (session/hosted.py WEIGH_TIMEOUT, twice).
START_WAIT = 15.0


def size(rendered: RenderedNotebook, path: Path | None) -> int:
    """The notebook's size: its file or its page (characters), whichever is larger; cheap."""
    on_disk = 0
    if path is not None:
        with contextlib.suppress(OSError):
            on_disk = path.stat().st_size
    return max(on_disk, len(rendered.html))


def mb(n: int) -> str:
    """`62 MB`, `9.8 MB`, `0.4 MB`: two significant figures are what a person reads."""
    value = n / 1e6
    return f"{value:.0f} MB" if value >= 10 else f"{value:.1f} MB"


def note(total: int, weigh: Callable[[], tuple[int, int]]) -> str:
    """The note for a notebook of `total` bytes; `weigh()` is the server's (gzip, images)."""
    head = f"{NOTE_START} {mb(total)}"
    try:
        packed, images = weigh()
    except Exception as e:  # a server restarting, a page too slow to build: the size alone
        log.info("jupyterspot: the page was not weighed: %s", e)
        return f"{head}; each guest downloads most of it"
    return f"{head}; each guest downloads about {mb(packed)} (page, gzip) + {mb(images)} of images"


def give_back() -> None:
    """Return what a stopped share freed to the system (module docstring): one full collection,
    then glibc's heap trimmed (nothing where there is no glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; musl, macOS and Windows have none
    except (OSError, AttributeError, TypeError):
        return None
