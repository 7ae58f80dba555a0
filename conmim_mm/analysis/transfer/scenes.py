"""Digit scenes for dense tasks, composed from a transfer benchmark's split
digits: each part's scenes use that part's digits only, so test scenes hold
only test digits, which no pre-training sees.

A scene (:class:`SceneRules`, defaults in brackets) is a black square canvas
[64 x 64] with [2-4] digits, drawn without replacement from the part. Each
digit is rescaled to a square of a random side [20-36 px] at a random
position fully inside the canvas. Its *box* is the tight box of its pixels
with ink >= the threshold [128 of 255]; a new digit's box may overlap every
earlier box by at most a share [20 %] of the smaller box's area. A digit
that does not fit gets a new side and position, up to [100] tries in all,
and is left out if none fits (the first digit always fits). Digits are
composited by the per-pixel max of their ink; a pixel belongs to the digit
whose ink is highest there (ties: the later digit).

Labels, where the composited ink is >= the threshold (elsewhere is
background):

- semantic maps: the pixel's digit class 0-9, background 10
  (:data:`SEG_CLASSES`; mmseg with ``reduce_zero_label=False``, 255 unused);
- COCO instances: one per digit with a non-empty *visible mask* (its own
  pixels above), categories ``1``-``10`` named ``'0'``-``'9'``
  (:data:`DET_CLASSES` as mmdet's ``metainfo=dict(classes=...)``: label =
  digit), the box the tight box of the visible mask, the mask as
  uncompressed RLE. A digit whose visible mask is empty (its ink all taken
  by others) has no instance; it is still listed in its image's
  ``sources``.

Scene ``i`` of a part depends only on the seed, the part and ``i``: the
first ``n`` scenes are the same whatever the number drawn, so smaller scene
budgets are prefixes of larger ones.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .data import BenchmarkData

#: The parts of a benchmark; a part's position seeds its scenes.
PARTS = ('train', 'val', 'test')
#: The semantic maps' classes: digits 0-9, then the background.
SEG_CLASSES = tuple(str(digit) for digit in range(10)) + ('background', )
#: The semantic maps' background value.
BACKGROUND = 10
#: The COCO categories' names, in id order (ids 1-10).
DET_CLASSES = tuple(str(digit) for digit in range(10))
#: Changes when the same spec would give other files.
SPEC_VERSION = 1
#: ``(x0, y0, x1, y1)`` in pixels, ``x1`` and ``y1`` excluded.
Box = Tuple[int, int, int, int]


@dataclass(frozen=True)
class SceneRules:
    """How scenes are laid out.

    Args:
        size (int): The canvas side (px). Defaults to 64.
        digits (tuple[int, int]): Fewest and most digits drawn per scene.
            Defaults to (2, 4).
        sides (tuple[int, int]): Smallest and largest side (px) of a
            rescaled digit. Defaults to (20, 36).
        max_overlap (float): The most a digit's box may overlap an earlier
            one, as a share of the smaller box's area. Defaults to 0.2.
        tries (int): Sides and positions tried per digit. Defaults to 100.
        threshold (int): Ink (0-255) from which a pixel is a digit's.
            Defaults to 128.
    """

    size: int = 64
    digits: Tuple[int, int] = (2, 4)
    sides: Tuple[int, int] = (20, 36)
    max_overlap: float = 0.2
    tries: int = 100
    threshold: int = 128


@dataclass
class SceneDigit:
    """A digit pasted into a scene.

    Args:
        source (str): Its sample's path, relative to the data root.
        label (int): Its class.
        box (Box): The tight box of its ink >= threshold in the scene (the
            box of the overlap rule).
        mask (np.ndarray): Its visible mask: the scene's pixels that are
            its (bool, the scene's shape).
    """

    source: str
    label: int
    box: Box
    mask: np.ndarray


@dataclass
class Scene:
    """A composed scene.

    Args:
        image (np.ndarray): The grey canvas (uint8).
        semantic (np.ndarray): Its semantic map (uint8, digit class or
            :data:`BACKGROUND`).
        digits (list[SceneDigit]): The pasted digits, in pasting order.
    """

    image: np.ndarray
    semantic: np.ndarray
    digits: List[SceneDigit]

    @property
    def instances(self) -> List[SceneDigit]:
        """The digits with a non-empty visible mask."""
        return [digit for digit in self.digits if digit.mask.any()]


@dataclass
class SceneFolder:
    """The files of :func:`write_scenes`.

    Args:
        root (str): The folder.
        num_scenes (dict): Part -> number of scenes written.
    """

    root: str
    num_scenes: Dict[str, int]

    def img_dir(self, part: str) -> str:
        """The folder of a part's images (``<index:05d>.png``, RGB)."""
        return osp.join(self.root, 'img_dir', part)

    def ann_dir(self, part: str) -> str:
        """The folder of a part's semantic maps (same names, grey)."""
        return osp.join(self.root, 'ann_dir', part)

    def ann_file(self, part: str) -> str:
        """A part's COCO json (image ``file_name`` relative to
        :meth:`img_dir`)."""
        return osp.join(self.root, 'annotations', f'instances_{part}.json')


def ink_box(mask: np.ndarray) -> Box:
    """The tight box of a mask.

    Args:
        mask (np.ndarray): A 2-D bool array.

    Returns:
        Box: Its box; ``(0, 0, 0, 0)`` for an empty mask.
    """
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return (0, 0, 0, 0)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1,
            int(ys.max()) + 1)


