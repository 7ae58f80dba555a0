"""The errors conmim_mm raises for bad input (and for a checkpoint it could
not write).

Each names the input (or file) at fault in one line; ``tools/train.py`` and
``tools/test.py`` print them as ``error: ...`` without a stack trace.
"""
import pickle


class ConfigError(ValueError):
    """A config field has a value it may not take."""


class CheckpointFormatError(ValueError):
    """A checkpoint does not have the keys the operation expects."""


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects other than tensors and plain data."""


class CheckpointWriteError(OSError):
    """A checkpoint file could not be written (a full disk, a write error);
    nothing partial was left under its name."""


class UnreadableImageError(ValueError):
    """A dataset file is missing, truncated or not an image."""


class MissingFilesError(FileNotFoundError):
    """An annotation list names files that do not exist."""


class MissingPackageError(ModuleNotFoundError):
    """A config or tool needs a package the environment lacks (mmseg, mmdet,
    mmcv's compiled ops); the message says how to install it."""


class NonFiniteError(RuntimeError):
    """Training met a NaN/Inf.

    Args:
        message (str): What was non-finite, with the iteration.
        weights_finite (bool): Whether the model and optimizer in memory are
            still the last good state (then it is saved before the run
            stops); ``False`` when the optimizer step already wrote
            non-finite values into the student.
    """

    def __init__(self, message: str, weights_finite: bool = True) -> None:
        super().__init__(message)
        self.weights_finite = weights_finite
