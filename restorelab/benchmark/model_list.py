"""A list of models to choose from, as a command line or a benchmark config names them
(the web app's and the benchmark's one way of naming and loading models).

Three ways to name a model, all turned into benchmark model entries (see
``restorelab.benchmark.config``) and loaded by the benchmark's one loader:

- ``CONFIG:CHECKPOINT`` (optionally ``LABEL=CONFIG:CHECKPOINT``): a restorelab checkpoint,
  or an official one converted with ``tools/convert_checkpoint.py``;
- ``NAME``: a released model (``python tools/zoo.py list``), fetched into the cache once;
- a BENCH_CONFIG's ``models`` list as it is: ``config``/``checkpoint`` (with ``convert=``),
  ``zoo=``, ``type='identity'``; an entry with files per dataset gives one choice per set.
"""
import os
import threading
from dataclasses import dataclass

from restorelab.utils.errors import ModelListError, UserInputError

CONFIG_SEPARATOR = '.py:'


@dataclass(frozen=True)
class ModelChoice:
    """One model a user can pick: ``label`` (unique, shown), ``spec`` (a checked benchmark
    model entry) and ``dataset`` (which set's files, for entries with files per set)."""
    label: str
    spec: dict
    dataset: str = None

    @property
    def is_identity(self):
        return self.spec['type'] == 'identity'

    def describe(self):
        """Where the model comes from, in a few words."""
        spec = self.spec
        if spec['type'] == 'identity':
            return 'the input itself (the score of doing nothing)'
        def pick(value):  # the file of this choice's dataset, for entries with files per set
            return value[self.dataset] if isinstance(value, dict) else value

        if spec['type'] == 'released':
            return f'released model {pick(spec["zoo"])} (fetched into the cache when first used)'
        text = f'{pick(spec["config"])} + {pick(spec["checkpoint"])}'
        return text + (f' (official, converted by {spec["convert"]!r})' if spec.get('convert') else '')


def parse_model_arg(text):
    """``'[LABEL=]CONFIG.py:CHECKPOINT'`` or a released model's name -> a benchmark model entry.

    Files must exist and names must be downloadable released models; the error says which
    and shows the accepted forms.
    """
    from restorelab.apis.zoo import find_release, list_released

    label, _, rest = text.partition('=') if '=' in text.split(CONFIG_SEPARATOR)[0] else ('', '', text)
    if CONFIG_SEPARATOR in rest:
        config, _, checkpoint = rest.partition(CONFIG_SEPARATOR)
        config += '.py'
        for what, path in (('config', config), ('checkpoint', checkpoint)):
            if not os.path.isfile(path):
                raise ModelListError(f'--models {text!r}: the {what} file {path!r} does not exist; '
                                     'expected CONFIG.py:CHECKPOINT.pth (or LABEL=CONFIG.py:'
                                     'CHECKPOINT.pth, or a released model name)')
        label = label or os.path.splitext(os.path.basename(config))[0]
        return dict(name=label, type='model', config=config, checkpoint=checkpoint, convert=None,
                    convert_key=None)
    if os.path.isfile(rest):
        raise ModelListError(f'--models {text!r} names a file alone; give CONFIG.py:CHECKPOINT.pth '
                             '(a config and its checkpoint, joined by ":") or a released model name')
    try:
        release = find_release(rest)
    except UserInputError as err:
        raise ModelListError(f'--models {text!r}: {err} Files are given as CONFIG.py:CHECKPOINT.pth.'
                             ) from None
    if not release.downloadable:
        raise ModelListError(
            f'--models {text!r}: {rest} is listed with a download link only; download it, convert it '
            'with tools/convert_checkpoint.py and give CONFIG.py:CHECKPOINT.pth. Downloadable by '
            f'name: {", ".join(r.name for r in list_released(True))}')
    return dict(name=label or rest, type='released', zoo=rest)


def model_choices(models=(), bench=None):
    """The choices named by ``models`` (strings for :func:`parse_model_arg`) followed by those of
    the BENCH_CONFIG ``bench`` (a path, Config or dict). Returns ``(choices, inference)``: the
    list of :class:`ModelChoice` and the benchmark's ``inference`` settings (the defaults when
    no benchmark config is given), whose restorer keys become each model's ``test_cfg``."""
    from restorelab.benchmark.config import INFERENCE_DEFAULTS, check_bench_config

    specs = [parse_model_arg(m) for m in models]
    inference = dict(INFERENCE_DEFAULTS)
    if bench is not None:
        checked = check_bench_config(bench)
        specs += checked['models']
        inference = checked['inference']
    choices = []
    for spec in specs:
        per_set = [spec[k] for k in ('config', 'checkpoint', 'zoo') if isinstance(spec.get(k), dict)]
        if per_set:
            choices += [ModelChoice(f'{spec["name"]} ({name})', spec, name) for name in per_set[0]]
        else:
            choices.append(ModelChoice(spec['name'], spec))
    labels = [c.label for c in choices]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ModelListError(f'model label(s) {twice} name more than one model; give each its own '
                             'with LABEL=CONFIG.py:CHECKPOINT.pth')
    if not choices:
        raise ModelListError('no models: give --models CONFIG.py:CHECKPOINT.pth or a released '
                             'name, or --bench BENCH_CONFIG')
    return choices, inference


class ModelCache:
    """Loads each :class:`ModelChoice` on first use (identity gives None) and keeps it;
    a load that fails raises every time it is asked for (the error names the files)."""

    def __init__(self, inference, device='cpu'):
        self.inference, self.device = inference, device
        self._models, self._lock = {}, threading.Lock()

    def get(self, choice):
        if choice.is_identity:
            return None
        with self._lock:
            if choice.label not in self._models:
                from restorelab.benchmark.runner import load_model
                self._models[choice.label] = load_model(choice.spec, self.inference, self.device,
                                                        choice.dataset)
            return self._models[choice.label]
