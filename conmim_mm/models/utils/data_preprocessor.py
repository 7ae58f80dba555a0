"""mmpretrain's self-supervised data preprocessor, traceable by
``torch.compile`` batch after batch."""
from typing import Any

from mmengine.structures import BaseDataElement
from mmpretrain.models.utils import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ConMIMDataPreprocessor(SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` that moves data samples without copying.

    mmengine moves a data sample to the device with ``BaseDataElement.to``,
    which deep-copies its metainfo (image path, flip, shapes). mmengine's
    ``compile=True`` compiles ``train_step``, this preprocessing included,
    and ``torch.compile`` guards such a deep copy on the identity of every
    metainfo value: every batch would compile the step again until dynamo
    gave up and ran it uncompiled. Here the tensors of a data sample (the
    mask) are moved onto the device in place and its metainfo is left as it
    is; the images are cast, converted to RGB and normalised as by
    ``SelfSupDataPreprocessor``, whose arguments it takes.

    Args:
        non_blocking (bool): Copy to the device asynchronously. Defaults to
            False.
        **kwargs: ``SelfSupDataPreprocessor`` arguments.
    """

    def __init__(self, non_blocking: bool = False, **kwargs) -> None:
        super().__init__(non_blocking=non_blocking, **kwargs)
        self.non_blocking = non_blocking

    def cast_data(self, data: Any) -> Any:
        """Move ``data`` onto the device; data samples in place.

        Args:
            data: A batch from the data loader or a part of it.

        Returns:
            The same structure on the device (the same data-sample objects).
        """
        if not isinstance(data, BaseDataElement):
            return super().cast_data(data)
        for name, value in data.items():
            if hasattr(value, 'to'):
                data.set_field(
                    value.to(self.device, non_blocking=self.non_blocking),
                    name)
        return data
