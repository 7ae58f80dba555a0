"""The transfer benchmark: does pre-training pay on a labelled image folder?

Every method is pre-trained on the folder's pool (labels unused), then
fine-tuned end to end on labelled subsets, and its frozen features are
linear-probed and kNN-classified; random-init rows fine-tune each backbone
family from scratch. ``tools/analysis_tools/transfer_benchmark.py`` is its
command line.

- :mod:`.methods`: the methods compared and their configs;
- :mod:`.plan`: methods x seeds x protocols x labelled subsets, and the runs;
- :mod:`.data`: the folder split once, and the annotation lists;
- :mod:`.scenes`: digit scenes of each part's digits for the dense tasks
  (semantic maps, COCO instances), written once;
- :mod:`.configs`: each run's config, rewritten from the method's;
- :mod:`.frozen`: the linear probe and kNN on frozen features;
- :mod:`.results`: one file per result, and results.csv;
- :mod:`.report`: results.md (mean +- std over seeds), wall times and
  transfer.png;
- :mod:`.running`: the runs in order, finished ones skipped;
- :mod:`.arguments`: the command line's values as these types.
"""
from .configs import Recipe, finetune_config, pretrain_config
from .data import BenchmarkData, prepare_data
from .methods import Method, builtin_methods, pretrained_method
from .plan import PROTOCOLS, Cell, Plan, Run
from .report import Report, markdown_table, write_report
from .results import Result, ResultStore
from .running import Benchmark, Progress, run_benchmark
from .scenes import (Scene, SceneFolder, SceneRules, compose_scenes,
                     write_scenes)

__all__ = [
    'PROTOCOLS', 'Benchmark', 'BenchmarkData', 'Cell', 'Method', 'Plan',
    'Progress', 'Recipe', 'Report', 'Result', 'ResultStore', 'Run', 'Scene',
    'SceneFolder', 'SceneRules', 'builtin_methods', 'compose_scenes',
    'finetune_config', 'markdown_table', 'prepare_data', 'pretrain_config',
    'pretrained_method', 'run_benchmark', 'write_report', 'write_scenes'
]
