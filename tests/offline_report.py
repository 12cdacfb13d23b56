"""The results table of tests/test_corpus_offline.py: `python -m tests.offline_report FILE`,
FILE being what JUPYTERSPOT_CORPUS_REPORT collected (one JSON line per page checked). Prints a
markdown table (drawn/expected per kind, off-origin requests, errors) and the details below it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KINDS = ("plotly", "bokeh", "vega", "widget")
DETAILS = (
    ("not_drawn", "not drawn"),
    ("off_origin", "off-origin (libraries: fail)"),
    ("content_off_origin", "off-origin content the notebook names (reported)"),
    ("drawn_without_data", "drawn, data unreachable offline"),
    ("failed_local", "own scripts/styles/fonts failed"),
    ("network_busy", "requests still in flight after the wait"),
    ("failed_local_content", "own other files failed (reported)"),
    ("page_errors", "uncaught page errors"),
)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ok(r: dict) -> bool:
    drawn = all(d == w for d, w in r["counts"].values())
    bad = r["off_origin"] or r["failed_local"] or r["page_errors"] or r.get("network_busy")
    return drawn and not bad


def cell(r: dict, kind: str) -> str:
    if kind not in r["counts"]:
        return ""
    d, w = r["counts"][kind]
    return f"{d}/{w}"


def table(results: list[dict]) -> str:
    head = ["notebook", "page", *KINDS, "off-origin libs", "content off-origin", "page errors"]
    lines = ["| " + " | ".join(head) + " | result |", "|" + "---|" * (len(head) + 1)]
    for r in results:
        name = r["notebook"].removesuffix(".ipynb")
        cols = [name, r["mode"], *(cell(r, k) for k in KINDS)]
        cols += [str(len(r["off_origin"])), str(len(r["content_off_origin"]))]
        cols += [str(len(r["page_errors"])), "pass" if ok(r) else "FAIL"]
        lines.append("| " + " | ".join(cols) + " |")
    return "\n".join(lines)


def details(results: list[dict]) -> str:
    out: list[str] = []
    for r in results:
        items = [(title, r.get(key) or []) for key, title in DETAILS]
        if not any(v for _, v in items):
            continue
        out.append(f"\n### {r['notebook']} ({r['mode']}, {r['seconds']} s)")
        for title, values in items:
            if values:
                out.append(f"- {title}:")
                out += [f"  - `{v}`" for v in values]
    return "\n".join(out)


def main() -> None:
    results = rows(Path(sys.argv[1]))
    print(table(results))
    print(details(results))


if __name__ == "__main__":
    main()
