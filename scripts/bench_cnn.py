"""Time CNN training on the CPU: the tiny test model and a digits-sized model.

Tiny: 60 synthetic 16x16 grey images, 3 classes, the test suite's params (first fit in
the process, which pays torch's start-up, and a warm second fit). Digits: scikit-learn's
1797 8x8 digits upscaled to 32x32, 10 classes, default CnnParams with `--epochs` epochs,
trained on 80% and scored on the rest. With `--threads 2` the digits fit is repeated
with more threads, for comparison only: mlpin trains on one thread (see cnn.THREADS).

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_cnn.py [--epochs 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from pipelines.tasks import cnn  # noqa: E402
from pipelines.tasks.imagerobustness import robustness, score_images  # noqa: E402
from tests.tasks.test_cnn import PARAMS, TEST, TRAIN  # noqa: E402


def digits() -> tuple[np.ndarray, list[str]]:
    """The 8x8 digits as (N, 32, 32, 1) floats in [0, 1], each pixel repeated 4x4."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32).repeat(4, axis=1).repeat(4, axis=2)[..., None]
    return images, [str(t) for t in data.target]


def timed(label: str, images: np.ndarray, labels: list[str], params: cnn.CnnParams) -> cnn.FittedCnn:
    start = time.perf_counter()
    fitted = cnn.fit(images, labels, params)
    print(f"{label}: {time.perf_counter() - start:.2f}s ({len(images)} images, {params.epochs} epochs, "
          f"{cnn.THREADS} thread(s))")
    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="also time the digits fit on this many threads")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available")
    timed("tiny, first fit (torch start-up included)", *TRAIN, PARAMS)
    tiny = timed("tiny, warm", *TRAIN, PARAMS)
    print(f"  tiny test accuracy {score_images(tiny, *TEST).metrics['accuracy']:.3f}")
    images, labels = digits()
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[: int(0.8 * len(order))], order[int(0.8 * len(order)):]
    params = cnn.CnnParams(epochs=args.epochs, input_size=(32, 32))
    fitted = timed("digits 32x32", images[train], [labels[i] for i in train], params)
    held_images, held_labels = images[test], [labels[i] for i in test]
    start = time.perf_counter()
    accuracy = score_images(fitted, held_images, held_labels).metrics["accuracy"]
    print(f"  held-out accuracy {accuracy:.3f}; scoring {len(test)} images "
          f"{time.perf_counter() - start:.2f}s")
    print("  robustness " + ", ".join(f"{k} {v:.3f}" for k, v in
                                      robustness(fitted, held_images, held_labels, seed=0).items()))
    if args.threads:
        cnn.THREADS = args.threads
        timed("digits 32x32, for comparison", images[train], [labels[i] for i in train], params)


if __name__ == "__main__":
    main()