def overlap(box: Box, other: Box) -> float:
    """The area two boxes share, as a share of the smaller one's area.

    Args:
        box (Box): A box.
        other (Box): Another box.

    Returns:
        float: In [0, 1]; 0 when either box is empty.
    """
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    smaller = min((b[2] - b[0]) * (b[3] - b[1]) for b in (box, other))
    if width <= 0 or height <= 0 or smaller == 0:
        return 0.0
    return width * height / smaller


def place_digit(digit: np.ndarray, boxes: Sequence[Box],
                rng: np.random.Generator,
                rules: SceneRules) -> Optional[Tuple[int, int, np.ndarray,
                                                     Box]]:
    """Find a side and position for a digit by the overlap rule.

    Args:
        digit (np.ndarray): Its grey uint8 image.
        boxes (Sequence[Box]): The boxes of the digits placed before.
        rng (np.random.Generator): Draws the sides and positions.
        rules (SceneRules): The layout.

    Returns:
        tuple | None: ``(x, y, rescaled digit, box)`` of the first try that
        fits, or None when none of ``rules.tries`` does.
    """
    for _ in range(rules.tries):
        side = int(rng.integers(rules.sides[0], rules.sides[1] + 1))
        x, y = (int(v) for v in rng.integers(0, rules.size - side + 1, 2))
        ink = np.asarray(
            Image.fromarray(digit).resize((side, side), Image.BILINEAR))
        x0, y0, x1, y1 = ink_box(ink >= rules.threshold)
        box = (x0 + x, y0 + y, x1 + x, y1 + y)
        if all(overlap(box, other) <= rules.max_overlap for other in boxes):
            return x, y, ink, box
    return None


