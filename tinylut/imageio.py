"""Read and write 8-bit images with Pillow, as the numpy arrays tinylut works on.

What :func:`read_image` returns (always uint8, C-contiguous):

=====================  ==========  ==========================================
file mode (Pillow)     array       note
=====================  ==========  ==========================================
``L``                  H x W       gray stays 2-D
``1`` (bilevel)        H x W       0 / 255
``LA``, ``La``         H x W x 2   gray + alpha
``RGB``                H x W x 3
``RGBA``, ``RGBa``     H x W x 4   (``RGBa``, premultiplied, is un-premultiplied)
``RGBX``               H x W x 3   padding byte dropped
``P``, ``PA``          H x W x 3   palette expanded; x 4 if it has transparency
``CMYK``, ``YCbCr``,   H x W x 3   converted to RGB by Pillow
``LAB``, ``HSV``
=====================  ==========  ==========================================

**16-bit and float images are rejected** (``I;16``, ``I``, ``F`` modes, and 16-bit-per-sample
RGB/RGBA PNG or TIFF that Pillow would otherwise silently reduce to 8 bits): the models work
on 8-bit values, and quietly dropping the low byte would hide a loss of data. Convert such
images to 8 bits yourself first (you decide how: shift, scale, tone-map).

Pixels are returned as stored (metrics need the stored pixels; PNG benchmark images carry no
EXIF), unless ``upright=True``: then an EXIF orientation is applied, so the array is the image
as a viewer shows it (what ``tinylut restore`` does: its output carries no orientation tag, so
it must be upright to look like the input). An unreadable EXIF block counts as no orientation.
Animated files give their first frame.

:func:`write_image` picks the Pillow mode from the array shape (H x W -> ``L``, x1 -> ``L``,
x2 -> ``LA``, x3 -> ``RGB``, x4 -> ``RGBA``) and the format from the file extension.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageError", "read_image", "write_image", "is_image_file", "IMAGE_EXTENSIONS"]

# Extensions a folder scan picks up (case-insensitive); all are formats Pillow reads.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
                    ".pnm", ".pbm", ".gif", ".tga")

_AS_IS = {"L": None, "LA": None, "RGB": None, "RGBA": None}
_CONVERT = {"1": "L", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB",
            "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "PA": "RGBA"}
_HIGH_DEPTH_MODES = ("I", "F")          # and every "I;16..." mode
_MODE_OF_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class ImageError(ValueError):
    """An image that cannot be read or written (the message names the file)."""


def is_image_file(path: str | os.PathLike) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def _rawmode(im: Image.Image) -> str:
    """The decoder's raw mode (e.g. ``RGB;16B`` for a 16-bit PNG), '' if unknown."""
    try:
        args = im.tile[0][3] if im.tile else None
    except (IndexError, TypeError, AttributeError):
        return ""
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else ""


def _has_transparency(im: Image.Image) -> bool:
    if "transparency" in im.info:
        return True
    pal = getattr(im, "palette", None)
    return pal is not None and getattr(pal, "mode", "") == "RGBA"


def _to_8bit_mode(im: Image.Image, where: str) -> Image.Image:
    mode = im.mode
    raw = _rawmode(im)
    if mode.startswith("I;16") or ";16" in raw:
        raise ImageError(f"{where}: 16-bit images are not supported (mode {mode}, "
                         f"{raw or mode}); convert it to 8 bits first")
    if mode in _HIGH_DEPTH_MODES:
        raise ImageError(f"{where}: {'32-bit integer' if mode == 'I' else 'floating-point'} "
                         f"images are not supported (mode {mode}); convert it to 8 bits first")
    if mode in _AS_IS:
        return im
    if mode == "P":
        return im.convert("RGBA" if _has_transparency(im) else "RGB")
    if mode in _CONVERT:
        return im.convert(_CONVERT[mode])
    raise ImageError(f"{where}: unsupported image mode {mode!r}")


def _upright(im: Image.Image) -> Image.Image:
    """``im`` turned as its EXIF orientation says (unchanged without a valid one)."""
    try:
        with warnings.catch_warnings():   # "Corrupt EXIF data": the answer is the same
            warnings.simplefilter("ignore")
            orientation = im.getexif().get(0x0112, 1)
    except Exception:   # Pillow's EXIF parser raises many kinds on corrupt data: ignore it
        return im
    if orientation not in range(2, 9):
        return im
    return ImageOps.exif_transpose(im)


def read_image(path: str | os.PathLike, upright: bool = False) -> np.ndarray:
    """Read an 8-bit image as uint8 HxW (gray), HxWx2 (gray+alpha), HxWx3 or HxWx4; with
    ``upright``, turned by its EXIF orientation (see the module's note)."""
    where = os.fspath(path)
    if not os.path.exists(where):
        raise ImageError(f"{where}: no such file")
    if os.path.isdir(where):
        raise ImageError(f"{where}: is a folder, not an image")
    try:
        with Image.open(where) as im:
            im = _to_8bit_mode(im, where)
            im.load()
            if upright:
                im = _upright(im)
            arr = np.array(im, dtype=np.uint8)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{where}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"{where}: {e}") from None
    except (OSError, ValueError, SyntaxError) as e:  # truncated / corrupt data
        raise ImageError(f"{where}: cannot decode image ({e})") from None
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ImageError(f"{where}: unexpected image shape {arr.shape}")
    return np.ascontiguousarray(arr)


def write_image(path: str | os.PathLike, img: np.ndarray, **save_args) -> None:
    """Write a uint8 image; the format comes from the extension (PNG is lossless)."""
    where = os.fspath(path)
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise ImageError(f"{where}: expected a uint8 image, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    channels = 1 if a.ndim == 2 else (a.shape[2] if a.ndim == 3 else 0)
    if channels not in _MODE_OF_CHANNELS:
        raise ImageError(f"{where}: cannot write an image of shape {a.shape}")
    ext = os.path.splitext(where)[1].lower()
    if ext not in Image.registered_extensions():
        raise ImageError(f"{where}: unknown image format {ext or '(no extension)'!r}")
    im = Image.fromarray(np.ascontiguousarray(a))
    if im.mode != _MODE_OF_CHANNELS[channels]:
        im = im.convert(_MODE_OF_CHANNELS[channels])
    # Write next to the target and rename: a failed write (e.g. alpha into JPEG) leaves no
    # half-written file behind.
    tmp = f"{where}.tmp{os.getpid()}"
    try:
        im.save(tmp, format=Image.registered_extensions()[ext], **save_args)
        os.replace(tmp, where)
    except (OSError, ValueError, KeyError) as e:
        raise ImageError(f"{where}: cannot write image ({e})") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
