"""A compact CNN image classifier: architecture and training from `CnnParams`, trained on
the CPU so the same images, labels and params give bit-identical weights in any process.

Images are float32 arrays (N, H, W, C) in [0, 1]. torch is imported inside functions
only, so importing this module (and `mlpin --help`) stays fast. It does no file I/O:
saving and loading live in `cnnformat`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    import torch

# One thread: reductions split across threads sum in an order that depends on the thread
# count, so weights would differ between machines with different core counts.
THREADS = 1
BATCH_INFER = 256


class CnnParams(BaseModel):
    """Architecture and training of one CNN; every field has a working default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[Annotated[int, Field(ge=1, le=1024)]] = Field(default=[16, 32], min_length=1, max_length=6)
    kernel_size: int = Field(default=3, ge=1, le=9)
    dense: int = Field(default=64, ge=1, le=4096)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    epochs: int = Field(default=10, ge=1, le=1000)
    batch_size: int = Field(default=32, ge=1, le=4096)
    learning_rate: float = Field(default=1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    seed: int = Field(default=0, ge=0, lt=2**63)
    input_size: tuple[int, int] = (32, 32)
    input_channels: Literal[1, 3] = 1
    mean: list[float] = Field(default=[0.5], min_length=1, max_length=3)
    std: list[Annotated[float, Field(gt=0.0)]] = Field(default=[0.5], min_length=1, max_length=3)

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("must be odd, so each conv keeps the image size")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CnnParams:
        wrong = [f"{name} has {len(v)} values, one per input channel ({self.input_channels}) is needed"
                 for name, v in (("mean", self.mean), ("std", self.std)) if len(v) != self.input_channels]
        smallest = 2 ** len(self.channels)
        if min(self.input_size) < smallest:
            wrong.append(f"input_size {tuple(self.input_size)} is too small for {len(self.channels)} conv blocks, "
                         f"each halving it: at least {smallest} pixels a side")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self


def cnn_params(raw: dict[str, Any]) -> CnnParams:
    """CnnParams from a plain dict; InvalidInput listing every bad field otherwise."""
    try:
        return CnnParams.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])) or "params", e["msg"]) for e in exc.errors()]
        raise InvalidInput(f"CNN params: {len(problems)} problem(s)", problems=problems) from None


