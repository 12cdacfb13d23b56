"""Text the user reads: counts, one-line errors, and secrets kept out of what is served."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
ONE_LINE_LIMIT = 200  # characters: a note or an error line, never a traceback


def plural(n: int, word: str) -> str:
    """ "1 cell", "2 cells", "3 entries"."""
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}s"


def one_line(e: BaseException, *, kind: bool = False) -> str:
    """An exception as one short line (its first line; with `kind`, after its type's name)."""
    lines = str(e).strip().splitlines()
    first = lines[0] if lines else ("" if kind else type(e).__name__)
    line = f"{type(e).__name__}: {first}" if kind else first
    return line if len(line) <= ONE_LINE_LIMIT else line[: ONE_LINE_LIMIT - 3] + "..."


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced: tokens never reach a page or a file that
    was not meant to hold them (defense in depth: they should not be in it to begin with)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
