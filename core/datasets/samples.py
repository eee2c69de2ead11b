"""The lab's own sample images, drawn here (no download) and kept in assets/images/.

Each picture makes every transform visible: strong colours (colour jitter, hue),
an obvious up and left-right (flips, rotation: the sun is top left, text reads left
to right), fine texture (blur, sharpness, noise) and straight lines (perspective,
shear, elastic). The digits are for the label-breaking lesson: flipped vertically a 6
looks like a 9.

``python -m core.datasets.samples`` rewrites the PNGs; a test checks the committed files
still match what the code draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assets import images_dir

__all__ = ["SAMPLES", "IMAGES_DIR", "make_sample", "load_sample", "sample_names", "digit_image", "write_assets", "load_image_file"]

IMAGES_DIR = images_dir()
SIZE = 256
DIGIT_SIZE = 48
MAX_SIDE = 1024  # larger images are scaled down (with a note) so that a grid stays fast


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _vertical_gradient(h: int, w: int, top, bottom) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    col = (1 - t) * np.asarray(top, float) + t * np.asarray(bottom, float)
    return np.broadcast_to(col, (h, w, 3)).astype(np.uint8)


def _scene() -> np.ndarray:
    """A house under a sky: sun top left, a tree on the right, a sign with text."""
    from PIL import Image, ImageDraw

    img = np.empty((SIZE, SIZE, 3), np.uint8)
    horizon = 170
    img[:horizon] = _vertical_gradient(horizon, SIZE, (40, 110, 220), (170, 215, 255))
    yy, xx = np.mgrid[0 : SIZE - horizon, 0:SIZE]
    grass = np.stack([40 + 20 * ((xx // 4 + yy // 3) % 2), 150 + 40 * np.sin(xx / 5.0) * np.cos(yy / 3.0), 50 + 0 * xx], -1)
    img[horizon:] = np.clip(grass, 0, 255).astype(np.uint8)
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    d.ellipse((18, 14, 68, 64), fill=(255, 214, 40), outline=(255, 150, 0), width=3)
    d.rectangle((70, 100, 170, 185), fill=(200, 60, 50), outline=(90, 20, 20), width=2)
    for y in range(104, 185, 8):  # brick rows: fine texture that blur and sharpness change
        d.line((70, y, 170, y), fill=(150, 40, 35), width=1)
    d.polygon([(60, 102), (120, 50), (180, 102)], fill=(90, 60, 140))
    d.rectangle((108, 140, 132, 185), fill=(110, 70, 30))
    d.rectangle((80, 115, 100, 135), fill=(250, 250, 200), outline=(60, 60, 60))
    d.rectangle((140, 115, 160, 135), fill=(250, 250, 200), outline=(60, 60, 60))
    d.rectangle((204, 120, 214, 190), fill=(100, 60, 20))
    d.ellipse((180, 70, 240, 135), fill=(20, 120, 40), outline=(10, 80, 20), width=2)
    d.rectangle((12, 196, 116, 236), fill=(255, 255, 255), outline=(0, 0, 0), width=2)
    d.text((20, 203), "TOP", fill=(0, 0, 0), font=_font(24))
    d.polygon([(96, 202), (108, 216), (100, 216), (100, 232), (92, 232), (92, 216), (84, 216)], fill=(0, 0, 0))  # ↑
    d.line((160, 250, 250, 196), fill=(250, 240, 90), width=4)
    return np.asarray(im)


def _shapes() -> np.ndarray:
    """Coloured shapes on a checkerboard: an arrow pointing right, an F, a star, rings."""
    from PIL import Image, ImageDraw

    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    checker = ((xx // 16 + yy // 16) % 2).astype(float)
    base = np.stack([230 - 30 * checker, 230 - 30 * checker, 240 - 10 * checker], -1)
    im = Image.fromarray(base.astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.polygon([(20, 40), (90, 40), (90, 20), (130, 60), (90, 100), (90, 80), (20, 80)], fill=(230, 30, 40))
    d.rectangle((160, 20, 178, 110), fill=(20, 90, 220))  # the letter F
    d.rectangle((160, 20, 230, 38), fill=(20, 90, 220))
    d.rectangle((160, 56, 212, 72), fill=(20, 90, 220))
    star = [(60 + 45 * np.cos(a) * (1 if k % 2 == 0 else 0.45), 185 + 45 * np.sin(a) * (1 if k % 2 == 0 else 0.45))
            for k, a in enumerate(np.linspace(-np.pi / 2, 1.5 * np.pi, 10, endpoint=False))]
    d.polygon(star, fill=(250, 190, 0), outline=(160, 100, 0))
    for r, col in zip((50, 38, 26, 14), ((0, 160, 120), (240, 240, 240), (200, 0, 160), (20, 20, 20))):
        d.ellipse((185 - r, 185 - r, 185 + r, 185 + r), fill=col)
    return np.asarray(im)


def _text_card() -> np.ndarray:
    """Words on a rainbow gradient: mirrored text is obvious, hue shifts are obvious."""
    from PIL import Image, ImageDraw

    xx = np.linspace(0, 1, SIZE)[None, :]
    yy = np.linspace(0, 1, SIZE)[:, None]
    hue = (xx + 0.25 * yy) % 1.0
    rgb = np.stack([np.clip(np.abs(hue * 6 - 3) - 1, 0, 1), np.clip(2 - np.abs(hue * 6 - 2), 0, 1), np.clip(2 - np.abs(hue * 6 - 4), 0, 1)], -1)
    im = Image.fromarray((rgb * 200 + 40).astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.rectangle((16, 60, 240, 196), fill=(255, 255, 255), outline=(0, 0, 0), width=3)
    d.text((30, 72), "Augment", fill=(0, 0, 0), font=_font(40))
    d.text((30, 130), "me! 6 9", fill=(200, 0, 0), font=_font(40))
    return np.asarray(im)


def digit_image(digit: int, size: int = DIGIT_SIZE) -> np.ndarray:
    """A white digit on black, like MNIST, size × size RGB."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), (0, 0, 0))
    d = ImageDraw.Draw(im)
    font = _font(int(size * 0.8))
    text = str(int(digit))
    x0, y0, x1, y1 = d.textbbox((0, 0), text, font=font)
    d.text(((size - (x1 - x0)) / 2 - x0, (size - (y1 - y0)) / 2 - y0), text, fill=(255, 255, 255), font=font)
    return np.asarray(im)


