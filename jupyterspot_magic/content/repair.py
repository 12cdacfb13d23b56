"""Repair what real front-ends write before nbconvert sees it, and say what was repaired.

nbconvert validates every notebook against nbformat's schema and reads the saved widget state
in the one layout ipywidgets writes; real files differ (issue 13's corpus):

- Colab saves ``metadata.widgets["application/vnd.jupyter.widget-state+json"]`` as the model
  map itself, without the ``{"state": …, "version_major": 2, "version_minor": 0}`` wrapper
  (nbconvert: ``KeyError: 'state'``). :func:`repair` wraps it; :func:`widget_models` reads
  either layout.
- v3 leftovers in v4 files (``heading`` cells, ``prompt_number``, ``pyout`` outputs), fields
  missing, of the wrong type, or not allowed by the schema. :func:`repair` validates with the
  schema and fixes what it reports, rule by rule, until it validates (a bounded number of
  passes): every fix is a note in the user's words, grouped and counted
  ("repaired: 3 outputs with no stream name, now stdout (cells 4, 7, 9)").

What no rule can repair raises :class:`Unrepairable`, whose text names the cell and field as a
user counts them ("cell 3's source is an object, not text"). Callers (content/render.py) run
:func:`before_reading` on a v4 dict before nbformat's reader (which trips on the same types),
then :func:`repair` on the nbformat 4.5 notebook.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.text import plural

__all__ = [
    "MAX_ERRORS",
    "MAX_PASSES",
    "MAX_TAGS",
    "Repairs",
    "Unrepairable",
    "WIDGET_STATE_MIME",
    "WIDGET_VIEW_MIME",
    "before_reading",
    "repair",
    "widget_models",
]

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
MAX_PASSES = 5  # a fix can uncover another (a heading cell's leftovers): a few passes, bounded
# jsonschema pays ~2 ms an error (more on a hostile list): past this many in one pass, the
# notebook is refused in a line rather than repaired for minutes
MAX_ERRORS = 10_000
REPAIR_SECONDS = 20.0  # and past this much time spent in the schema passes
MAX_TAGS = 256  # a cell's tags kept (jsonschema's uniqueItems is quadratic on a long list)
_OWN_TAG_PREFIX = "jupyterspot"  # content/render.py's private tag: kept beyond MAX_TAGS
NOT_SAVED_TEXT = "[widget: its state was not saved with the notebook]"
_MAX_CELLS_LISTED = 8
_CELL_BRANCH = {"raw": 0, "markdown": 1, "code": 2}  # the schema's oneOf order
_OUTPUT_BRANCH = {"execute_result": 0, "display_data": 1, "stream": 2, "error": 3}
_TEXT_CELLS = {"heading", "html"}  # v3 cell types nbformat's own conversion makes markdown

# kind -> (note for one fix in one cell, note for several); {n} count, {names} what was dropped
_NOTES: dict[str, tuple[str, str]] = {
    "heading": (
        "cell {cell} was a v3 heading cell (now markdown)",
        "{n} v3 heading cells (now markdown)",
    ),
    "html_cell": (
        "cell {cell} was a v3 html cell (now markdown)",
        "{n} v3 html cells (now markdown)",
    ),
    "unknown_cell": (
        "cell {cell} had an unknown cell type {names} (now a raw cell)",
        "{n} cells of unknown types {names} (now raw cells)",
    ),
    "no_source": ("cell {cell} had no source (now empty)", "{n} cells with no source (now empty)"),
    "no_metadata": (
        "cell {cell} had no metadata (now empty)",
        "{n} cells with no metadata (now empty)",
    ),
    "no_outputs": (
        "cell {cell} had no outputs list (now empty)",
        "{n} code cells with no outputs list (now empty)",
    ),
    "no_count": ("cell {cell} had no execution count", "{n} code cells with no execution count"),
    "source_type": (
        "cell {cell}'s source was not text (joined as text)",
        "{n} cells whose source was not text (joined as text)",
    ),
    "count_type": (
        "cell {cell}'s execution count was not a number",
        "{n} cells whose execution count was not a number",
    ),
    "metadata_type": (
        "cell {cell}'s metadata was not an object (now empty)",
        "{n} cells whose metadata was not an object (now empty)",
    ),
    "outputs_type": (
        "cell {cell}'s outputs were not a list (left out)",
        "{n} cells whose outputs were not a list (left out)",
    ),
    "cell_meta": (
        "cell {cell} had invalid metadata {names} (left out)",
        "{n} invalid cell metadata entries {names} (left out)",
    ),
    "tags_capped": (
        f"cell {{cell}} had more than {MAX_TAGS} tags (the rest left out)",
        f"{{n}} cells with more than {MAX_TAGS} tags (the rest left out)",
    ),
    "attachments": (
        "cell {cell} had invalid attachments (left out)",
        "{n} invalid cell attachments (left out)",
    ),
    "v3_fields": (
        "cell {cell} had v3 fields {names} (converted)",
        "{n} cells with v3 fields {names} (converted)",
    ),
    "extra_fields": (
        "cell {cell} had fields the format does not allow {names} (left out)",
        "{n} cells with fields the format does not allow {names} (left out)",
    ),
    "text_cell_outputs": (
        "cell {cell} is not a code cell but had outputs or a count (left out)",
        "{n} markdown or raw cells with outputs or a count (left out)",
    ),
    "output_dropped": (
        "cell {cell} had an output with no known output_type {names} (left out)",
        "{n} outputs with no known output_type {names} (left out)",
    ),
    "v3_output": ("cell {cell} had a v3 output (converted)", "{n} v3 outputs (converted)"),
    "stream_name": (
        "cell {cell} had an output with no stream name (now stdout)",
        "{n} outputs with no stream name (now stdout)",
    ),
    "output_field": (
        "cell {cell} had an output missing {names} (now empty)",
        "{n} outputs missing {names} (now empty)",
    ),
    "output_type_fix": (
        "cell {cell} had an output field {names} of the wrong type (converted)",
        "{n} output fields {names} of the wrong type (converted)",
    ),
    "output_extra": (
        "cell {cell} had an output with fields the format does not allow {names} (left out)",
        "{n} outputs with fields the format does not allow {names} (left out)",
    ),
    "output_data": (
        "cell {cell} had output data that was not text {names} (left out)",
        "{n} output data entries that were not text {names} (left out)",
    ),
    "notebook_meta": (
        "the notebook's metadata {names} was not valid (left out)",
        "{n} invalid notebook metadata entries {names} (left out)",
    ),
    "notebook_field": (
        "the notebook's {names} was not valid (reset)",
        "{n} notebook fields {names} were not valid (reset)",
    ),
    "colab_widgets": (
        "the saved widget state was in Colab's layout (1 widget; now in the standard layout)",
        "the saved widget state was in Colab's layout ({n} widgets; now in the standard layout)",
    ),
    "widget_version": (
        "the saved widget state had no format version (now 2.0)",
        "the saved widget state had no format version (now 2.0)",
    ),
    "widgets_dropped": (
        "the widget metadata held no readable widget state {names} (left out)",
        "the widget metadata held no readable widget state {names} (left out)",
    ),
    "widget_view": (
        "cell {cell} had a widget output with no widget reference (left out)",
        "{n} widget outputs with no widget reference (left out)",
    ),
    "widget_not_saved": (
        "cell {cell} had a widget whose state was not saved (shown as a note)",
        "{n} widgets whose state was not saved (shown as a note)",
    ),
}


class Unrepairable(ValueError):
    """The notebook breaks the schema in a way no rule repairs; ``str(e)`` says where, in the
    user's words (one line)."""


