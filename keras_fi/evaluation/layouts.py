"""Readers for the on-disk layouts of frame-interpolation benchmark sets.

Why: every published set ships its triplets in its own folder layout. Reading them all into one list
of :class:`Triplet` (paths to the first frame, the true middle frame and the last frame) lets one
evaluation loop score any of them, and lets ``layout="auto"`` pick the reader from the folder.

Layouts (see ``docs/DESIGN.md`` section 5):

- ``triplets``: this repository's ``<seq>/{frame0.png, gt.png, frame1.png}``.
- ``middlebury``: ``other-data/<Seq>/frame10.png, frame11.png`` + ``other-gt-interp/<Seq>/frame10i11.png``.
- ``ucf101``: UCF101 as released with DVF, ``<id>/{frame_00.png, frame_01_gt.png, frame_02.png}``.
- ``vimeo90k``: ``sequences/<a>/<b>/{im1, im2, im3}.png`` listed in ``tri_testlist.txt`` (im2 is the truth).
- ``vimeo90k_septuplets``: ``sequences/<a>/<b>/im1.png ... im7.png`` listed in ``sep_testlist.txt``;
  the two-frame protocol predicts ``im4`` from ``im3`` and ``im5``.
- ``davis``: folders of numbered frames (``JPEGImages/480p/<seq>/00000.jpg`` ...); the triplets are
  frames ``(i, i + 1, i + 2)`` for even ``i``, the odd frames being the truth.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from keras_fi.errors import InputError

LAYOUTS = ("triplets", "middlebury", "ucf101", "vimeo90k", "vimeo90k_septuplets", "davis")

_TRIPLET_NAMES = ("frame0.png", "gt.png", "frame1.png")
_UCF_NAMES = ("frame_00.png", "frame_01_gt.png", "frame_02.png")
_MIDDLEBURY_INPUTS = ("frame10.png", "frame11.png")
_MIDDLEBURY_GT = "frame10i11.png"
_VIMEO_NAMES = ("im1.png", "im2.png", "im3.png")
# Two-frame protocol on septuplets: im3, im5 -> im4.
_SEPTUPLET_NAMES = ("im3.png", "im4.png", "im5.png")
_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_MIN_SIDE = 11  # the SSIM window


@dataclasses.dataclass(frozen=True)
class Triplet:
    """One test case: two input frames and the true frame halfway between them.

    Args:
        name: unique name of the case in its set (``"Beanbags"``, ``"00001/0389"``, ``"bear/00003"``).
        frame0: path of the first input frame.
        gt: path of the true middle frame.
        frame1: path of the second input frame.
        group: the sequence (video) the case comes from; equals ``name`` except for ``davis``.
        context: ``(frame_prev, frame_next)``, the frames one input spacing before ``frame0`` and
            after ``frame1``, where the layout has them (Vimeo-90K septuplets: ``im1`` and ``im7``,
            the multi-frame protocol); ``None`` otherwise.

    Example:
        >>> t = Triplet("a", Path("a/frame0.png"), Path("a/gt.png"), Path("a/frame1.png"))
        >>> t.group
        'a'
    """

    name: str
    frame0: Path
    gt: Path
    frame1: Path
    group: str = ""
    context: tuple[Path, Path] | None = None

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.name)


def natural_key(text: str) -> list:
    """Sort key that orders ``"2"`` before ``"10"`` (names of numbered sequences and frames)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _subdirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))


def _named_triplets(path: Path, names: tuple[str, str, str], layout: str) -> list[Triplet]:
    """Triplets from the subfolders of ``path`` (or ``path`` itself) holding three named files."""
    folders = [path] if any((path / n).is_file() for n in names) else _subdirs(path)
    triplets = []
    for folder in folders:
        present = [(folder / n).is_file() for n in names]
        if not any(present):
            continue  # an unrelated folder (results, licences): not a case of this set
        if not all(present):
            missing = names[present.index(False)]
            raise InputError(
                f"{folder}: incomplete triplet ({layout} layout), {missing} is missing "
                f"(each sequence needs {', '.join(names)})"
            )
        name = folder.name if folder != path else path.resolve().name
        triplets.append(Triplet(name, *(folder / n for n in names)))
    return triplets