SAMPLES = {
    "scene": _scene,
    "shapes": _shapes,
    "text": _text_card,
    "digit 6": lambda: digit_image(6),
    "digit 9": lambda: digit_image(9),
}


def sample_names() -> list[str]:
    return list(SAMPLES)


def make_sample(name: str) -> np.ndarray:
    if name not in SAMPLES:
        raise ValueError(f"No sample image {name!r}; choose one of {', '.join(SAMPLES)}")
    return np.ascontiguousarray(SAMPLES[name]())


def _file_name(name: str) -> str:
    return name.replace(" ", "_") + ".png"


def load_sample(name: str) -> np.ndarray:
    """The committed PNG when present (fast, the same everywhere), else drawn now."""
    path = IMAGES_DIR / _file_name(name)
    if path.exists():
        return load_image_file(path)[0]
    return make_sample(name)


def write_assets(folder: Path = IMAGES_DIR) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SAMPLES:
        path = folder / _file_name(name)
        Image.fromarray(make_sample(name)).save(path, optimize=True)
        paths.append(path)
    return paths


def load_image_file(path: str | Path, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str]:
    """Any image file as RGB uint8 (H, W, 3), and a note for the student ("" if none).

    Grayscale and palette images become RGB, transparency is put on white, images larger
    than ``max_side`` are scaled down. Anything that is not a readable image raises
    ValueError with a message to show.
    """
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    notes = []
    try:
        with warnings.catch_warnings():
            # Huge images trip Pillow's decompression-bomb warning; we scale them down instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                full_w, full_h = im.size
                im.draft("RGB", (max_side, max_side))  # JPEGs decode at a reduced size directly
                im = ImageOps.exif_transpose(im)
                mode = im.mode
                if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(white, rgba)
                    notes.append("transparent parts shown on white")
                elif mode in ("L", "I", "I;16", "F", "1"):
                    notes.append("grayscale image: copied into R, G and B")
                    if mode in ("I", "I;16", "F"):
                        arr = np.asarray(im, np.float64)
                        span = max(arr.max() - arr.min(), 1e-12)
                        im = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8))
                im = im.convert("RGB")
                w, h = im.size
                if max(w, h) > max_side:
                    scale = max_side / max(w, h)
                    im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
                if im.size != (full_w, full_h) and max(full_w, full_h) > max_side:
                    notes.append(f"scaled down from {full_w}×{full_h} to {im.size[0]}×{im.size[1]}")
                arr = np.asarray(im, np.uint8).copy()
    except FileNotFoundError:
        raise ValueError(f"{path.name} does not exist") from None
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ValueError(f"{path.name} is too large to open safely ({exc})") from None
        raise ValueError(f"{path.name} is not an image this lab can read (PNG, JPEG, BMP, WebP)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{path.name} could not be read as an image: {exc}") from None
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise ValueError(f"{path.name} is only {arr.shape[1]}×{arr.shape[0]} pixels; use an image of at least 8×8")
    return arr, "; ".join(notes)


if __name__ == "__main__":
    for p in write_assets():
        print(p, p.stat().st_size, "bytes")
