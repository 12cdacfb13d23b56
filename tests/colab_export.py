"""A Colab export with tqdm bars, built the way Colab saves one (see content/repair.py).

tqdm.notebook draws a bar as an HBox of [HTML (label), FloatProgress (bar), HTML (counts)],
each with its LayoutModel and a Description/ProgressStyleModel. Colab saves the models keyed by
model id directly under ``metadata.widgets["application/vnd.jupyter.widget-state+json"]``
(each ``{"model_module", "model_name", "model_module_version", "state"}``), without the
``{"state": …, "version_major": 2, "version_minor": 0}`` wrapper ipywidgets writes, and every
output holds the widget-view reference next to tqdm's text form.
"""

from __future__ import annotations

import hashlib
from typing import Any

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
CONTROLS, BASE = "@jupyter-widgets/controls", "@jupyter-widgets/base"
VIEWS = {
    "HBoxModel": "HBoxView",
    "HTMLModel": "HTMLView",
    "FloatProgressModel": "ProgressView",
    "LayoutModel": "LayoutView",
}


def _id(*parts: str) -> str:
    return hashlib.md5("/".join(parts).encode()).hexdigest()  # 32 hex, like a comm id


def _model(module: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
    version = "1.2.0" if module == BASE else "1.5.0"
    styled = name.endswith("StyleModel") or name == "LayoutModel"
    full = {
        "_model_module": module,
        "_model_module_version": version,
        "_model_name": name,
        "_view_count": None,
        "_view_module": BASE if styled else module,
        "_view_module_version": "1.2.0" if styled else version,
        "_view_name": VIEWS.get(name, "StyleView"),
        **state,
    }
    return {
        "model_module": module,
        "model_name": name,
        "model_module_version": version,
        "state": full,
    }


def tqdm_bar(models: dict, label: str, n: int, total: int) -> tuple[dict, list[str]]:
    """Add one bar's models (as Colab saves them) and return its output and model ids."""
    ids = {
        k: _id(label, k) for k in ("box", "l", "p", "r", "lb", "ll", "lp", "lr", "sl", "sp", "sr")
    }
    ref = {k: f"IPY_MODEL_{v}" for k, v in ids.items()}
    layout = {"display": None, "flex": None, "flex_flow": None, "width": None}
    models[ids["lb"]] = _model(BASE, "LayoutModel", {**layout, "display": "inline-flex"})
    models[ids["ll"]] = _model(BASE, "LayoutModel", layout)
    models[ids["lp"]] = _model(BASE, "LayoutModel", {**layout, "flex": "2"})
    models[ids["lr"]] = _model(BASE, "LayoutModel", layout)
    for k in ("sl", "sr"):
        models[ids[k]] = _model(CONTROLS, "DescriptionStyleModel", {"description_width": ""})
    models[ids["sp"]] = _model(
        CONTROLS, "ProgressStyleModel", {"bar_color": None, "description_width": ""}
    )
    pct = 100 * n // total
    text = {"_dom_classes": [], "description": "", "description_tooltip": None}
    models[ids["l"]] = _model(
        CONTROLS,
        "HTMLModel",
        {**text, "layout": ref["ll"], "placeholder": "\u200b", "style": ref["sl"]}
        | {"value": f"{label}: {pct:3d}%"},
    )
    models[ids["p"]] = _model(
        CONTROLS,
        "FloatProgressModel",
        {**text, "bar_style": "success" if n == total else "", "layout": ref["lp"]}
        | {"max": total, "min": 0, "orientation": "horizontal", "style": ref["sp"], "value": n},
    )
    models[ids["r"]] = _model(
        CONTROLS,
        "HTMLModel",
        {**text, "layout": ref["lr"], "placeholder": "\u200b", "style": ref["sr"]}
        | {"value": f" {n}/{total} [00:01&lt;00:00, 90.10it/s]"},
    )
    models[ids["box"]] = _model(
        CONTROLS,
        "HBoxModel",
        {"_dom_classes": [], "box_style": "", "layout": ref["lb"]}
        | {"children": [ref["l"], ref["p"], ref["r"]]},
    )
    output = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            VIEW_MIME: {"model_id": ids["box"], "version_major": 2, "version_minor": 0},
            "text/plain": [f"{label}: {pct:3d}%|{'#' * (pct // 10):10}| {n}/{total}"],
        },
    }
    return output, list(ids.values())


def colab_notebook() -> dict:
    """Two tqdm bars (one done, one at 40 %) in one cell, saved as Colab saves them."""
    models: dict = {}
    done, ids1 = tqdm_bar(models, "epoch", 100, 100)
    part, ids2 = tqdm_bar(models, "batches", 40, 100)
    return {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "widgets": {STATE_MIME: models},
        },
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {"id": "intro"},
                "source": ["# Training"],
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {
                    "id": "bars",
                    "colab": {
                        "base_uri": "https://localhost:8080/",
                        "referenced_widgets": ids1 + ids2,
                    },
                    "outputId": "0b1c2d3e-0000-0000-0000-000000000000",
                },
                "source": [
                    "from tqdm.notebook import tqdm\n",
                    "for epoch in tqdm(range(100), desc='epoch'): pass",
                ],
                "outputs": [done, part],
            },
        ],
    }