def read_triplets_layout(path: Path) -> list[Triplet]:
    """This repository's ``<seq>/{frame0.png, gt.png, frame1.png}`` (or one such folder)."""
    return _named_triplets(path, _TRIPLET_NAMES, "triplets")


def read_ucf101(path: Path) -> list[Triplet]:
    """UCF101 as released with DVF: ``<id>/{frame_00.png, frame_01_gt.png, frame_02.png}``."""
    return _named_triplets(path, _UCF_NAMES, "ucf101")


def read_middlebury(path: Path) -> list[Triplet]:
    """Middlebury ``other-data/<Seq>/frame10.png, frame11.png`` + ``other-gt-interp/<Seq>/frame10i11.png``."""
    data, gt_root = path / "other-data", path / "other-gt-interp"
    for folder in (data, gt_root):
        if not folder.is_dir():
            raise InputError(f"{path}: not a Middlebury folder, {folder.name}/ is missing")
    triplets = []
    for seq in _subdirs(gt_root):
        gt = seq / _MIDDLEBURY_GT
        if not gt.is_file():
            continue
        inputs = [data / seq.name / n for n in _MIDDLEBURY_INPUTS]
        for p in inputs:
            if not p.is_file():
                raise InputError(f"{p}: missing (Middlebury sequence {seq.name} has ground truth)")
        triplets.append(Triplet(seq.name, inputs[0], gt, inputs[1]))
    return triplets


def read_vimeo90k(path: Path) -> list[Triplet]:
    """Vimeo-90K triplets: ``sequences/<a>/<b>/{im1,im2,im3}.png`` listed in ``tri_testlist.txt``."""
    return _read_vimeo_list(path, "tri_testlist.txt", _VIMEO_NAMES)


def read_vimeo90k_septuplets(path: Path) -> list[Triplet]:
    """Vimeo-90K septuplets, two-frame protocol: ``sequences/<a>/<b>/im1.png ... im7.png`` listed
    in ``sep_testlist.txt``; each case predicts ``im4`` from ``im3`` and ``im5``."""
    triplets = _read_vimeo_list(path, "sep_testlist.txt", _SEPTUPLET_NAMES)
    with_context = []
    for triplet in triplets:
        folder = triplet.gt.parent
        context = (folder / "im1.png", folder / "im7.png")
        for p in context:
            if not p.is_file():
                raise InputError(f"{p}: missing (a septuplet has im1.png ... im7.png)")
        with_context.append(dataclasses.replace(triplet, context=context))
    return with_context


def _read_vimeo_list(path: Path, list_name: str, names: tuple[str, str, str]) -> list[Triplet]:
    listing = path / list_name
    if not listing.is_file():
        raise InputError(f"{path}: not a Vimeo-90K folder, {list_name} is missing")
    try:
        lines = listing.read_text().split()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{listing}: cannot read the list ({error})") from None
    triplets = []
    for entry in lines:
        entry = entry.strip().strip("/")
        folder = path / "sequences" / entry
        files = [folder / n for n in names]
        for p in files:
            if not p.is_file():
                raise InputError(f"{p}: missing (listed in {listing.name} as {entry})")
        triplets.append(Triplet(entry, *files))
    return triplets


def _numbered_frames(folder: Path) -> list[Path]:
    """The frames of ``folder`` named ``<prefix><number>.<ext>`` in number order.

    Files are grouped by prefix and extension; the largest group is the video (so ``00000.jpg`` ...
    or ``frame_001.png`` ... but not unrelated files that merely contain digits).
    """
    groups: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for p in folder.iterdir():
        match = re.fullmatch(r"(.*?)(\d+)", p.stem)
        if match and p.suffix.lower() in _FRAME_SUFFIXES and p.is_file():
            key = (match.group(1), p.suffix.lower())
            groups.setdefault(key, []).append((int(match.group(2)), p))
    if not groups:
        return []
    frames = max(groups.values(), key=len)
    return [p for _, p in sorted(frames, key=lambda item: (item[0], item[1].name))]


