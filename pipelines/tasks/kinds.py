"""Task kinds: what differs between tabular models and image models, behind one seam.

Stages ask the kind of a spec's task how to fit, what a registered model's inputs and
example are, and which of a data split production can score; none of them imports
scikit-learn or torch. `tabular` (classification, regression: a scikit-learn Pipeline)
and `image` (image_classification: a compact CNN, `tasks/cnn.py`) are the two kinds;
torch is imported only inside the image kind's methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.core.catalog import IMAGE_TASKS
from pipelines.core.errors import InvalidInput
from pipelines.core.inputs import InputColumn

EXAMPLE_ROWS = 5  # rows (or images) logged with a model as its input example


class Prepared(Protocol):
    """What `stages.prepare` hands a kind: the spec, its data's identity and the split."""

    spec: Any
    pointer: Any
    features: list[str]
    split: Any


@dataclass(frozen=True)
class Signature:
    """What a registered model records about its inputs and output."""

    inputs: list[InputColumn]  # named columns; empty for an image model (a tensor)
    output_type: str  # "string" | "double"
    example: Any  # a few training rows or images


class TaskKind(Protocol):
    name: str
    scoring: str  # the metric set: "classification" | "regression"

    def fit(self, prep: Prepared, *, init: Any | None = None, progress: Callable[[str], None] | None = None) -> Any:
        """A model fitted on the training part of the split (`init`: weights to start from;
        `progress`: told each epoch, for models trained in epochs)."""

    def signature(self, prep: Prepared) -> Signature:
        """The inputs, output type and example a registered version records."""

    def production_inputs(self, fitted: Any, prep: Prepared, rows: Any) -> tuple[Any | None, str]:
        """What of `rows` (held-out rows or images) production can score, or None with why not."""

    def robustness(self, fitted: Any, prep: Prepared) -> dict[str, float] | None:
        """Accuracy on the held-out part under fixed perturbations; None where it does not apply."""


class Tabular:
    """scikit-learn Pipelines on tables: preprocessing from the column schema, then the estimator."""

    name = "tabular"

    def __init__(self, task: str) -> None:
        self.scoring = task

    def fit(self, prep: Prepared, *, init: Any | None = None, progress: Callable[[str], None] | None = None) -> Any:
        from pipelines.tasks.tabular import build_pipeline

        pipeline = build_pipeline(prep.spec, prep.pointer, prep.features)
        try:
            return pipeline.fit(prep.split.x_train, prep.split.y_train)
        except (ValueError, TypeError) as exc:
            # scikit-learn validates hyperparameter values at fit time.
            raise InvalidInput(f"models/{prep.spec.name}.yaml: estimator.params: {exc}") from exc

    def signature(self, prep: Prepared) -> Signature:
        from pipelines.core.inputs import input_columns

        return Signature(inputs=input_columns(prep.pointer, prep.features),
                         output_type="string" if prep.spec.task == "classification" else "double",
                         example=prep.split.x_train.head(EXAMPLE_ROWS))

    def production_inputs(self, fitted: Any, prep: Prepared, rows: Any) -> tuple[Any | None, str]:
        needed = [str(c) for c in getattr(fitted, "feature_names_in_", prep.features)]
        missing = [c for c in needed if c not in rows.columns]
        if missing:
            return None, f"needs columns this data lacks: {missing}"
        return rows[needed], ""

    def robustness(self, fitted: Any, prep: Prepared) -> dict[str, float] | None:
        return None


class Image:
    """A compact CNN on an image folder's decoded images (N, H, W, C) in [0, 1]."""

    name = "image"
    scoring = "classification"

    def fit(self, prep: Prepared, *, init: Any | None = None, progress: Callable[[str], None] | None = None) -> Any:
        from pipelines.tasks.cnn import cnn_params, fit

        images = prep.split.x_train
        params = cnn_params({"input_size": list(images.shape[1:3]), "input_channels": images.shape[3],
                             "mean": [0.5] * images.shape[3], "std": [0.5] * images.shape[3],
                             "seed": prep.spec.split.seed, **prep.spec.estimator.params})
        if tuple(params.input_size) != images.shape[1:3] or params.input_channels != images.shape[3]:
            raise InvalidInput(f"models/{prep.spec.name}.yaml: estimator.params: input_size {params.input_size} and "
                               f"input_channels {params.input_channels} must match the images "
                               f"({images.shape[1]}x{images.shape[2]}, {images.shape[3]} channels); remove them "
                               "to take the data's")
        state, classes = (init.state_dict(), list(init.classes_)) if init is not None else (None, None)
        fitted = fit(images, list(prep.split.y_train), params, init_state=state, init_classes=classes,
                     progress=progress)
        fitted.isp = dict(sorted(prep.spec.isp.items())) if prep.spec.isp is not None else None
        return fitted

    def signature(self, prep: Prepared) -> Signature:
        return Signature(inputs=[], output_type="string", example=prep.split.x_train[:EXAMPLE_ROWS])

    def production_inputs(self, fitted: Any, prep: Prepared, rows: Any) -> tuple[Any | None, str]:
        params = getattr(fitted, "params", None)
        if params is None:
            return None, "is not an image model"
        wanted = (*params.input_size, params.input_channels)
        if tuple(rows.shape[1:]) != wanted:
            return None, f"takes images of {wanted}, these are {tuple(rows.shape[1:])}"
        return rows, ""

    def robustness(self, fitted: Any, prep: Prepared) -> dict[str, float] | None:
        from pipelines.tasks.imagerobustness import robustness

        rows, _ = self.production_inputs(fitted, prep, prep.split.x_test)
        if rows is None:
            return None
        found = robustness(fitted, rows, list(prep.split.y_test), seed=prep.spec.split.seed)
        if getattr(prep.pointer, "format", "") == "raw_folder" and prep.split.test_files:
            found.update(_isp_robustness(fitted, prep))
        return {k: round(v, 4) for k, v in found.items()}


def kind_for(task: str) -> TaskKind:
    """The kind of a spec's task."""
    return Image() if task in IMAGE_TASKS else Tabular(task)


# For raw data: the held-out DNGs decoded again with one ISP parameter changed.
ISP_VARIANTS = {"isp_gamma_1_8": {"gamma": 1.8}, "isp_gamma_2_8": {"gamma": 2.8},
                "isp_warm_white_balance": {"wb_gains": (1.3, 1.0, 0.8)}, "isp_denoise": {"denoise_strength": 0.8},
                "isp_sharpen": {"sharpen_amount": 1.5}}


def _isp_robustness(fitted: Any, prep: Prepared) -> dict[str, float]:
    import numpy as np

    from pipelines.tasks.imagedata import decode_raw

    expected = np.asarray([str(label) for label in prep.split.y_test])
    base = dict(prep.spec.isp or {})
    found = {}
    for name, change in ISP_VARIANTS.items():
        images = np.stack([decode_raw(path, isp={**base, **change}) for path in prep.split.test_files])
        found[name] = float(np.mean(fitted.predict(images) == expected))
    return found
