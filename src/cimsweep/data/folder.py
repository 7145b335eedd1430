"""ImageNet-style folder trees: ``root/train/<class>/<image>`` and optionally
``root/val/<class>/...`` (or ``test/``). Images are decoded with Pillow, converted to RGB,
resized (shorter side) to ``image_size`` and centre-cropped to a square.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp"}
TEST_DIRS = ("val", "test")


def pillow_available() -> bool:
    """True when Pillow can be imported."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def require_pillow() -> None:
    """Raise a clear error when Pillow is missing (the folder reader is then unavailable)."""
    if not pillow_available():
        raise ValueError(
            "the imagefolder reader needs Pillow, which is not installed; install it with "
            "`pip install pillow` or use a data set in an array format"
        )


def class_names(split_dir: Path) -> list[str]:
    """Sorted class folder names of a split directory."""
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(class_dir: Path) -> list[Path]:
    return sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def load_image(path: Path, size: int) -> np.ndarray:
    """One image as (3, size, size) uint8: shorter side resized to ``size``, centre crop."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
        return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


def load_split_dir(split_dir: Path, classes: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, size, size) uint8 and labels (index into ``classes``) of one split."""
    index = {c: i for i, c in enumerate(classes)}
    paths: list[Path] = []
    labels: list[int] = []
    for name in class_names(split_dir):
        if name not in index:
            raise ValueError(
                f"{split_dir}: class folder {name!r} is not among the training classes"
            )
        found = _images(split_dir / name)
        paths += found
        labels += [index[name]] * len(found)
    if not paths:
        raise ValueError(f"{split_dir}: no images ({', '.join(sorted(EXTENSIONS))})")
    x = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        try:
            x[i] = load_image(p, size)
        except OSError as exc:
            raise ValueError(f"{p}: cannot decode image ({exc})") from exc
    return x, np.asarray(labels, dtype=np.int64)


def test_dir(root: Path) -> Path | None:
    """The held-out split directory (``val`` or ``test``), if any."""
    for name in TEST_DIRS:
        if (root / name).is_dir():
            return root / name
    return None


def load_folder(root: Path, size: int) -> tuple[np.ndarray | None, ...]:
    """(x_train, y_train, x_test, y_test); the test pair is None without a val/test folder."""
    require_pillow()
    classes = class_names(root / "train")
    x_tr, y_tr = load_split_dir(root / "train", classes, size)
    held = test_dir(root)
    if held is None:
        return x_tr, y_tr, None, None
    x_te, y_te = load_split_dir(held, classes, size)
    return x_tr, y_tr, x_te, y_te