def _davis_root(path: Path) -> Path:
    """The folder whose subfolders are sequences: ``JPEGImages/480p`` (else Full-Resolution)."""
    images = path / "JPEGImages"
    if not images.is_dir():
        return path
    for resolution in ("480p", "Full-Resolution"):
        if (images / resolution).is_dir():
            return images / resolution
    return images


def read_davis(path: Path) -> list[Triplet]:
    """Folders of numbered frames; triplets ``(i, i+1, i+2)`` for even ``i`` (odd frames are truth)."""
    root = _davis_root(path)
    folders = [root] if _numbered_frames(root) else _subdirs(root)
    triplets = []
    for folder in folders:
        frames = _numbered_frames(folder)
        seq = folder.resolve().name
        for i in range(0, len(frames) - 2, 2):
            gt = frames[i + 1]
            triplets.append(Triplet(f"{seq}/{gt.stem}", frames[i], gt, frames[i + 2], group=seq))
    return triplets


READERS: dict[str, Callable[[Path], list[Triplet]]] = {
    "triplets": read_triplets_layout,
    "middlebury": read_middlebury,
    "ucf101": read_ucf101,
    "vimeo90k": read_vimeo90k,
    "vimeo90k_septuplets": read_vimeo90k_septuplets,
    "davis": read_davis,
}


def _has_named(path: Path, names: tuple[str, ...]) -> bool:
    if all((path / n).is_file() for n in names):
        return True
    return any(all((d / n).is_file() for n in names) for d in _subdirs(path))


def _has_numbered(path: Path) -> bool:
    if len(_numbered_frames(path)) >= 3:
        return True
    return any(len(_numbered_frames(d)) >= 3 for d in _subdirs(path))


def detect_layout(path: str | os.PathLike) -> str:
    """Name the layout of the set at ``path`` (one of :data:`LAYOUTS`).

    Why: ``keras-fi evaluate PATH`` should work on any published set without a flag.

    Args:
        path: folder of one set.

    Returns:
        The layout name.

    Raises:
        InputError: ``path`` is not a folder, or no layout fits it.

    Example:
        >>> detect_layout("middlebury_other")  # doctest: +SKIP
        'triplets'
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (pass the folder of one evaluation set)")
    if (path / "other-data").is_dir() and (path / "other-gt-interp").is_dir():
        return "middlebury"
    parent = path.resolve().parent
    if (
        path.resolve().name in ("other-data", "other-gt-interp")
        and (parent / "other-gt-interp").is_dir()
    ):
        raise InputError(f"{path}: part of a Middlebury folder; pass its parent {parent}")
    if path.resolve().name == "sequences" and any(
        (parent / name).is_file() for name in ("tri_testlist.txt", "sep_testlist.txt")
    ):
        raise InputError(f"{path}: part of a Vimeo-90K folder; pass its parent {parent}")
    if (path / "tri_testlist.txt").is_file() and (path / "sequences").is_dir():
        return "vimeo90k"
    if (path / "sep_testlist.txt").is_file() and (path / "sequences").is_dir():
        return "vimeo90k_septuplets"
    if (path / "JPEGImages").is_dir():
        return "davis"
    if _has_named(path, _TRIPLET_NAMES):
        return "triplets"
    if _has_named(path, _UCF_NAMES):
        return "ucf101"
    if _has_numbered(path):
        return "davis"
    sets = []
    for sub in _subdirs(path):
        try:
            detect_layout(sub)
        except InputError:
            continue
        sets.append(sub.name)
    if sets:
        shown = ", ".join(sets[:5]) + (", ..." if len(sets) > 5 else "")
        raise InputError(f"{path}: holds several evaluation sets ({shown}); pass one of them")
    raise InputError(
        f"{path}: no recognisable layout (expected <seq>/frame0.png,gt.png,frame1.png; "
        "Middlebury other-data/ + other-gt-interp/; UCF101 <id>/frame_00.png,frame_01_gt.png,"
        "frame_02.png; Vimeo-90K sequences/ + tri_testlist.txt or sep_testlist.txt; or folders of numbered frames)"
    )


def read_set(path: str | os.PathLike, layout: str = "auto") -> tuple[str, list[Triplet]]:
    """List the triplets of the set at ``path``.

    Why: one entry point for every layout, so the evaluation loop does not care where a set came from.

    Args:
        path: folder of one set.
        layout: ``"auto"`` or one of :data:`LAYOUTS`.

    Returns:
        ``(layout, triplets)`` with the triplets in natural order of their names.

    Raises:
        InputError: unknown layout, no triplets, or an incomplete triplet.

    Example:
        >>> layout, triplets = read_set("ucf101_triplets")  # doctest: +SKIP
        >>> layout, len(triplets)  # doctest: +SKIP
        ('triplets', 21)
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (pass the folder of one evaluation set)")
    if layout == "auto":
        layout = detect_layout(path)
    if layout not in READERS:
        raise InputError(f"unknown layout {layout!r}: use auto or one of {', '.join(LAYOUTS)}")
    triplets = READERS[layout](path)
    if not triplets:
        raise InputError(f"{path}: no triplets found for layout {layout}")
    return layout, triplets


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image from its header; InputError if it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise InputError(f"{path}: cannot read image ({error})") from None