def compose_scene(digits: Sequence[Tuple[str, int, np.ndarray]],
                  rng: np.random.Generator,
                  rules: SceneRules = SceneRules()) -> Scene:
    """Place digits on a canvas by the rules (see the module's docstring).

    Args:
        digits (Sequence[tuple]): ``(source, label, grey uint8 image)`` of
            each digit to place, in order.
        rng (np.random.Generator): Draws the sides and positions.
        rules (SceneRules): The layout. Defaults to ``SceneRules()``.

    Returns:
        Scene: The scene, with the digits that fitted.
    """
    image = np.zeros((rules.size, rules.size), np.uint8)
    owner = np.full(image.shape, -1)
    pasted = []
    for source, label, digit in digits:
        placement = place_digit(digit, [box for _, _, box in pasted], rng,
                                rules)
        if placement is None:
            continue
        x, y, ink, box = placement
        window = np.s_[y:y + len(ink), x:x + len(ink)]
        on_top = ink >= image[window]
        image[window][on_top] = ink[on_top]
        owner[window][on_top] = len(pasted)
        pasted.append((source, label, box))
    visible = image >= rules.threshold
    semantic = np.full(image.shape, BACKGROUND, np.uint8)
    placed = []
    for index, (source, label, box) in enumerate(pasted):
        mask = visible & (owner == index)
        semantic[mask] = label
        placed.append(SceneDigit(source, label, box, mask))
    return Scene(image, semantic, placed)