@dataclass
class FittedCnn:
    """A trained network with its classes; predicts like a scikit-learn classifier."""

    MLPIN_FLAVOR = "mlpin_cnn"  # not a field: how registries store it (adapters/modelflavors.py)
    params: CnnParams
    classes_: np.ndarray
    network: Any  # torch.nn.Sequential, built by `build_network`
    history: list[dict[str, float]] = field(default_factory=list)
    # the spec's ISP overrides its raw training images were decoded with: serving decodes uploads the same way
    isp: dict[str, Any] | None = None

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes), columns in `classes_` order."""
        import torch

        logits = self._run(images, upto=None)
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The most probable class of each image, as strings."""
        return self.classes_[self._run(images, upto=None).argmax(dim=1).numpy()]

    def embed(self, images: np.ndarray) -> np.ndarray:
        """The penultimate layer's activations (N, dense): what image drift compares."""
        return self._run(images, upto="embedding").numpy()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The weights, detached copies, for saving or fine-tuning."""
        return {k: v.detach().clone().contiguous() for k, v in self.network.state_dict().items()}

    def _run(self, images: np.ndarray, *, upto: str | None) -> torch.Tensor:
        import torch

        x = to_tensor(images, self.params)
        layers = list(self.network.named_children())
        if upto is not None:
            layers = layers[: [n for n, _ in layers].index(upto) + 1]
        self.network.eval()
        with deterministic(), torch.no_grad():
            outs = []
            for start in range(0, len(x), BATCH_INFER):
                out = x[start: start + BATCH_INFER]
                for _, layer in layers:
                    out = layer(out)
                outs.append(out)
        return torch.cat(outs) if outs else torch.empty(0)


def fit(
    images: np.ndarray,
    labels: Sequence[str],
    params: CnnParams,
    *,
    init_state: dict[str, torch.Tensor] | None = None,
    init_classes: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FittedCnn:
    """Train a CNN on (images, labels); from `init_state` (production's weights) if given.

    `init_classes`, when given with `init_state`, must equal the classes of `labels`: the
    output layer's rows are those classes in order, so other classes would be mislabelled.
    """
    import torch

    classes = np.array(sorted({str(label) for label in labels}))
    x, y = _training_tensors(images, labels, classes, params)
    if init_classes is not None and [str(c) for c in init_classes] != classes.tolist():
        raise InvalidInput(f"the initial weights were trained on classes {list(init_classes)}, the labels "
                           f"have {classes.tolist()}: train from scratch, or label the same classes")
    with deterministic(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.seed)
        network = build_network(params, len(classes))
        if init_state is not None:
            network.load_state_dict(checked_state(init_state, network, what="init_state"))
        history = _train(network, x, y, params, progress)
    network.eval()
    return FittedCnn(params, classes, network, history)


def build_network(params: CnnParams, n_classes: int) -> torch.nn.Sequential:
    """The architecture the params describe, built from mlpin's code only."""
    from collections import OrderedDict

    from torch import nn

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    previous: int = params.input_channels
    for i, width in enumerate(params.channels):
        layers[f"conv{i}"] = nn.Conv2d(previous, width, params.kernel_size, padding=params.kernel_size // 2)
        layers[f"relu{i}"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        previous = width
    height, width = (side >> len(params.channels) for side in params.input_size)
    layers["flatten"] = nn.Flatten()
    layers["dense"] = nn.Linear(previous * height * width, params.dense)
    layers["embedding"] = nn.ReLU()
    layers["dropout"] = nn.Dropout(params.dropout)
    layers["output"] = nn.Linear(params.dense, n_classes)
    return nn.Sequential(layers)


def checked_state(state: Any, network: torch.nn.Module, *, what: str) -> dict[str, torch.Tensor]:
    """`state` if it has exactly the network's tensors and shapes; InvalidInput naming each mismatch."""
    import torch

    if not isinstance(state, dict):
        raise InvalidInput(f"{what} is a {type(state).__name__}, not a mapping of layer names to tensors")
    expected = network.state_dict()
    problems = [Problem(k, "missing") for k in expected if k not in state]
    problems += [Problem(str(k), "not a layer of this architecture") for k in state if k not in expected]
    for k, tensor in expected.items():
        got = state.get(k)
        if k in state and not isinstance(got, torch.Tensor):
            problems.append(Problem(k, f"is a {type(got).__name__}, not a tensor"))
        elif isinstance(got, torch.Tensor) and (got.shape != tensor.shape or got.dtype != tensor.dtype):
            problems.append(Problem(k, f"has shape {tuple(got.shape)} {got.dtype}, the architecture needs "
                                       f"{tuple(tensor.shape)} {tensor.dtype}"))
    if problems:
        raise InvalidInput(f"{what} does not fit the architecture of these params ({len(problems)} mismatches)",
                           problems=problems)
    return dict(state)


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    """Deterministic kernels on a fixed thread count, restoring the caller's settings after."""
    import torch

    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(strict)
        torch.set_num_threads(threads)


def to_tensor(images: np.ndarray, params: CnnParams) -> torch.Tensor:
    """(N, H, W, C) in [0, 1] -> normalised (N, C, H, W) float32; InvalidInput on a wrong shape or range."""
    import torch

    array = np.asarray(images)
    expected = (*params.input_size, params.input_channels)
    if array.ndim != 4 or tuple(array.shape[1:]) != expected:
        raise InvalidInput(f"images have shape {array.shape}, expected (N, {', '.join(map(str, expected))})")
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidInput(f"images are {array.dtype}, expected floats in [0, 1] (divide 8-bit pixels by 255)")
    array = array.astype(np.float32, copy=False)
    if array.size and not (np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0):
        raise InvalidInput("images must hold finite values in [0, 1]")
    mean = np.asarray(params.mean, dtype=np.float32)
    std = np.asarray(params.std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(((array - mean) / std).transpose(0, 3, 1, 2)))


def _training_tensors(
    images: np.ndarray, labels: Sequence[str], classes: np.ndarray, params: CnnParams
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    x = to_tensor(images, params)
    if len(labels) != len(x):
        raise InvalidInput(f"{len(x)} images but {len(labels)} labels")
    if len(classes) < 2:
        raise InvalidInput(f"the labels hold {len(classes)} class(es); a classifier needs at least 2")
    index = {c: i for i, c in enumerate(classes.tolist())}
    return x, torch.tensor([index[str(label)] for label in labels], dtype=torch.long)


def _train(
    network: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor, params: CnnParams,
    progress: Callable[[str], None] | None,
) -> list[dict[str, float]]:
    import torch

    optimizer = torch.optim.AdamW(network.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    shuffle = torch.Generator().manual_seed(params.seed)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    history = []
    network.train()
    for epoch in range(1, params.epochs + 1):
        total, correct = 0.0, 0
        for batch in torch.randperm(len(x), generator=shuffle).split(params.batch_size):
            optimizer.zero_grad()
            logits = network(x[batch])
            loss = loss_fn(logits, y[batch])
            (loss / len(batch)).backward()
            optimizer.step()
            total += float(loss.detach())
            correct += int((logits.argmax(dim=1) == y[batch]).sum())
        history.append({"epoch": epoch, "loss": total / len(x), "train_accuracy": correct / len(x)})
        if progress is not None:
            progress(f"epoch {epoch}/{params.epochs}: loss {total / len(x):.4f}, "
                     f"train accuracy {correct / len(x):.3f}")
    return history