def check_triplet(triplet: Triplet) -> tuple[int, int]:
    """Check from the headers that the three images of a triplet are readable and of one size.

    Returns:
        ``(width, height)`` of the triplet.
    """
    sizes = [image_size(p) for p in (triplet.frame0, triplet.gt, triplet.frame1)]
    for p, size in zip((triplet.gt, triplet.frame1), sizes[1:]):
        if size != sizes[0]:
            raise InputError(
                f"{p}: is {size[0]}x{size[1]} but {triplet.frame0.name} is "
                f"{sizes[0][0]}x{sizes[0][1]} (triplet {triplet.name}: all three must match)"
            )
    width, height = sizes[0]
    if min(width, height) < _MIN_SIDE:
        raise InputError(
            f"{triplet.frame0}: {width}x{height} is too small (SSIM needs at least "
            f"{_MIN_SIDE}x{_MIN_SIDE})"
        )
    return sizes[0]


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an 8-bit image as a uint8 ``(H, W, 3)`` RGB array.

    Why: the published tables score 8-bit RGB; grey, palette and RGBA images are converted, images
    of more than 8 bits per channel are refused rather than silently rescaled.

    Raises:
        InputError: the file is missing, not an image, truncated, or not 8-bit.

    Example:
        >>> load_image("frame0.png").shape  # doctest: +SKIP
        (480, 640, 3)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "YCbCr", "1"):
                raise InputError(
                    f"{path}: image mode {image.mode} is not 8-bit RGB or grey "
                    "(convert it to 8-bit PNG)"
                )
            array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except InputError:
        raise
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise InputError(f"{path}: cannot read image ({error})") from None
    return array


def load_context(triplet: Triplet) -> tuple[np.ndarray, np.ndarray] | None:
    """Read ``(frame_prev, frame_next)`` as uint8 RGB arrays, or ``None`` without context."""
    if triplet.context is None:
        return None
    frames = tuple(load_image(p) for p in triplet.context)
    reference = load_image(triplet.frame0)
    for p, array in zip(triplet.context, frames):
        if array.shape != reference.shape:
            raise InputError(
                f"{p}: is {array.shape[1]}x{array.shape[0]} but {triplet.frame0.name} is "
                f"{reference.shape[1]}x{reference.shape[0]} (case {triplet.name})"
            )
    return frames


def load_triplet(triplet: Triplet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``(frame0, gt, frame1)`` as uint8 RGB arrays, checking they have one size."""
    frame0, gt, frame1 = (load_image(p) for p in (triplet.frame0, triplet.gt, triplet.frame1))
    for p, array in ((triplet.gt, gt), (triplet.frame1, frame1)):
        if array.shape != frame0.shape:
            raise InputError(
                f"{p}: is {array.shape[1]}x{array.shape[0]} but {triplet.frame0.name} is "
                f"{frame0.shape[1]}x{frame0.shape[0]} (triplet {triplet.name}: all three must match)"
            )
    return frame0, gt, frame1