@dataclass
class _Kind:
    count: int = 0
    cells: set[int] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


class Repairs:
    """What was repaired, by kind; :meth:`notes` are the user's lines."""

    def __init__(self) -> None:
        self.kinds: dict[str, _Kind] = {}
        self._outputs: dict[int, list[int]] = {}  # cell -> file position of each output left
        self.errors_seen = 0  # schema errors handled, against MAX_ERRORS (the pass's bound)
        self.deadline = float("inf")  # time.monotonic() past which the passes give up

    def spend(self, errors: int, where: str) -> None:
        """Count schema errors handled; past the bounds, refuse in one line."""
        self.errors_seen += errors
        if self.errors_seen > MAX_ERRORS:
            raise Unrepairable(
                f"too many problems to repair: more than {MAX_ERRORS} schema errors (at {where})"
            )
        if time.monotonic() > self.deadline:
            raise Unrepairable(
                f"too many problems to repair: still repairing after {REPAIR_SECONDS:.0f} s "
                f"(at {where})"
            )

    def drop_outputs(self, cell: int, outputs: list, dropped: set[int]) -> list:
        """`outputs` without the positions `dropped`; what is left keeps its file number."""
        where = self._outputs.get(cell) or list(range(len(outputs)))
        self._outputs[cell] = [n for j, n in enumerate(where) if j not in dropped]
        return [o for j, o in enumerate(outputs) if j not in dropped]

    def output_number(self, cell: int, j: int) -> int:
        """The 1-based number, as in the file, of a cell's output now at position `j`."""
        where = self._outputs.get(cell)
        return (where[j] if where and j < len(where) else j) + 1

    def add(self, kind: str, cell: int | None = None, names: tuple[str, ...] = (), n: int = 1):
        k = self.kinds.setdefault(kind, _Kind())
        k.count += n
        if cell is not None:
            k.cells.add(cell)
        k.names.update(str(x)[:40] for x in names)

    def __len__(self) -> int:
        return sum(k.count for k in self.kinds.values())

    def notes(self) -> list[str]:
        """One line per kind: "repaired: cell 12 was a v3 heading cell (now markdown)"."""
        return [f"repaired: {self._note(kind, k)}" for kind, k in self.kinds.items()]

    @staticmethod
    def _note(kind: str, k: _Kind) -> str:
        one, many = _NOTES[kind]
        names = "(" + ", ".join(sorted(k.names)[:6]) + ")" if k.names else ""
        if k.count == 1 and len(k.cells) <= 1:
            cell = min(k.cells) + 1 if k.cells else "?"
            return " ".join(one.format(cell=cell, names=names).split())
        text = " ".join(many.format(n=k.count, names=names).split())
        if not k.cells:
            return text
        cells = sorted(c + 1 for c in k.cells)
        listed = ", ".join(map(str, cells[:_MAX_CELLS_LISTED]))
        if len(cells) > _MAX_CELLS_LISTED:
            listed += f" and {len(cells) - _MAX_CELLS_LISTED} more"
        return f"{text} ({'cell' if len(cells) == 1 else 'cells'} {listed})"


