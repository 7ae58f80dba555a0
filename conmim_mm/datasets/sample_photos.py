"""The public-domain photographs that ship inside scikit-image's wheel."""
import os.path as osp
from typing import List, Sequence

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

#: Natural photographs of ``skimage/data`` (no drawings, text or patterns).
PHOTOS = ('astronaut.png', 'camera.png', 'chelsea.png', 'coffee.png',
          'coins.png', 'hubble_deep_field.jpg', 'ihc.png', 'moon.png',
          'motorcycle_left.png', 'motorcycle_right.png', 'retina.jpg',
          'rocket.jpg', 'brick.png', 'grass.png', 'gravel.png')


@DATASETS.register_module()
class SkimagePhotos(BaseDataset):
    """Unlabelled photographs bundled with scikit-image (no download).

    Used by the demo pre-training so that it runs anywhere the project is
    installed. Every sample is ``{'img_path': path}``.

    Args:
        photos (Sequence[str]): File names inside ``skimage/data``.
            Defaults to :data:`PHOTOS`.
        **kwargs: Passed to ``BaseDataset`` (``pipeline``, ...).
    """

    def __init__(self, photos: Sequence[str] = PHOTOS, **kwargs) -> None:
        import skimage
        self.photos = tuple(photos)
        kwargs.setdefault('data_root',
                          osp.join(osp.dirname(skimage.__file__), 'data'))
        super().__init__(ann_file='', **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per photo; a missing file is an error naming it."""
        data_list = []
        for name in self.photos:
            path = osp.join(self.data_root, name)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{path} (photo {name!r} of SkimagePhotos) not found; '
                    'is scikit-image installed?')
            data_list.append(dict(img_path=path))
        return data_list
