"""Getting cloudflared when it is not installed: one pinned release, checksum-verified, cached.

`auto` (and `--tunnel cloudflared`) should give a public link with no account and nothing to
install. So when no `cloudflared` is found, the release asset for this OS/arch is downloaded from
Cloudflare's GitHub release `CLOUDFLARED_VERSION` and checked against the SHA-256 pinned in
`ASSETS` (Cloudflare publishes them in the release notes) BEFORE it is made executable: a file
that does not match is deleted and never run. A macOS asset is a .tgz: the archive is checked,
then the `cloudflared` inside it against its own pinned digest. The verified program is kept in
the user cache dir (`$JUPYTERSPOT_CACHE_DIR/bin`, as content/render.py's cache, else
platformdirs' user cache dir) and checked again each time it is used.

Why not a package that does this: pycloudflared 0.3.0 and flask-cloudflared 0.0.15 (PyPI, read
for this) download "releases/latest" with no checksum and no timeout, into site-packages.

Bounded waits (the kernel waits on this): the server must answer within `CONNECT_TIMEOUT`
(DNS included: the download runs on its own thread), each read within `SOCKET_TIMEOUT`, the
whole download within `DOWNLOAD_DEADLINE`. `JUPYTERSPOT_CLOUDFLARED_RELEASES` replaces the
release base URL (a mirror; the tests' stand-in server): the checksums stay the pinned ones.

A download the caller gives up on (its deadline, Ctrl-C / the kernel's Interrupt) is cancelled:
its socket is shut, its thread ends and its part file is deleted. Several processes (two
kernels) may download at once: each writes its own part file and only deletes its own, or
one older than the whole deadline (a process that died mid-download). A download that could
not reach the server is remembered for `REMEMBER_FAILURE` s, so `auto` in an offline
kernel does not wait for it on every share (an explicit `--tunnel cloudflared` tries again).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import platform
import socket
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .base import Progress, TunnelError, quiet

CLOUDFLARED_VERSION = "2026.9.3"
RELEASES = "https://github.com/cloudflare/cloudflared/releases/download"
RELEASES_ENV = "JUPYTERSPOT_CLOUDFLARED_RELEASES"
CACHE_ENV = "JUPYTERSPOT_CACHE_DIR"  # the same variable as content/render.py's cache
INSTALL_PAGE = (
    "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/"
)

#: Seconds for the release server to answer (DNS, connect, headers): offline, the share fails
#: within this (plus the render: under 5 s in all).
CONNECT_TIMEOUT = 4.0
#: Seconds one read may stall.
SOCKET_TIMEOUT = 5.0
#: Seconds for the whole download (~40 MB).
DOWNLOAD_DEADLINE = 180.0
#: A release asset is ~20-60 MB; anything far larger is not it.
MAX_BYTES = 200_000_000
CHUNK = 256 * 1024
#: Seconds a download that could not reach its server is not tried again by `auto`.
REMEMBER_FAILURE = 600.0


@dataclass(frozen=True)
class Asset:
    """One file of the pinned release: its name, its SHA-256, and for a .tgz the SHA-256 of the
    `cloudflared` program inside (the digest the release notes give for macOS)."""

    name: str
    sha256: str
    program_sha256: str | None = None

    @property
    def archive(self) -> bool:
        return self.name.endswith(".tgz")


#: cloudflared 2026.9.3, https://github.com/cloudflare/cloudflared/releases/tag/2026.9.3
#: (plain binaries: the release notes' digests; .tgz: the asset's digest, then the program's).
ASSETS: dict[tuple[str, str], Asset] = {
    ("linux", "amd64"): Asset(
        "cloudflared-linux-amd64",
        "77e26d8d900e0b8469f416239d14b5f296525fdf79fee6f511ef55609e3fbac2",
    ),
    ("linux", "arm64"): Asset(
        "cloudflared-linux-arm64",
        "aaeb2d7d0da3614634c7e03ab13487a1522c2e79165ed2929cfe23d5e95b326d",
    ),
    ("darwin", "amd64"): Asset(
        "cloudflared-darwin-amd64.tgz",
        "d1155d0837487f261183b15c1eab6c4ebcad9dc49b94675f1524c3564cea3977",
        "ab588b3b4db9cdb4476c30a3db2a72635b1d8327d44741fee6799a0f37b0ec07",
    ),
    ("darwin", "arm64"): Asset(
        "cloudflared-darwin-arm64.tgz",
        "587c2cfb1c230fe36c7fa7727da78be459dae028cabe8c001291999350f07095",
        "5472c1a01c84bc31b3021056a73b4e5774ddddefc572124ea8fdf6c340639f32",
    ),
    ("windows", "amd64"): Asset(
        "cloudflared-windows-amd64.exe",
        "f096265ec2fcbe9bb6e2d64268db167ced3fcbb83d894bdb9e2fcdb26f2ea7e2",
    ),
}

_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "x64": "amd64", "aarch64": "arm64"}


def this_platform() -> tuple[str, str]:
    """(os, arch) as the release names them: ("linux", "amd64"), ("darwin", "arm64")…"""
    machine = platform.machine().lower()
    if sys.platform.startswith("win"):
        os_name = "windows"
    elif sys.platform.startswith("linux"):
        os_name = "linux"
    else:
        os_name = sys.platform  # "darwin", "freebsd14"… (no pinned build for the latter)
    return os_name, _MACHINES.get(machine, machine)


def asset() -> Asset | None:
    """The pinned asset for this machine, or None (no build for it: install cloudflared)."""
    return ASSETS.get(this_platform())


def release_url(item: Asset) -> str:
    base = os.environ.get(RELEASES_ENV, "").strip() or RELEASES
    return f"{base.rstrip('/')}/{CLOUDFLARED_VERSION}/{item.name}"


def cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("jupyterspot-magic")
    return Path(base) / "bin" / f"cloudflared-{CLOUDFLARED_VERSION}"


def program_path() -> Path:
    return cache_dir() / ("cloudflared.exe" if sys.platform.startswith("win") else "cloudflared")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _program_digest(item: Asset) -> str:
    return item.program_sha256 or item.sha256


def cached() -> str | None:
    """The downloaded cloudflared, when it is there and still matches its pinned digest."""
    item, path = asset(), program_path()
    if item is None or not path.is_file():
        return None
    try:
        return str(path) if sha256_of(path) == _program_digest(item) else None
    except OSError:
        return None


def downloadable() -> bool:
    return asset() is not None


def no_build_message() -> str:
    os_name, arch = this_platform()
    return (
        f"No cloudflared build is pinned for {os_name}-{arch}, and none is installed: install "
        f"cloudflared ({INSTALL_PAGE}) or set JUPYTERSPOT_CLOUDFLARED to it, or use --tunnel ngrok."
    )


_unreachable_since: tuple[float, str] | None = None  # (monotonic time, the message)


def ensure_cloudflared(progress: Progress = quiet, retry: bool = True) -> str:
    """The path of a verified cloudflared: the cached copy, else downloaded now (TunnelError:
    one line saying why not and what to do). `retry=False` (auto): a download that found no
    server within the last REMEMBER_FAILURE s is not tried again."""
    global _unreachable_since
    found = cached()
    if found:
        return found
    item = asset()
    if item is None:
        raise TunnelError(no_build_message())
    if not retry and _unreachable_since is not None:
        at, message = _unreachable_since
        if time.monotonic() - at < REMEMBER_FAILURE:
            minutes = max(1, round((REMEMBER_FAILURE - (time.monotonic() - at)) / 60))
            raise TunnelError(
                f"{message} (Not tried again for {minutes} min in this kernel; "
                "--tunnel cloudflared tries now.)"
            )
    try:
        return _download(item, progress)
    except _Unreachable as e:
        _unreachable_since = (time.monotonic(), str(e))
        raise
    except TunnelError:
        raise
    except Exception as e:  # anything else: still one line, and auto falls back on it
        raise TunnelError(
            f"cloudflared could not be downloaded ({type(e).__name__}: {e}). Install it "
            f"({INSTALL_PAGE}) or set JUPYTERSPOT_CLOUDFLARED to it, or use --tunnel ngrok."
        ) from None


class _Unreachable(TunnelError):
    """The release server could not be reached (offline, blocked)."""


def _download(item: Asset, progress: Progress) -> str:
    global _unreachable_since
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TunnelError(f"cloudflared cannot be cached in {folder}: {e}") from None
    _sweep_stale(folder)
    url = release_url(item)
    fetched = _fetch(url, folder, progress)
    mine = [fetched]
    try:
        _check(fetched, item.sha256, url)
        program = _unpack(fetched, folder, item, url) if item.archive else fetched
        mine.append(program)
        program.chmod(0o755)  # only now: a file that did not match was never executable
        os.replace(program, program_path())  # atomic: a concurrent download's copy is the same
    finally:
        for leftover in mine:
            with contextlib.suppress(OSError):
                leftover.unlink()
    _unreachable_since = None
    return str(program_path())


def _sweep_stale(folder: Path) -> None:
    """Delete part files older than a whole download may take: left by a process that died
    mid-download. A younger one may be another process's download in progress."""
    now = time.time()
    for part in folder.glob(".part-*"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > DOWNLOAD_DEADLINE + 60:
                part.unlink()


def _check(path: Path, expected: str, url: str) -> None:
    got = sha256_of(path)
    if got != expected:
        with contextlib.suppress(OSError):
            path.unlink()
        raise TunnelError(
            f"The cloudflared download from {url} does not match its pinned SHA-256 (got "
            f"{got[:12]}…, expected {expected[:12]}…): it was deleted and not run. A proxy or "
            f"mirror may have changed it; install cloudflared yourself ({INSTALL_PAGE}) or set "
            "JUPYTERSPOT_CLOUDFLARED to it."
        )


def _unpack(archive: Path, folder: Path, item: Asset, url: str) -> Path:
    """The `cloudflared` program out of a checked .tgz, checked against its own digest."""
    fd, name = tempfile.mkstemp(prefix=f".part-{os.getpid()}-", suffix="-program", dir=folder)
    os.close(fd)
    out = Path(name)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next(
                (m for m in tar if m.isfile() and Path(m.name).name == "cloudflared"), None
            )
            source = tar.extractfile(member) if member and member.size < MAX_BYTES else None
            if source is None:
                raise TunnelError(f"The cloudflared archive from {url} holds no cloudflared.")
            with source, out.open("wb") as f:
                while chunk := source.read(CHUNK):
                    f.write(chunk)
    except (tarfile.TarError, OSError, EOFError) as e:
        with contextlib.suppress(OSError):
            out.unlink()
        raise TunnelError(f"The cloudflared archive from {url} could not be read: {e}") from None
    finally:
        with contextlib.suppress(OSError):
            archive.unlink()
    _check(out, _program_digest(item), url)
    return out


class _CutOff(Exception):
    """The server ended the download before its Content-Length."""


class _TooLarge(Exception):
    """The server sent more than MAX_BYTES: not a release asset."""


class _DiskError(Exception):
    """Writing the part file failed (disk full, quota, permissions)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class _Download(threading.Thread):
    """One download into `part`, on its own thread: a DNS lookup that hangs cannot hold the
    caller past CONNECT_TIMEOUT. `cancel()` shuts its socket (a read that trickles ends now,
    not after a 256 KB chunk), and the thread deletes the file as it ends."""

    def __init__(self, url: str, part: Path) -> None:
        super().__init__(name="jupyterspot-download", daemon=True)
        self.url, self.part = url, part
        self.answered = threading.Event()
        self.total: int | None = None
        self.received = 0
        self.error: BaseException | None = None
        self.cancelled = False
        self._sock: socket.socket | None = None

    def cancel(self) -> None:
        self.cancelled = True
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.part.unlink()

    def run(self) -> None:
        request = urllib.request.Request(self.url, headers={"User-Agent": "jupyterspot-magic"})
        try:
            with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT) as response:
                self._sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
                self.total = int(response.headers.get("Content-Length") or 0) or None
                self.answered.set()
                if not self.cancelled:
                    self._receive(response)
        except BaseException as e:
            self.error = e
        finally:
            self.answered.set()
            if self.error is not None or self.cancelled:
                with contextlib.suppress(OSError):
                    self.part.unlink()

    def _receive(self, response) -> None:  # noqa: ANN001 - http.client.HTTPResponse
        with self.part.open("wb") as f:
            while not self.cancelled:
                try:
                    chunk = response.read1(CHUNK)  # what has come: a cancel is seen at once
                except OSError:
                    if self.received:
                        break  # the connection dropped mid-way: said as cut off below
                    raise
                if not chunk:
                    break
                self.received += len(chunk)
                if self.received > MAX_BYTES:
                    raise _TooLarge(f"more than {MAX_BYTES // 1_000_000} MB")
                self._write(f, chunk)
        if not self.cancelled and self.total and self.received < self.total:
            raise _CutOff(f"{self.received * 100 // self.total}%")

    @staticmethod
    def _write(f, chunk: bytes) -> None:  # noqa: ANN001 - a binary file
        try:
            f.write(chunk)
        except OSError as e:
            raise _DiskError(e) from None


def _fetch(url: str, folder: Path, progress: Progress) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".part-{os.getpid()}-", dir=folder)
    os.close(fd)
    job = _Download(url, Path(name))
    try:
        return _follow(job, url, folder, progress)
    except BaseException:  # our deadline, an error, or Ctrl-C / the kernel's Interrupt
        job.cancel()
        raise


def _follow(job: _Download, url: str, folder: Path, progress: Progress) -> Path:
    where = urlsplit(url).netloc or url
    t0 = time.monotonic()
    progress(f"downloading cloudflared {CLOUDFLARED_VERSION}…")
    job.start()
    if not job.answered.wait(CONNECT_TIMEOUT):
        raise _Unreachable(_unreachable(where, f"no answer within {CONNECT_TIMEOUT:.0f} s"))
    shown = -1
    while True:
        job.join(0.25)
        if job.total and job.error is None:
            step = min(100, job.received * 100 // job.total) // 10 * 10
            if step != shown:
                shown = step
                size = max(1, round(job.total / 1_000_000))
                progress(f"downloading cloudflared {CLOUDFLARED_VERSION} ({size} MB)… {step}%")
        if not job.is_alive():
            break
        if time.monotonic() - t0 > DOWNLOAD_DEADLINE:
            raise TunnelError(
                f"Downloading cloudflared from {where} did not finish within "
                f"{DOWNLOAD_DEADLINE:.0f} s (a slow or stalled connection). Install it yourself "
                f"({INSTALL_PAGE}) or use --tunnel ngrok."
            )
    if job.error is not None:
        raise _failed(where, folder, job) from None
    return job.part


def _failed(where: str, folder: Path, job: _Download) -> TunnelError:
    """The real cause of a failed download, as a TunnelError (only "unreachable" is offline)."""
    error = job.error
    yourself = f"Install cloudflared yourself ({INSTALL_PAGE}) or set JUPYTERSPOT_CLOUDFLARED."
    if isinstance(error, _CutOff):
        got, total = job.received / 1e6, (job.total or 0) / 1e6
        return TunnelError(
            f"The cloudflared download from {where} was cut off at {error} ({got:.1f} of "
            f"{total:.1f} MB): the connection dropped. Share again to retry. {yourself}"
        )
    if isinstance(error, _TooLarge):
        return TunnelError(
            f"The cloudflared download from {where} sent {error}: not the cloudflared release "
            f"(a captive portal or a wrong mirror?); it was deleted and not run. {yourself}"
        )
    if isinstance(error, _DiskError):
        full = error.error.errno in (errno.ENOSPC, errno.EDQUOT)
        why = "the disk is full" if full else str(error)
        return TunnelError(
            f"cloudflared could not be saved in {folder}: {why}. Free some space or point "
            f"JUPYTERSPOT_CACHE_DIR at another disk. {yourself}"
        )
    if isinstance(error, urllib.error.HTTPError):
        return _Unreachable(_unreachable(where, f"HTTP {error.code} for {error.url}"))
    reason = getattr(error, "reason", None) or error
    return _Unreachable(_unreachable(where, str(reason) or type(error).__name__))


def _unreachable(where: str, why: str) -> str:
    return (
        f"cloudflared is not installed and could not be downloaded from {where} ({why}): offline, "
        f"or a firewall/proxy blocks it. Install cloudflared ({INSTALL_PAGE}) or set "
        "JUPYTERSPOT_CLOUDFLARED to it, or get a free ngrok token and run "
        "`%jupyterspot token ngrok` (CLI: `jupyterspot token ngrok`), or use --tunnel none."
    )