# ---------------------------------------------------------------- widget state


def widget_models(metadata: Any) -> dict | None:
    """The saved widget models of a notebook's metadata, wrapped (ipywidgets) or not (Colab)."""
    widgets = metadata.get("widgets") if isinstance(metadata, dict) else None
    bundle = widgets.get(WIDGET_STATE_MIME) if isinstance(widgets, dict) else None
    if not isinstance(bundle, dict):
        return None
    if _is_colab(bundle):
        return bundle
    state = bundle.get("state")
    return state if isinstance(state, dict) else None


def _is_model_map(bundle: dict) -> bool:
    """Colab's layout: model id -> {model_name, model_module, state…}, nothing else."""
    return all(isinstance(m, dict) and ("model_name" in m or "state" in m) for m in bundle.values())


def _is_colab(bundle: dict) -> bool:
    """The model map itself; a model may be called "state": then it is a model, not a map."""
    if "version_major" in bundle or not _is_model_map(bundle):
        return False
    state = bundle.get("state")
    return state is None or isinstance(state.get("model_name"), str)


def _repair_widget_state(meta: dict, fixes: Repairs) -> dict | None:
    """Give nbconvert (and the html-manager) the layout they read; the models, or None."""
    if "widgets" not in meta:
        return None
    widgets = meta["widgets"]
    bundle = widgets.get(WIDGET_STATE_MIME) if isinstance(widgets, dict) else None
    if isinstance(bundle, dict) and _is_colab(bundle):
        widgets[WIDGET_STATE_MIME] = {"version_major": 2, "version_minor": 0, "state": bundle}
        fixes.add("colab_widgets", n=len(bundle))
        return bundle
    if isinstance(bundle, dict) and isinstance(bundle.get("state"), dict):
        major, minor = bundle.get("version_major"), bundle.get("version_minor")
        if not isinstance(major, int) or not isinstance(minor, int):  # the manager refuses it
            major, minor = 2, 0
            fixes.add("widget_version")
        # exactly these keys: nbconvert's lab template writes the whole bundle into the page,
        # and a stray key (a model of ours, holding the host's link) would go with it
        widgets[WIDGET_STATE_MIME] = {
            "version_major": major,
            "version_minor": minor,
            "state": bundle["state"],
        }
        return bundle["state"]
    # nbconvert indexes widgets[mime]["state"] whenever "widgets" exists: all of it goes
    names = tuple(widgets)[:3] if isinstance(widgets, dict) else (type(widgets).__name__,)
    del meta["widgets"]
    fixes.add("widgets_dropped", names=names)
    return None


def _repair_widget_views(cells: list, models: dict | None, fixes: Repairs) -> None:
    for i, cell in enumerate(cells):
        for output in cell.get("outputs") or ():
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict) or WIDGET_VIEW_MIME not in data:
                continue
            view = data[WIDGET_VIEW_MIME]
            if not isinstance(view, dict) or not isinstance(view.get("model_id"), str):
                del data[WIDGET_VIEW_MIME]  # nbconvert indexes ["model_id"]
                fixes.add("widget_view", i)
            elif view["model_id"] in (models or {}) or len(data) > 1:
                continue  # drawn, or nbconvert shows the other form
            else:  # nbconvert would skip the view and show an empty box
                fixes.add("widget_not_saved", i)
            data.setdefault("text/plain", NOT_SAVED_TEXT)  # say what was there


# ---------------------------------------------------------------- before nbformat's reader


def before_reading(nb: dict, fixes: Repairs) -> None:
    """Fix, in a v4 notebook's own copy, the types nbformat's reader and upgrade trip on
    (rejoin_lines, strip_transient): metadata objects, text lists, outputs lists of objects."""
    if not isinstance(nb.get("metadata", {}), dict):
        nb["metadata"] = {}
        fixes.add("notebook_field", names=("metadata",))
    minor = nb.get("nbformat_minor")
    if "nbformat_minor" in nb and (not isinstance(minor, int) or isinstance(minor, bool)):
        text = str(minor).strip() if isinstance(minor, (str, float)) else ""
        nb["nbformat_minor"] = int(float(text)) if text.replace(".", "", 1).isdigit() else 0
        fixes.add("notebook_field", names=("nbformat_minor",))
    for i, cell in enumerate(nb["cells"]):
        _cell_basics(cell, i, fixes)


