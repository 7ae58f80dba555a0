"""The demo, run as `make demo` runs it, learns ConMIM's pretext task: the
last logged patch_acc values average at least 3x chance and the loss ends at
least 0.3 below ln N, the loss of a uniform guess over the N patches."""
import glob
import json
import math
import os.path as osp

from conftest import ROOT, run_tool

DEMO = osp.join(ROOT, 'configs', 'conmim', 'demo_vit-tiny.py')


def _logged(work_dir: str) -> list:
    """The iteration records of the run's ``vis_data/scalars.json``."""
    paths = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if 'patch_acc' in r]


def test_demo_learns_its_pretext_task(tmp_path):
    result = run_tool(['tools/train.py', DEMO, '--work-dir', str(tmp_path)],
                      timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    records = _logged(str(tmp_path))
    assert [r['iter'] for r in records][-1] == 800
    num_patches = (32 // 8)**2
    chance = 100 / num_patches
    last_acc = sum(r['patch_acc'] for r in records[-3:]) / 3
    first_acc = records[0]['patch_acc']
    assert last_acc >= 3 * chance, (first_acc, last_acc)
    assert first_acc < 2 * chance
    assert records[-1]['loss'] <= math.log(num_patches) - 0.3
