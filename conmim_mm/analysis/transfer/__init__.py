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
- :mod:`.dense_plan`, :mod:`.dense_configs`, :mod:`.dense_results`,
  :mod:`.dense_report`, :mod:`.dense_running`: the same for the dense tasks
  (UperNet segmentation and Mask R-CNN detection of the digit scenes, each
  run checked by :class:`conmim_mm.engine.hooks.FinetuneChecksHook`);
  :mod:`.dense_picture`: their predictions for the first scenes
  (dense.png);
- :mod:`.arguments`: the command line's values as these types.
"""
from .configs import Recipe, finetune_config, pretrain_config
from .data import BenchmarkData, prepare_data
from .dense_configs import dense_budget, dense_config
from .dense_plan import TASK_METRICS, TASKS, DenseCell, DensePlan, DenseRun
from .dense_report import DenseReport, write_dense_report
from .dense_results import DenseResult, DenseStore
from .dense_running import (DenseBenchmark, dense_benchmark, prepare_scenes,
                            run_dense_benchmark)
from .methods import Method, builtin_methods, pretrained_method
from .plan import PROTOCOLS, Cell, Plan, Run
from .report import Report, markdown_table, write_report
from .results import Result, ResultStore
from .running import Benchmark, Progress, run_benchmark
from .scenes import (Scene, SceneFolder, SceneRules, compose_scenes,
                     write_scenes)

__all__ = [
    'PROTOCOLS', 'TASKS', 'TASK_METRICS', 'Benchmark', 'BenchmarkData',
    'Cell', 'DenseBenchmark', 'DenseCell', 'DensePlan', 'DenseReport',
    'DenseResult', 'DenseRun', 'DenseStore', 'Method', 'Plan', 'Progress',
    'Recipe', 'Report', 'Result', 'ResultStore', 'Run', 'Scene',
    'SceneFolder', 'SceneRules', 'builtin_methods', 'compose_scenes',
    'dense_benchmark', 'dense_budget', 'dense_config', 'finetune_config',
    'markdown_table', 'prepare_data', 'prepare_scenes', 'pretrain_config',
    'pretrained_method',
    'run_benchmark', 'run_dense_benchmark', 'write_dense_report',
    'write_report', 'write_scenes'
]