def _cell_basics(cell: dict, i: int, fixes: Repairs) -> None:
    if "metadata" not in cell:
        cell["metadata"] = {}
        fixes.add("no_metadata", i)
    elif not isinstance(cell["metadata"], dict):
        cell["metadata"] = {}
        fixes.add("metadata_type", i)
    _clean_tags(cell["metadata"], i, fixes)
    _coerce_text(cell, "source", i, fixes, "source_type")
    attachments = cell.get("attachments", {})
    if not isinstance(attachments, dict) or not all(
        isinstance(b, dict) for b in attachments.values()
    ):
        del cell["attachments"]  # rejoin_lines walks each bundle's items
        fixes.add("attachments", i)
    if cell.get("cell_type") == "code":
        _outputs_basics(cell, i, fixes)


def _outputs_basics(cell: dict, i: int, fixes: Repairs) -> None:
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        cell["outputs"] = outputs = []
        fixes.add("outputs_type", i)
    bad = {j for j, o in enumerate(outputs) if _odd_output(o)}
    if bad:
        names = {_json_type(_kind_of(outputs[j])) for j in bad}
        fixes.add("output_dropped", i, tuple(_a(n) for n in names), len(bad))
        cell["outputs"] = fixes.drop_outputs(i, outputs, bad)
    kept = cell["outputs"]
    for output in kept:
        _coerce_text(output, "text", i, fixes, "output_type_fix")
        if not isinstance(output.get("data", {}), dict):
            output["data"] = {}
            fixes.add("output_type_fix", i, ("data",))


def _odd_output(output: Any) -> bool:
    """Not an object, or an output_type that is neither text nor missing: nbformat's reader
    hashes output_type (a list raises "unhashable type")."""
    if not isinstance(output, dict):
        return True
    kind = output.get("output_type")
    return kind is not None and not isinstance(kind, str)


def _kind_of(output: Any) -> Any:
    return output.get("output_type") if isinstance(output, dict) else output


def _clean_tags(meta: dict, i: int, fixes: Repairs) -> None:
    """Only non-empty text tags, each once, at most MAX_TAGS, before any schema check:
    jsonschema's uniqueItems takes quadratic time on a long list mixing numbers and text.
    The private tag (content/render.py) survives whatever else goes."""
    tags = meta.get("tags")
    if not isinstance(tags, list):
        return  # the schema pass leaves it out
    kept = list(dict.fromkeys(t for t in tags if isinstance(t, str) and t and "," not in t))
    if len(kept) != len(tags):
        fixes.add("cell_meta", i, ("tags",))
    if len(kept) > MAX_TAGS:
        own = [t for t in kept[MAX_TAGS:] if t.startswith(_OWN_TAG_PREFIX)]
        kept = kept[:MAX_TAGS] + own
        fixes.add("tags_capped", i)
    if len(kept) != len(tags):
        meta["tags"] = kept


# what the schema requires of each output, and what is missing becomes (v3 streams, with
# "stream" in place of "name", are converted instead: _drop_extras)
_OUTPUT_REQUIRED: dict[str, tuple[str, ...]] = {
    "stream": ("name", "text"),
    "display_data": ("data", "metadata"),
    "execute_result": ("data", "metadata", "execution_count"),
    "error": ("ename", "evalue", "traceback"),
}


def _output_defaults(output: dict, i: int, fixes: Repairs) -> None:
    """The common missing fields, without jsonschema: its oneOf costs ~2.4 ms an output."""
    missing = [f for f in _OUTPUT_REQUIRED.get(output.get("output_type"), ()) if f not in output]
    if missing:
        _fill_output(output, missing, i, fixes)


def _fill_output(output: dict, missing: list, i: int, fixes: Repairs) -> None:
    """Give an output the fields it lacks their defaults, and say so."""
    for name in missing:
        output[name] = "stdout" if name == "name" else _OUTPUT_DEFAULTS[name]()
    if "name" in missing:
        fixes.add("stream_name", i)
    if others := [f for f in missing if f != "name"]:
        fixes.add("output_field", i, tuple(others))


