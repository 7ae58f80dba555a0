"""The picture of the dense tasks: the first scenes of the evaluated split
with their ground truth, and each method's predicted segmentation and
detections (dense.png)."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from .dense_results import DenseResult
from .scenes import BACKGROUND, SceneFolder

#: How many scenes the picture shows (the first of the evaluated split).
PICTURED = 4
#: Detections drawn: at least this score.
MIN_SCORE = 0.3
#: A semantic map row as text: one character per pixel, its class (the
#: digits, then ``a`` for the background).
CLASS_CHARS = '0123456789a'


def encode_map(semantic: np.ndarray) -> List[str]:
    """A semantic map as rows of class characters (:data:`CLASS_CHARS`).

    Args:
        semantic (np.ndarray): (H, W) class indices.

    Returns:
        list[str]: H strings of W characters.
    """
    return [''.join(CLASS_CHARS[v] for v in row) for row in semantic]


def decode_map(rows: Sequence[str]) -> np.ndarray:
    """The inverse of :func:`encode_map`.

    Args:
        rows (Sequence[str]): Rows of class characters.

    Returns:
        np.ndarray: (H, W) uint8 class indices.
    """
    return np.array([[CLASS_CHARS.index(c) for c in row] for row in rows],
                    dtype=np.uint8)


def predict_first_scenes(runner: Runner, cfg: Config, task: str,
                         split: str) -> List[dict]:
    """The trained model's predictions for the first :data:`PICTURED`
    scenes of a split, as JSON values.

    Args:
        runner (Runner): A trained runner.
        cfg (Config): Its config (the split's loader).
        task (str): ``'segment'`` or ``'detect'``.
        split (str): ``'test'`` or ``'val'``.

    Returns:
        list[dict]: Per scene, ``semantic`` (:func:`encode_map`) or
        ``boxes`` (``[x0, y0, x1, y1, label, score]`` of the detections
        scoring at least :data:`MIN_SCORE`).
    """
    loader_cfg = cfg[f'{split}_dataloader'].copy()
    loader_cfg.update(batch_size=PICTURED)
    batch = next(iter(Runner.build_dataloader(loader_cfg)))
    runner.model.eval()
    with torch.no_grad():
        outputs = runner.model.test_step(batch)
    predictions = []
    for sample in outputs[:PICTURED]:
        if task == 'segment':
            semantic = sample.pred_sem_seg.data[0].cpu().numpy()
            predictions.append(dict(semantic=encode_map(semantic)))
            continue
        found = sample.pred_instances
        keep = found.scores >= MIN_SCORE
        predictions.append(dict(boxes=[
            [round(float(v), 1) for v in box] + [int(label),
                                                 round(float(score), 3)]
            for box, label, score in zip(found.bboxes[keep],
                                         found.labels[keep],
                                         found.scores[keep])
        ]))
    return predictions


def _palette() -> np.ndarray:
    """RGB per class: matplotlib's tab10 for the digits, black for the
    background (the segmentation configs' palette)."""
    import matplotlib
    colors = [matplotlib.colormaps['tab10'](d)[:3] for d in range(10)]
    return np.array(colors + [(0., 0., 0.)])


def _ground_truth(scenes: SceneFolder, split: str) -> List[dict]:
    """The first scenes' images, semantic maps and boxes."""
    with open(scenes.ann_file(split)) as file:
        coco = json.load(file)
    truth = []
    for image in coco['images'][:PICTURED]:
        name = image['file_name']
        boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                  a['bbox'][1] + a['bbox'][3], a['category_id'] - 1, 1.]
                 for a in coco['annotations'] if a['image_id'] == image['id']]
        with Image.open(osp.join(scenes.img_dir(split), name)) as img:
            grey = np.asarray(img.convert('L'))
        with Image.open(osp.join(scenes.ann_dir(split), name)) as ann:
            semantic = np.asarray(ann)
        truth.append(dict(image=grey, semantic=semantic, boxes=boxes))
    return truth


def _panel(ax, image: np.ndarray, semantic: Optional[np.ndarray],
           boxes: Optional[list], palette: np.ndarray) -> None:
    """The grey scene, the semantic map over it (background left grey) and
    the boxes with their digit."""
    shown = np.repeat(image[..., None] / 255., 3, 2)
    if semantic is not None:
        ink = semantic != BACKGROUND
        shown[ink] = 0.35 * shown[ink] + 0.65 * palette[semantic[ink]]
    from matplotlib.patches import Rectangle
    ax.imshow(shown, interpolation='nearest')
    for x0, y0, x1, y1, label, _ in boxes or []:
        ax.add_patch(Rectangle(
            (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
            edgecolor=palette[int(label)], linewidth=1.2))
        ax.text(x0, y0 - 1, str(int(label)), color='white', fontsize=7,
                backgroundcolor=palette[int(label)], va='bottom')
    ax.set_xticks([])
    ax.set_yticks([])


def plot_dense(results: Sequence[DenseResult], methods: Sequence[str],
               scenes: SceneFolder, split: str, train_scenes: int, seed: int,
               path: str) -> None:
    """The first scenes of a split: a row of ground truth, then a row per
    method with its predicted segmentation and detections (the runs of one
    train-scene budget and seed; a panel without a run shows the scene
    alone).

    Args:
        results (Sequence[DenseResult]): The results (their
            ``predictions``).
        methods (Sequence[str]): The rows after the ground truth.
        scenes (SceneFolder): The scenes.
        split (str): The evaluated split.
        train_scenes (int): The budget of the runs shown.
        seed (int): The seed of the runs shown.
        path (str): The PNG file (1.6 inches per panel, 100 dpi).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    palette = _palette()
    truth = _ground_truth(scenes, split)
    shown: Dict[tuple, list] = {
        (r.method, r.task): r.predictions for r in results
        if r.train_scenes == train_scenes and r.seed == seed
    }
    rows = ['ground truth'] + list(methods)
    fig, axes = plt.subplots(
        len(rows), len(truth), squeeze=False,
        figsize=(1.6 * len(truth), 1.6 * len(rows)))
    for row, name in enumerate(rows):
        for col, scene in enumerate(truth):
            if row == 0:
                semantic, boxes = scene['semantic'], scene['boxes']
            else:
                seg = shown.get((name, 'segment'))
                det = shown.get((name, 'detect'))
                semantic = decode_map(seg[col]['semantic']) if seg else None
                boxes = det[col]['boxes'] if det else None
            _panel(axes[row][col], scene['image'], semantic, boxes, palette)
        axes[row][0].set_ylabel(name, fontsize=8)
    fig.suptitle(f'{split} scenes; predictions after {train_scenes} train '
                 f'scenes, seed {seed}', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
