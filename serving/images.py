"""Image requests for image models: the uploaded files (multipart) or base64 strings (JSON),
recognised by their magic bytes and decoded exactly as training decodes them.

PNG/JPG go through `imagedata.decode_picture` in the model's channels, DNG through
`imagedata.decode_raw` (the ISP) with the overrides the model was trained with, so a file
gives the served model the very tensor it gave the trained one. Every problem with every
image is collected into one 422. Nothing here predicts or logs; the log keeps each
image's sha256 and statistics (`Decoded.log_entry`), never its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import numpy as np
from fastapi import HTTPException

from serving.http import parse_json

MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"II*\x00": "dng", b"MM\x00*": "dng"}
FIELD = "file"  # the multipart field of each uploaded image


@dataclass(frozen=True)
class ImageInput:
    """What an image model takes: its classes, input size and channels, the ISP overrides its raw
    images were decoded with, and the images logged with it as its example."""

    classes: list[str]
    input_size: tuple[int, int]  # (height, width)
    channels: int
    isp: dict[str, Any] | None
    example: Any  # float32 (N, H, W, C)


@dataclass(frozen=True)
class Decoded:
    """One uploaded image, decoded: its pixels and what the prediction log keeps of it."""

    pixels: np.ndarray  # float32 (H, W, C) in [0, 1]
    sha256: str
    format: str

    def log_entry(self) -> dict[str, Any]:
        """The image in the prediction log: digest, format, size and mean per channel; no pixels."""
        height, width, _ = self.pixels.shape
        means = [round(float(m), 6) for m in self.pixels.reshape(-1, self.pixels.shape[2]).mean(axis=0)]
        return {"sha256": self.sha256, "format": self.format, "width": width, "height": height, "mean": means}


def is_multipart(content_type: str) -> bool:
    """Whether the request's Content-Type is multipart/form-data."""
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def images_from_multipart(body: bytes, content_type: str, model: ImageInput, *, max_images: int) -> list[Decoded]:
    """Every `file` part of a multipart/form-data body, decoded; 413 past `max_images`, 422 otherwise."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    if not message.is_multipart():
        raise _unprocessable([_problem(["body"], "a multipart/form-data body with a boundary is expected")])
    files = [part.get_payload(decode=True) or b"" for part in message.iter_parts()
             if part.get_param("name", header="content-disposition") == FIELD]
    return decode_all(files, model, max_images=max_images, loc=["body", FIELD])


def images_from_json(body: bytes, model: ImageInput, *, max_images: int) -> list[Decoded]:
    """`{"images": [base64, ...]}` or `{"image": base64}`, decoded; 413 past `max_images`, 422 otherwise."""
    payload = parse_json(body)
    key = next(iter(payload), None) if isinstance(payload, dict) and len(payload) == 1 else None
    if key not in ("images", "image"):
        raise _unprocessable([_problem(["body"], 'an image model takes {"images": ["<base64>", ...]} or '
                                                 '{"image": "<base64>"} (or multipart/form-data files)')])
    given = payload[key] if key == "images" else [payload[key]]
    if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
        raise _unprocessable([_problem(["body", key], "must be base64 strings")])
    if len(given) > max_images:
        raise _too_many(len(given), max_images)
    files, problems = [], []
    for index, text in enumerate(given):
        try:
            files.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            problems.append(_problem(["body", key, index], "not valid base64"))
    if problems:
        raise _unprocessable(problems)
    return decode_all(files, model, max_images=max_images, loc=["body", key])


def decode_all(files: list[bytes], model: ImageInput, *, max_images: int, loc: list) -> list[Decoded]:
    """Each file decoded as training decodes it and checked against the model's input size; every problem."""
    if not files:
        raise _unprocessable([_problem(loc, "no image was sent")])
    if len(files) > max_images:
        raise _too_many(len(files), max_images)
    decoded, problems = [], []
    for index, data in enumerate(files):
        try:
            decoded.append(decode(data, model))
        except ValueError as exc:
            problems.append(_problem([*loc, index], str(exc)))
    if problems:
        raise _unprocessable(problems)
    return decoded


def decode(data: bytes, model: ImageInput) -> Decoded:
    """One file's pixels, as training decodes its kind; ValueError saying what is wrong."""
    from pipelines.core.errors import InvalidInput
    from pipelines.tasks.imagedata import decode_picture, decode_raw

    kind = next((name for magic, name in MAGIC.items() if data.startswith(magic)), None)
    if kind is None:
        raise ValueError("not a PNG, JPEG or DNG image (unknown leading bytes)")
    if kind != "dng":
        _check_size(data, model, kind=kind)  # from the header, before a decompression bomb is unpacked
    try:
        pixels = (decode_raw(data, isp=model.isp, expected_size=tuple(model.input_size))  # checked before unpacking
                  if kind == "dng" else decode_picture(io.BytesIO(data), channels=model.channels))
    except InvalidInput as exc:
        raise ValueError(f"{kind}: {exc.message}") from None
    except Exception as exc:  # Pillow and LibRaw raise many kinds for a damaged file
        raise ValueError(f"{kind}: cannot be decoded: {type(exc).__name__}: {exc}"[:300]) from None
    wanted = (*model.input_size, model.channels)
    if pixels.shape != wanted:
        raise ValueError(f"{kind} of {pixels.shape[1]}x{pixels.shape[0]} pixels, {pixels.shape[2]} channel(s); "
                         f"the model takes {wanted[1]}x{wanted[0]} pixels, {wanted[2]} channel(s)")
    return Decoded(pixels=pixels, sha256=hashlib.sha256(data).hexdigest(), format=kind)


def _check_size(data: bytes, model: ImageInput, *, kind: str) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
    except Exception as exc:  # Pillow raises many kinds for a damaged header
        raise ValueError(f"{kind}: cannot be decoded: {type(exc).__name__}: {exc}"[:300]) from None
    if (height, width) != tuple(model.input_size):
        raise ValueError(f"{kind} of {width}x{height} pixels; the model takes "
                         f"{model.input_size[1]}x{model.input_size[0]} pixels")


def _problem(loc: list, msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "image_invalid"}


def _unprocessable(problems: list[dict[str, Any]]) -> HTTPException:
    return HTTPException(status_code=422, detail=problems)


def _too_many(count: int, limit: int) -> HTTPException:
    return HTTPException(status_code=413, detail=f"{count} images; at most {limit} per request (MLPIN_MAX_ROWS)")
