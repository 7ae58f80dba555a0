"""The demo's training data: scikit-learn's digits as image files."""
import os

import numpy as np
import pytest
from PIL import Image


def test_digit_files_are_written_once_and_load(tmp_path):
    from conmim_mm.datasets import SklearnDigitFiles
    dataset = SklearnDigitFiles(
        start=1790, size=32, cache_dir=str(tmp_path), pipeline=[])
    assert len(dataset) == 7
    paths = [dataset.get_data_info(i)['img_path'] for i in range(7)]
    assert [os.path.basename(p) for p in paths] == [
        f'{i:04d}.png' for i in range(1790, 1797)]
    image = np.asarray(Image.open(paths[0]))
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert (image[..., 0] == image[..., 2]).all() and image.max() > 100
    stamp = os.stat(paths[0]).st_mtime_ns
    SklearnDigitFiles(start=1790, size=32, cache_dir=str(tmp_path),
                      pipeline=[])
    assert os.stat(paths[0]).st_mtime_ns == stamp  # reused, not rewritten
    assert not [n for n in os.listdir(os.path.dirname(paths[0]))
                if not n[:4].isdigit()]  # no temporary file left


@pytest.mark.parametrize('kwargs', [
    dict(start=5, stop=5), dict(stop=1798), dict(size=0)])
def test_digit_files_reject_bad_ranges(kwargs, tmp_path):
    from conmim_mm.datasets import SklearnDigitFiles
    with pytest.raises(ValueError, match='SklearnDigitFiles'):
        SklearnDigitFiles(cache_dir=str(tmp_path), pipeline=[], **kwargs)

