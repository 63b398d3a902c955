"""Real photographs shipped inside installable packages (never generated shapes).

Install them with ``pip install -e '.[bench]'``. Each entry is (distribution, path in
the installed package, name); a package that is not installed is skipped and the
benchmark says how many photos it found. Near-duplicates are left out (scikit-image's
``motorcycle_right`` is the other half of a stereo pair; pygame's other camera_*.jpg
are filtered copies of camera_rgb.jpg).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

SOURCES: tuple[tuple[str, str, str], ...] = (
    *(("skimage", f"data/{f}", f.split(".")[0]) for f in (
        "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
        "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
        "hubble_deep_field.jpg", "ihc.png", "moon.png", "motorcycle_left.png", "page.png",
        "retina.jpg", "rocket.jpg", "text.png")),
    ("sklearn", "datasets/images/china.jpg", "china"),
    ("sklearn", "datasets/images/flower.jpg", "flower"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "grace_hopper"),
    ("pywt", "data/aero.npz", "aero"),
    ("pywt", "data/ascent.npz", "ascent"),
    ("mahotas", "demos/data/luispedro.jpg", "luispedro"),
    ("mahotas", "demos/data/nuclear.png", "nuclear"),
    ("pygame", "examples/data/fist.png", "fist"),
    ("pygame", "docs/generated/_images/camera_rgb.jpg", "camera_rgb"),
    ("ultralytics", "assets/bus.jpg", "bus"),
    ("ultralytics", "assets/zidane.jpg", "zidane"),
    ("imgaug", "quokka.jpg", "quokka"),
)


def _package_dir(name: str) -> Path | None:
    """Where a package is installed, without importing it (some import slowly or
    need optional dependencies we do not use)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _load(path: Path) -> Image.Image:
    if path.suffix == ".npz":
        with np.load(path) as data:
            array = data[data.files[0]]
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).convert("RGB")
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        return img.convert("RGB")


def real_photos(max_side: int = 640) -> dict[str, Image.Image]:
    """Every photo found, reduced to at most ``max_side`` pixels a side."""
    out: dict[str, Image.Image] = {}
    for package, rel, name in SOURCES:
        root = _package_dir(package)
        if root is None or not (root / rel).is_file():
            continue
        img = _load(root / rel)
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out[name] = img
    return out
