"""Updates a stop could not store, kept in ``.yupdate`` files that the next share applies.

A file is named after the store and the document (a hash of both), then a timestamp, so the
files of one document sort oldest first. It goes beside the store first, to the temp dir when
that disk is the full one; it is written to a temporary name, synced, then renamed, so a file
that exists is whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path


def stamp() -> str:
    """A file-name timestamp that sorts in time order."""
    t = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int(t * 1000) % 1000:03d}"


def _pending_tag(db: Path, doc_path: str) -> str:
    digest = hashlib.sha256(f"{db}\n{doc_path}".encode()).hexdigest()[:16]
    return f"{db.name}.pending-{digest}-"


def _pending_dirs(db: Path) -> list[Path]:
    """Beside the store first; the temp dir when that disk is the full one."""
    return [db.parent, Path(tempfile.gettempdir())]


def pending_files(db: Path, doc_path: str) -> list[Path]:
    """Recoverable files a failed stop left for this document, oldest first."""
    tag = _pending_tag(db, doc_path)
    found: set[Path] = set()
    for d in _pending_dirs(db):
        with contextlib.suppress(OSError):
            found.update(d.glob(f"{tag}*.yupdate"))
    return sorted(found, key=lambda p: p.name)


def save_pending(db: Path, doc_path: str, update: bytes) -> Path:
    """Write updates that could not be stored to a file the next share applies (OSError: none)."""
    name = f"{_pending_tag(db, doc_path)}{stamp()}.yupdate"
    errors = []
    for d in _pending_dirs(db):
        path = d / name
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(update)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return path
        except OSError as e:
            errors.append(f"{d}: {e.strerror or e}")
            with contextlib.suppress(OSError):
                tmp.unlink()
    raise OSError("; ".join(errors))
