"""`data/<dataset>.yaml`: where the data is, its digest, its columns and its contract."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipelines.core.schemas.base import Document, Sha256, Strict

ColumnType = Literal["float", "int", "category"]
ColumnRole = Literal["feature", "target", "ignore"]


class Column(Strict):
    """One column: its name, how to read it, and what part it plays."""

    name: str = Field(min_length=1)
    type: ColumnType
    role: ColumnRole = "feature"


class Range(Strict):
    """Inclusive bounds for a numeric column; either side may be open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Contract(Strict):
    """What the data must satisfy before anything trains on it, and (`values`,
    `allow_unseen`, the null fractions) what serving accepts from clients."""

    min_rows: int = Field(default=1, ge=1)
    max_null_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    null_fraction: dict[str, float] = Field(default_factory=dict)
    labels: list[str | int] | None = None
    ranges: dict[str, Range] = Field(default_factory=dict)
    values: dict[str, list[str | int]] = Field(default_factory=dict)  # allowed values of category columns
    allow_unseen: list[str] = Field(default_factory=list)  # columns of `values` whose other values serving accepts

    @field_validator("values", mode="before")
    @classmethod
    def _text_or_whole_numbers(cls, value: object) -> object:
        # Categories are compared as the text the data holds; YAML reads `yes`/`true` as a
        # boolean and `1.0` as a float, whose text ('True', '1.0') the data never holds.
        if isinstance(value, dict):
            for column, allowed in value.items():
                for item in allowed if isinstance(allowed, list) else []:
                    if isinstance(item, bool | float):
                        raise ValueError(f"{column}: {item!r} is read as a {type(item).__name__}; "
                                         f"quote it ('{item}') to mean that text")
        return value

    @field_validator("null_fraction")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [name for name, frac in value.items() if not 0.0 <= frac <= 1.0]
        if bad:
            raise ValueError(f"fractions must lie in [0, 1]; out of range for {bad}")
        return value

    def allowed_nulls(self, column: str) -> float:
        """The null fraction this column may have."""
        return self.null_fraction.get(column, self.max_null_fraction)

    def allowed_values(self, column: str) -> list[str] | None:
        """The values a category column may take, as text (how categories are read); None when not declared."""
        declared = self.values.get(column)
        return None if declared is None else [str(v) for v in declared]


class DataPointer(Document):
    """A dataset by content: `uri` says where, `sha256` says exactly what."""

    uri: str = Field(min_length=1)
    format: Literal["csv", "parquet"]
    sha256: Sha256
    columns: list[Column] = Field(min_length=1)
    contract: Contract = Field(default_factory=Contract)
    description: str = ""

    @field_validator("columns")
    @classmethod
    def _unique(cls, columns: list[Column]) -> list[Column]:
        names = [c.name for c in columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"column names must be unique; repeated: {dupes}")
        return columns

    def column(self, name: str) -> Column | None:
        """The column called `name`, if declared."""
        return next((c for c in self.columns if c.name == name), None)

    def names(self, role: str | None = None) -> list[str]:
        """Declared column names, optionally only those with `role`."""
        return [c.name for c in self.columns if role is None or c.role == role]


class ImageContract(Strict):
    """What an image or raw folder must satisfy before anything trains on it."""

    labels: list[str] = Field(min_length=2)  # one folder per label; compared as text
    min_per_class: int = Field(default=1, ge=1)
    sizes: list[tuple[int, int]] | None = None  # allowed (width, height); None: any
    modes: list[str] | None = None  # Pillow modes (L, RGB ...) or CFA patterns (RGGB ...)

    @field_validator("labels", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        # YAML reads 0..9 as numbers; folder names are text
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("sizes")
    @classmethod
    def _positive(cls, value: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
        if value is not None and any(w < 1 or h < 1 for w, h in value):
            raise ValueError(f"sizes are [width, height] in pixels, each at least 1; got {value}")
        return value


IMAGE_FORMATS = ("image_folder", "raw_folder")


class ImageFolderPointer(Document):
    """An image dataset by content: `uri` a folder of `<label>/<file>` (PNG/JPG for
    `image_folder`, DNG for `raw_folder`), `sha256` the digest of every file's relative
    path and bytes (`adapters.imagefolder.folder_digest`)."""

    uri: str = Field(min_length=1)
    format: Literal["image_folder", "raw_folder"]
    sha256: Sha256
    contract: ImageContract
    description: str = ""