def compose_scenes(data: BenchmarkData,
                   part: str,
                   num_scenes: int,
                   seed: int,
                   rules: SceneRules = SceneRules()) -> List[Scene]:
    """Compose a part's scenes from its digits.

    Scene ``i`` draws its number of digits, the digits (without
    replacement) and their layout from a generator seeded with
    ``(seed, position of part in PARTS, i)``.

    Args:
        data (BenchmarkData): The split digits.
        part (str): ``'train'``, ``'val'`` or ``'test'``.
        num_scenes (int): How many scenes.
        seed (int): The scenes' seed.
        rules (SceneRules): The layout. Defaults to ``SceneRules()``.

    Returns:
        list[Scene]: The scenes, in order.

    Raises:
        ValueError: The part has fewer samples than a scene's most digits.
    """
    samples = data.parts[part]
    if len(samples) < rules.digits[1]:
        raise ValueError(f'part {part} has {len(samples)} samples, fewer '
                         f'than the {rules.digits[1]} digits of a scene')
    images = {}
    scenes = []
    for index in range(num_scenes):
        rng = np.random.default_rng([seed, PARTS.index(part), index])
        count = int(rng.integers(rules.digits[0], rules.digits[1] + 1))
        drawn = [samples[i] for i in rng.choice(len(samples), count, False)]
        for path, _ in drawn:
            if path not in images:
                with Image.open(osp.join(data.root, path)) as file:
                    images[path] = np.asarray(file.convert('L'))
        scenes.append(
            compose_scene([(path, label, images[path])
                           for path, label in drawn], rng, rules))
    return scenes


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE of a mask.

    Args:
        mask (np.ndarray): A 2-D bool array.

    Returns:
        dict: ``size`` ``[height, width]`` and ``counts``: the lengths of
        the runs in column-major order, starting with a (maybe empty) run
        of zeros.
    """
    flat = mask.ravel(order='F')
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat[0]:
        counts.insert(0, 0)
    return dict(size=list(mask.shape), counts=counts)


def coco_json(scenes: Sequence[Scene]) -> dict:
    """The COCO instances of scenes.

    Image ``i`` is ``<i:05d>.png`` with id ``i`` and lists the ``sources``
    of all its pasted digits; instances have ids from 1 (pycocotools'
    matching takes an id 0 for no match), category ``label + 1`` and their
    ``source``.

    Args:
        scenes (Sequence[Scene]): The scenes, in order.

    Returns:
        dict: ``info`` (pycocotools' ``loadRes`` copies it), ``images``,
        ``annotations`` and ``categories``.
    """
    images, annotations = [], []
    for index, scene in enumerate(scenes):
        height, width = scene.image.shape
        images.append(
            dict(id=index, file_name=f'{index:05d}.png', width=width,
                 height=height,
                 sources=[digit.source for digit in scene.digits]))
        for digit in scene.instances:
            x0, y0, x1, y1 = ink_box(digit.mask)
            annotations.append(
                dict(id=len(annotations) + 1, image_id=index,
                     category_id=digit.label + 1,
                     bbox=[x0, y0, x1 - x0, y1 - y0],
                     area=int(digit.mask.sum()), iscrowd=0,
                     segmentation=uncompressed_rle(digit.mask),
                     source=digit.source))
    categories = [
        dict(id=index + 1, name=name) for index, name in enumerate(DET_CLASSES)
    ]
    return dict(info=dict(description=f'{len(scenes)} digit scenes'),
                images=images, annotations=annotations,
                categories=categories)


def scene_spec(data: BenchmarkData, num_scenes: Mapping[str, int],
               seed: int, rules: SceneRules) -> dict:
    """What the files of :func:`write_scenes` depend on, as JSON values.

    Args:
        data (BenchmarkData): The split digits.
        num_scenes (Mapping[str, int]): Part -> number of scenes.
        seed (int): The scenes' seed.
        rules (SceneRules): The layout.

    Returns:
        dict: The version, seed, numbers of scenes, rules, data root and a
        digest of each written part's samples.
    """
    digests = {
        part: hashlib.sha1(''.join(
            f'{path} {label}\n'
            for path, label in data.parts[part]).encode()).hexdigest()
        for part in num_scenes
    }
    return json.loads(
        json.dumps(
            dict(version=SPEC_VERSION, seed=seed, num_scenes=num_scenes,
                 rules=asdict(rules), root=data.root, samples=digests)))


def write_scenes(data: BenchmarkData,
                 out: str,
                 num_scenes: Mapping[str, int],
                 seed: int,
                 rules: SceneRules = SceneRules()) -> SceneFolder:
    """Write the scenes of some parts as files, once.

    ``out`` gets ``img_dir/<part>/<i:05d>.png`` (RGB, the grey canvas
    repeated), ``ann_dir/<part>/<i:05d>.png`` (the semantic maps),
    ``annotations/instances_<part>.json`` (COCO) and, last, ``spec.json``
    (:func:`scene_spec`). When ``spec.json`` holds the same spec, nothing
    is written; otherwise those three subfolders are removed and written
    again.

    mmdet reads the RLE masks with ``LoadAnnotations(poly2mask=True)`` (its
    default); with ``poly2mask=False`` it ignores RLE instances.

    Args:
        data (BenchmarkData): The split digits.
        out (str): The folder.
        num_scenes (Mapping[str, int]): Part -> number of scenes, e.g.
            ``dict(train=1000, val=200, test=500)``.
        seed (int): The scenes' seed.
        rules (SceneRules): The layout. Defaults to ``SceneRules()``.

    Returns:
        SceneFolder: The files.
    """
    folder = SceneFolder(osp.abspath(out), dict(num_scenes))
    spec = scene_spec(data, num_scenes, seed, rules)
    spec_file = osp.join(folder.root, 'spec.json')
    if osp.isfile(spec_file):
        with open(spec_file) as file:
            if json.load(file) == spec:
                return folder
    for name in ('img_dir', 'ann_dir', 'annotations', 'spec.json'):
        path = osp.join(folder.root, name)
        if osp.isdir(path):
            shutil.rmtree(path)
        elif osp.isfile(path):
            os.remove(path)
    os.makedirs(osp.join(folder.root, 'annotations'))
    for part, count in num_scenes.items():
        scenes = compose_scenes(data, part, count, seed, rules)
        os.makedirs(folder.img_dir(part))
        os.makedirs(folder.ann_dir(part))
        for index, scene in enumerate(scenes):
            name = f'{index:05d}.png'
            Image.fromarray(np.repeat(scene.image[..., None], 3, 2)).save(
                osp.join(folder.img_dir(part), name))
            Image.fromarray(scene.semantic).save(
                osp.join(folder.ann_dir(part), name))
        with open(folder.ann_file(part), 'w') as file:
            json.dump(coco_json(scenes), file)
    with open(spec_file, 'w') as file:
        json.dump(spec, file, indent=2)
    return folder
