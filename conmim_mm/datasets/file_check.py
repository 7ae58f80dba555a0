"""Check at build time that the files an annotation list names exist."""
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.logging import print_log

from ..errors import MissingFilesError

#: Missing files quoted in the error message.
SHOWN = 5


def _listed_paths(dataset) -> List[str]:
    """``img_path`` of every entry of an mmengine ``BaseDataset``."""
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def missing_files(paths: List[str], threads: int = 16,
                  log_every: float = 30.0) -> List[Tuple[int, str]]:
    """Entries of ``paths`` that are not files.

    Stats run in ``threads`` threads (network file systems answer each stat
    slowly); progress is logged every ``log_every`` seconds.

    Args:
        paths (list[str]): Local file paths.
        threads (int): Concurrent stats. Defaults to 16.
        log_every (float): Seconds between progress lines. Defaults to 30.

    Returns:
        list[tuple[int, str]]: ``(index, path)`` of each missing file.
    """
    missing = []
    start = last = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for index, exists in enumerate(pool.map(osp.isfile, paths,
                                                chunksize=256)):
            if not exists:
                missing.append((index, paths[index]))
            now = time.monotonic()
            if now - last >= log_every:
                last = now
                print_log(f'checking the listed files: {index + 1}/'
                          f'{len(paths)} ({now - start:.0f} s)',
                          logger='current')
    return missing


def check_listed_files(dataset) -> None:
    """Raise if the annotation list of ``dataset`` names a missing file.

    Datasets without an ``ann_file`` (a scanned folder), without
    ``img_path`` entries, or reading from a remote backend are left alone.

    Args:
        dataset: An mmengine ``BaseDataset`` (e.g. mmpretrain ``ImageNet``
            or ``CustomDataset`` with ``ann_file``).

    Raises:
        MissingFilesError: Naming the annotation file, how many entries are
            missing and the first few, with their line numbers (entry i is
            line i + 1 of the list).
    """
    ann_file = getattr(dataset, 'ann_file', None)
    if not ann_file or not hasattr(dataset, 'get_data_info') or \
            len(dataset) == 0:
        return
    first = dataset.get_data_info(0).get('img_path')
    if first is None or not isinstance(get_file_backend(first),
                                       LocalBackend):
        return
    paths = _listed_paths(dataset)
    missing = missing_files(paths)
    if not missing:
        return
    shown = '; '.join(f'line {index + 1}: {path}'
                      for index, path in missing[:SHOWN])
    more = ', ...' if len(missing) > SHOWN else ''
    raise MissingFilesError(
        f'{len(missing)} of {len(paths)} files listed in {ann_file} do not '
        f'exist ({shown}{more}); fix the list or the data_root/data_prefix')