def _coerce_text(obj: dict, key: str, i: int, fixes: Repairs, kind: str) -> None:
    """A list of non-strings or a number as text (what a user would read); an object stays
    (no faithful text form: the schema pass reports it)."""
    value = obj.get(key)
    if isinstance(value, list) and not all(isinstance(x, str) for x in value):
        obj[key] = "".join(_as_text(x) for x in value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        obj[key] = str(value)
    else:
        return
    fixes.add(kind, i, () if kind == "source_type" else (key,))


def _joined(value: Any) -> str:
    """Text, or a list of lines (v3's input, a source list) joined as nbformat joins them."""
    if isinstance(value, list):
        return "".join(map(_as_text, value))
    return value if isinstance(value, str) else _as_text(value)


def _as_text(x: Any) -> str:
    if isinstance(x, str):
        return x
    try:
        return json.dumps(x, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return str(type(x).__name__)


# ---------------------------------------------------------------- the schema passes


def _whole() -> Any:
    """nbformat's own (cached, fastjsonschema when installed) strict 4.5 validator."""
    from nbformat.validator import get_validator

    return get_validator(4, 5)


@dataclass(frozen=True)
class _Schema:
    top: Any  # jsonschema validator of the notebook without its cells
    cells: dict[str, Any]  # cell_type -> jsonschema validator of that kind of cell
    cell_ok: dict[str, Callable[[Any], Any]]  # cell_type -> fastjsonschema check of one cell
    fields: dict[str, frozenset[str]]  # cell_type / output_type -> the fields it may have


@functools.cache
def _schema() -> _Schema:
    """Errors with paths, cell by cell, each against its own kind's schema: jsonschema takes
    ~20x fastjsonschema's time on a whole notebook (and a oneOf of kinds 3x one kind); only
    the cells that fail the fast check pay it."""
    import fastjsonschema  # nbformat's dependencies, as jsonschema
    import jsonschema
    import nbformat.v4

    path = Path(nbformat.v4.__file__).with_name(nbformat.v4.nbformat_schema[(4, 5)])
    schema = json.loads(path.read_text("utf-8"))
    defs = schema["definitions"]
    top = copy.deepcopy(schema)
    top["properties"]["cells"]["items"] = {"type": "object"}
    kinds = {k: {"$ref": f"#/definitions/{k}_cell", "definitions": defs} for k in _CELL_BRANCH}
    cells = {k: jsonschema.Draft4Validator(kind) for k, kind in kinds.items()}
    cell_ok = {k: fastjsonschema.compile(kind) for k, kind in kinds.items()}
    fields = {k: frozenset(defs[f"{k}_cell"]["properties"]) for k in _CELL_BRANCH}
    fields.update({k: frozenset(defs[k]["properties"]) for k in _OUTPUT_BRANCH})
    return _Schema(jsonschema.Draft4Validator(top), cells, cell_ok, fields)


def _is_valid(check: Callable[[Any], Any], value: Any) -> bool:
    """`check`: a fastjsonschema function, or nbformat's validator's validate."""
    try:
        check(value)
    except Exception:  # fastjsonschema's or nbformat's ValidationError, nothing else raised
        return False
    return True


def repair(nb: Any, fixes: Repairs) -> None:
    """Make an nbformat 4.5 notebook valid and its widget state readable, in place.

    Raises :class:`Unrepairable` when a pass repairs nothing, or after :data:`MAX_PASSES`.
    """
    whole = _whole().validate
    fixes.deadline = time.monotonic() + REPAIR_SECONDS
    for _ in range(MAX_PASSES):
        if _is_valid(whole, nb):
            break
        before = len(fixes)
        problems = _pass(nb, fixes, _schema())
        if problems and len(fixes) == before:
            raise Unrepairable(_summary(problems))
    else:
        if not _is_valid(whole, nb):
            problems = list(_problems(nb, fixes, _schema()))
            raise Unrepairable(_summary(problems or ["it does not validate after repairs"]))
    models = _repair_widget_state(nb["metadata"], fixes)
    _repair_widget_views(nb["cells"], models, fixes)


def _problems(nb: Any, fixes: Repairs, schema: _Schema) -> Iterator[str]:
    for err in schema.top.iter_errors(nb):
        yield _describe(list(err.absolute_path), err, None, fixes)
    for i, cell in enumerate(nb["cells"]):
        kind = cell.get("cell_type")
        if kind in schema.cells and not _is_valid(schema.cell_ok[kind], cell):
            for leaf in _leaves(schema.cells[cell["cell_type"]].iter_errors(cell), cell):
                yield _describe(list(leaf.absolute_path), leaf, i, fixes)


def _pass(nb: Any, fixes: Repairs, schema: _Schema) -> list[str]:
    """Fix every error one validation finds; what no rule fixes, in the user's words."""
    errors = list(schema.top.iter_errors(nb))
    fixes.spend(len(errors), "the notebook's metadata")
    problems = [p for err in errors if (p := _fix_top(nb, err, fixes))]
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] not in schema.cells:
            _convert_cell(cell, i, fixes)
            continue
        _drop_extras(cell, i, schema, fixes)  # the common case, without jsonschema's cost
        if _is_valid(schema.cell_ok[cell["cell_type"]], cell):
            continue
        try:
            errors = []
            # counted as they come: one cell can hold thousands (its outputs)
            for err in _leaves(schema.cells[cell["cell_type"]].iter_errors(cell), cell):
                fixes.spend(1, f"cell {i + 1}")
                errors.append(err)
        except RecursionError:
            problems.append(f"cell {i + 1} is nested too deeply")
            continue
        dropped: set[int] = set()
        for err in _one_per_metadata_entry(errors):
            if problem := _fix_cell(cell, i, err, fixes, dropped):
                problems.append(problem)
        if dropped:
            cell["outputs"] = fixes.drop_outputs(i, cell["outputs"], dropped)
    return problems


def _one_per_metadata_entry(errors: list) -> Iterator[Any]:
    """A bad metadata entry can break several rules (tags: type and pattern): one fix each."""
    seen: set[tuple] = set()
    for err in errors:
        path = tuple(err.absolute_path)
        key = path[:2] if path[:1] == ("metadata",) else path[:4] + (err.validator,)
        if key not in seen:
            seen.add(key)
            yield err


def _drop_extras(cell: dict, i: int, schema: _Schema, fixes: Repairs) -> None:
    """Fields the schema does not allow on a cell or its outputs (v3 leftovers, mostly)."""
    kind = cell["cell_type"]
    _drop_cell_extras(cell, i, [k for k in cell if k not in schema.fields[kind]], kind, fixes)
    if isinstance(cell.get("metadata"), dict):
        _clean_tags(cell["metadata"], i, fixes)
    for output in cell.get("outputs") or () if kind == "code" else ():
        if not isinstance(output, dict):
            continue
        if output.get("output_type") == "stream" and "stream" in output and "name" not in output:
            _upgrade_v3_output(output)  # v3's stream.stream is v4's stream.name
            fixes.add("v3_output", i)
        _output_defaults(output, i, fixes)
        allowed = schema.fields.get(output.get("output_type"))
        extras = [k for k in output if k not in allowed] if allowed else []
        if extras:
            for key in extras:
                del output[key]
            fixes.add("output_extra", i, tuple(extras))


def _leaves(errors: Any, cell: dict) -> Iterator[Any]:
    """The errors of the branch a cell or output claims to be (cell_type, output_type), not
    the union of every branch's complaints a oneOf reports."""
    for err in errors:
        refs = json.dumps(err.schema.get("oneOf", ""))
        if err.validator != "oneOf" or not ("raw_cell" in refs or "execute_result" in refs):
            yield err
            continue
        table, key = (
            (_CELL_BRANCH, "cell_type") if "raw_cell" in refs else (_OUTPUT_BRANCH, "output_type")
        )
        kind = err.instance.get(key) if isinstance(err.instance, dict) else None
        if kind not in table:
            yield err  # an unknown type: the rule converts or drops it
            continue
        yield from _leaves(
            [e for e in err.context if e.relative_schema_path[0] == table[kind]], cell
        )


# ---------------------------------------------------------------- the rules


def _fix_top(nb: Any, err: Any, fixes: Repairs) -> str | None:
    path = list(err.absolute_path)
    if path[:1] == ["metadata"] and len(path) >= 2:
        nb["metadata"].pop(path[1], None)
        fixes.add("notebook_meta", names=(str(path[1]),))
    elif path in (["metadata"], ["nbformat"], ["nbformat_minor"]) or err.validator == "required":
        nb["metadata"] = nb["metadata"] if isinstance(nb.get("metadata"), dict) else {}
        nb["nbformat"], nb["nbformat_minor"] = 4, 5
        fixes.add("notebook_field", names=tuple(map(str, path)) or ("format",))
    elif err.validator == "additionalProperties" and not path:
        for key in [k for k in nb if k not in err.schema["properties"]]:
            del nb[key]
            fixes.add("notebook_field", names=(key,))
    else:
        return _describe(path, err, None, fixes)
    return None


def _fix_cell(cell: dict, i: int, err: Any, fixes: Repairs, dropped: set[int]) -> str | None:
    path = list(err.absolute_path)
    if not path:
        return _fix_cell_itself(cell, i, err, fixes)
    head = path[0]
    if head == "outputs" and len(path) >= 2 and isinstance(path[1], int):
        return _fix_output(cell, i, path[1], path[2:], err, fixes, dropped)
    if head == "metadata" and len(path) >= 2:
        _fix_cell_metadata(cell["metadata"], path[1], i, fixes)
        return None
    if head == "attachments":
        cell.pop("attachments", None)
        fixes.add("attachments", i)
        return None
    return _fix_cell_field(cell, i, head, err, fixes)


def _fix_cell_itself(cell: dict, i: int, err: Any, fixes: Repairs) -> str | None:
    kind = cell.get("cell_type")
    if err.validator == "oneOf":  # a type the schema does not know
        _convert_cell(cell, i, fixes)
    elif err.validator == "required":
        for name in [f for f in err.validator_value if f not in cell]:
            if name not in _CELL_DEFAULTS:
                return _describe([], err, i, fixes)
            cell[name] = _CELL_DEFAULTS[name]()
            fixes.add(f"no_{'count' if name == 'execution_count' else name}", i)
    elif err.validator == "additionalProperties":
        extras = [k for k in cell if k not in err.schema["properties"]]
        _drop_cell_extras(cell, i, extras, kind, fixes)
    else:
        return _describe([], err, i, fixes)
    return None


_CELL_DEFAULTS: dict[str, Callable[[], Any]] = {
    "source": str,
    "metadata": dict,
    "outputs": list,
    "execution_count": lambda: None,
}
_V3_CELL_FIELDS = ("input", "prompt_number", "collapsed", "language")


def _convert_cell(cell: dict, i: int, fixes: Repairs) -> None:
    kind = cell.get("cell_type")
    source = cell.get("source", cell.get("input", ""))
    source = _joined(source)
    if kind == "heading":
        level = cell.get("level", 1)
        level = min(max(level if isinstance(level, int) else 1, 1), 6)
        source = _heading(source, level)
        fixes.add("heading", i)
    elif kind == "html":
        fixes.add("html_cell", i)
    else:
        fixes.add("unknown_cell", i, (repr(kind)[:30],))
    keep = {"id", "metadata", "attachments"}
    for key in [k for k in cell if k not in keep]:
        del cell[key]
    cell["cell_type"] = "markdown" if kind in _TEXT_CELLS else "raw"
    cell["source"] = source


def _heading(source: str, level: int) -> str:
    """One markdown heading line, as nbformat's conversion writes it; but a line starting
    with "#" (a private line: content/render.py) keeps its line's start, so the cell stays
    private."""
    lines = source.splitlines()
    if any(line.lstrip().startswith("#") for line in lines):
        return source if lines[0].lstrip().startswith("#") else "#" * level + " " + source
    return "#" * level + " " + " ".join(lines)


def _drop_cell_extras(cell: dict, i: int, extras: list, kind: Any, fixes: Repairs) -> None:
    if not extras:  # another rule of this pass took them already
        return
    v3 = [k for k in extras if k in _V3_CELL_FIELDS and kind == "code"]
    if v3:
        if "input" in v3 and not cell.get("source"):
            cell["source"] = _joined(cell["input"])
        count = cell.get("prompt_number")
        if cell.get("execution_count") is None and isinstance(count, int) and count >= 0:
            cell["execution_count"] = count
        if isinstance(cell.get("collapsed"), bool):
            cell["metadata"].setdefault("collapsed", cell["collapsed"])
        fixes.add("v3_fields", i, tuple(v3))
    text_cell = [k for k in extras if k in ("outputs", "execution_count")]
    if text_cell:
        fixes.add("text_cell_outputs", i)
    rest = [k for k in extras if k not in v3 and k not in text_cell]
    if rest:
        fixes.add("extra_fields", i, tuple(rest))
    for key in extras:
        del cell[key]


def _fix_cell_metadata(meta: dict, key: Any, i: int, fixes: Repairs) -> None:
    if key == "tags" and isinstance(meta.get("tags"), list):
        # keep the good tags: the private tag (content/render.py) must survive a bad one
        tags = [t for t in meta["tags"] if isinstance(t, str) and t and "," not in t]
        meta["tags"] = list(dict.fromkeys(tags))
    else:
        meta.pop(key, None)
    fixes.add("cell_meta", i, (str(key),))


def _fix_cell_field(cell: dict, i: int, name: Any, err: Any, fixes: Repairs) -> str | None:
    value = cell.get(name)
    if name == "execution_count":
        cell[name] = _as_count(value)
        fixes.add("count_type", i)
    elif name == "metadata":
        cell[name] = {}
        fixes.add("metadata_type", i)
    elif name == "outputs":
        cell[name] = []
        fixes.add("outputs_type", i)
    elif name == "source" and not isinstance(value, dict):  # an object has no text form
        items = value if isinstance(value, list) else [] if value is None else [value]
        cell[name] = "".join(map(_as_text, items))
        fixes.add("source_type", i)
    else:
        return _describe([name], err, i, fixes)
    return None


def _as_count(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


# outputs


_OUTPUT_DEFAULTS: dict[str, Callable[[], Any]] = {
    "text": str,
    "ename": str,
    "evalue": str,
    "traceback": list,
    "data": dict,
    "metadata": dict,
    "execution_count": lambda: None,
}


def _fix_output(
    cell: dict, i: int, j: int, rest: list, err: Any, fixes: Repairs, dropped: set[int]
) -> str | None:
    output = cell["outputs"][j]
    if not isinstance(output, dict):
        dropped.add(j)
        fixes.add("output_dropped", i, (f"a {type(output).__name__}",))
    elif not rest:
        return _fix_output_itself(output, i, j, err, fixes, dropped)
    elif rest[0] in ("metadata", "data") and len(rest) >= 2:
        output[rest[0]].pop(rest[1], None)
        fixes.add("output_data", i, (str(rest[1]),))
    else:
        return _fix_output_field(output, i, j, rest[0], err, fixes)
    return None


def _fix_output_itself(
    output: dict, i: int, j: int, err: Any, fixes: Repairs, dropped: set[int]
) -> str | None:
    kind = output.get("output_type")
    if err.validator == "oneOf":  # no known output_type
        if kind in ("pyout", "pyerr") or (kind == "stream" and "stream" in output):
            _upgrade_v3_output(output)
            fixes.add("v3_output", i)
        else:
            dropped.add(j)
            fixes.add("output_dropped", i, (repr(kind)[:30] if kind is not None else "none",))
    elif err.validator == "required":
        missing = [f for f in err.validator_value if f not in output]
        if any(f != "name" and f not in _OUTPUT_DEFAULTS for f in missing):
            return _describe(["outputs", j], err, i, fixes)
        _fill_output(output, missing, i, fixes)
    elif err.validator == "additionalProperties":
        extras = [k for k in output if k not in err.schema["properties"]]
        for key in extras:
            del output[key]
        if extras:  # another rule of this pass may have taken them already
            fixes.add("output_extra", i, tuple(extras))
    else:
        return _describe(["outputs", j], err, i, fixes)
    return None


def _upgrade_v3_output(output: dict) -> None:
    from nbformat.v4.convert import upgrade_output

    new = upgrade_output(output)
    if new is not output:
        output.clear()
        output.update(new)


def _fix_output_field(output: dict, i: int, j: int, name: Any, err: Any, fixes: Repairs):
    value = output.get(name)
    if name == "execution_count":
        output[name] = _as_count(value)
    elif name in ("data", "metadata"):
        output[name] = {}
    elif name == "traceback":
        items = value if isinstance(value, list) else [value]
        output[name] = [_as_text(x) for x in items]
    elif name in ("name", "ename", "evalue", "text") and not isinstance(value, dict):
        output[name] = _as_text(value) if value is not None else ""
        if name == "name" and not output[name]:
            output[name] = "stdout"
    else:
        return _describe(["outputs", j, name], err, i, fixes)
    fixes.add("output_type_fix", i, (str(name),))
    return None


# ---------------------------------------------------------------- user words


def _describe(path: list, err: Any, cell: int | None, fixes: Repairs) -> str:
    """One error as a user reads it: "cell 3's output 2 has no output_type"."""
    where = _where(path, cell, fixes)
    if err.validator == "required":
        missing = [
            f
            for f in err.validator_value
            if isinstance(err.instance, dict) and f not in err.instance
        ]
        return f"{where} has no {missing[0] if missing else 'required field'}"
    wanted = _wanted_types(err)
    if wanted:
        return f"{where} is {_a(_json_type(err.instance))}, not {' or '.join(map(_a, wanted))}"
    if err.validator == "additionalProperties":
        extras = [k for k in err.instance if k not in err.schema.get("properties", {})]
        names = ", ".join(map(str, extras[:3]))
        return f"{where} has fields the notebook format does not allow ({names})"
    return f"{where} is not valid ({err.validator})"


def _where(path: list, cell: int | None, fixes: Repairs) -> str:
    words = [] if cell is None else [f"cell {cell + 1}"]
    rest = list(path)
    if cell is not None and rest[:1] == ["outputs"] and len(rest) >= 2 and isinstance(rest[1], int):
        words.append(f"output {fixes.output_number(cell, rest[1])}")
        rest = rest[2:]
    words += [str(p) if not isinstance(p, int) else f"item {p + 1}" for p in rest]
    if not words:
        return "the notebook"
    if cell is None:
        words.insert(0, "the notebook")
    return "'s ".join(words)


def _wanted_types(err: Any) -> list[str]:
    """What a type error wanted, as a user says it: ["text", "list"] (multiline strings are a
    oneOf of two types)."""
    if err.validator == "type":
        types = err.validator_value
    elif err.validator == "oneOf" and all("type" in s for s in err.validator_value):
        types = [s["type"] for s in err.validator_value]
    else:
        return []
    types = types if isinstance(types, list) else [types]
    return [_plain_type(t) for t in types if isinstance(t, str)]


def _json_type(value: Any) -> str:
    kinds = ((bool, "boolean"), ((int, float), "number"), (str, "text"), (list, "list"))
    for cls, name in (*kinds, (dict, "object"), (type(None), "null")):
        if isinstance(value, cls):
            return name
    return type(value).__name__


def _plain_type(name: str) -> str:
    names = {"string": "text", "array": "list", "integer": "number"}
    for k, v in names.items():
        name = name.replace(k, v)
    return name


def _a(word: str) -> str:
    return word if word in ("null", "text") else ("an " if word[0] in "aeiou" else "a ") + word


def _summary(problems: list[str]) -> str:
    first = problems[0]
    more = len(problems) - 1
    return f"{first} (and {plural(more, 'other problem')})" if more else first
