"""The values of the transfer benchmark's command-line options as the
library's types, each bad value one :class:`~conmim_mm.errors.ConfigError`
naming its option."""
import ast
import os.path as osp
from dataclasses import replace
from typing import Any, Dict, List, Sequence

from ...errors import ConfigError
from .methods import Method, builtin_methods, pretrained_method
from .dense_plan import TASKS
from .plan import PROTOCOLS, LabelBudget


def parse_seeds(text: str) -> List[int]:
    """``'0,1,2'`` -> ``[0, 1, 2]``.

    Args:
        text (str): Comma-separated integers (``--seeds``).

    Returns:
        list[int]: The seeds.
    """
    try:
        return [int(seed) for seed in text.split(',')]
    except ValueError:
        raise ConfigError(
            f'--seeds takes comma-separated integers, got {text!r}') from None


def parse_labels_per_class(text: str) -> List[LabelBudget]:
    """``'10,100,all'`` -> ``[10, 100, 'all']``.

    Args:
        text (str): Comma-separated positive numbers and ``all``
            (``--labels-per-class``).

    Returns:
        list[LabelBudget]: The labelled subsets.
    """
    budgets = []
    for value in text.split(','):
        if value != 'all' and not (value.isdigit() and int(value) > 0):
            raise ConfigError('--labels-per-class takes positive numbers '
                              f'and "all", got {value!r}')
        budgets.append('all' if value == 'all' else int(value))
    return budgets


def parse_protocols(text: str) -> List[str]:
    """``'finetune,knn'`` -> ``['finetune', 'knn']``.

    Args:
        text (str): Comma-separated protocols of :data:`~.plan.PROTOCOLS`
            (``--protocols``).

    Returns:
        list[str]: The protocols.
    """
    protocols = text.split(',')
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise ConfigError(f'--protocols: {protocol!r} is not one of '
                              f'{", ".join(PROTOCOLS)}')
    return protocols


def parse_tasks(text: str) -> List[str]:
    """``'classify,segment'`` -> ``['classify', 'segment']``.

    Args:
        text (str): Comma-separated tasks of :data:`~.dense_plan.TASKS`
            (``--tasks``).

    Returns:
        list[str]: The tasks, in :data:`~.dense_plan.TASKS` order.
    """
    tasks = text.split(',')
    for task in tasks:
        if task not in TASKS:
            raise ConfigError(
                f'--tasks: {task!r} is not one of {", ".join(TASKS)}')
    return [task for task in TASKS if task in tasks]


def parse_counts(text: str, option: str) -> List[int]:
    """``'100,1000'`` -> ``[100, 1000]``.

    Args:
        text (str): Comma-separated positive integers.
        option (str): The option they came with (for the error).

    Returns:
        list[int]: The numbers.
    """
    values = text.split(',')
    if not all(value.isdigit() and int(value) > 0 for value in values):
        raise ConfigError(
            f'{option} takes comma-separated positive integers, got {text!r}')
    return [int(value) for value in values]


def parse_assignments(pairs: Sequence[str], option: str) -> Dict[str, str]:
    """``['a=x', 'b=y']`` -> ``{'a': 'x', 'b': 'y'}``.

    Args:
        pairs (Sequence[str]): ``NAME=VALUE`` strings.
        option (str): The option they came with (for the error).

    Returns:
        dict: Name -> value.
    """
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition('=')
        if not sep or not name or not value:
            raise ConfigError(f'{option} expects NAME=VALUE, got {pair!r}')
        parsed[name] = value
    return parsed


def parse_literal(value: str) -> Any:
    """A config value from the command line: an int, a float, a bool
    (``true``/``false``, any case), a list or tuple of Python literals
    (``[1, 0.5]``, ``('a', 2)``) or else the string.

    Args:
        value (str): The text.

    Returns:
        int | float | bool | list | tuple | str: The value.

    Raises:
        ConfigError: A text in brackets that is not a list or tuple of
            literals.
    """
    if value[:1] in ('[', '('):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = None
        if not isinstance(parsed, (list, tuple)):
            raise ConfigError(
                f'not a list or tuple of Python literals: {value!r}')
        return parsed
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {'true': True, 'false': False}.get(value.lower(), value)


def parse_options(pairs: Sequence[str]) -> Dict[str, Any]:
    """``--finetune-options`` as config keys and values.

    Args:
        pairs (Sequence[str]): ``KEY=VALUE`` strings.

    Returns:
        dict: Key -> value (:func:`parse_literal`), in the given order.
    """
    options = {}
    for key, value in parse_assignments(pairs,
                                        '--finetune-options').items():
        try:
            options[key] = parse_literal(value)
        except ConfigError as error:
            raise ConfigError(f'--finetune-options {key}: {error}') from None
    return options


def select_methods(names: str, pretrain: Sequence[str],
                   checkpoints: Sequence[str],
                   config_dir: str) -> Dict[str, Method]:
    """The methods of a command, in its order.

    Args:
        names (str): Comma-separated method names (``--methods``): built-in
            ones and those of ``pretrain``.
        pretrain (Sequence[str]): ``NAME=CONFIG`` (``--pretrain``): methods
            pre-trained from a config of one's own.
        checkpoints (Sequence[str]): ``NAME=FILE`` (``--checkpoint``):
            weights of a method to use instead of pre-training it.
        config_dir (str): The benchmark's config folder.

    Returns:
        dict: Name -> :class:`~.methods.Method`.

    Raises:
        FileNotFoundError: A checkpoint file does not exist.
    """
    known = builtin_methods(config_dir)
    for name, config in parse_assignments(pretrain, '--pretrain').items():
        known[name] = pretrained_method(name, config, config_dir)
    methods = {}
    for name in names.split(','):
        if name not in known:
            raise ConfigError(
                f'--methods: unknown method {name!r}; known: '
                f'{", ".join(known)} (add one with --pretrain)')
        methods[name] = known[name]
    for name, path in parse_assignments(checkpoints, '--checkpoint').items():
        if name not in methods:
            raise ConfigError(f'--checkpoint {name}: not a method of this '
                              'benchmark (--methods)')
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file {path} does not exist')
        methods[name] = replace(methods[name], checkpoint=path)
    return methods
