"""Turning a config and command-line choices into a runnable mmengine Runner.

tools/train.py and tools/test.py are thin wrappers over these functions.
"""
import datetime
import logging
import os
import os.path as osp
import re

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from restorelab.utils.errors import DistributedFailureError, LaunchError, user_error_message
from restorelab.utils.plugins import import_custom_modules
from .checkpoint import checkpoint_problem, find_resume_checkpoint
from .setup import setup_engine
from .watchdog import check_timeout, report_progress

# Seconds a process waits in a collective (gradient all-reduce, the stop-flag
# all-reduce, result gathering) for the others before giving up: a rank that
# died or hangs then ends the run with an error instead of a hang. Long enough
# for rank 0 to write a large checkpoint or run its share of an evaluation.
DEFAULT_DIST_TIMEOUT = 600


def error_text(err):
    """The message of ``err`` for the user: also when a DataLoader worker
    re-raised it (torch then puts the worker's traceback in the text, ending
    with ``package.module.ErrorType: message``), only the message."""
    text = user_error_message(err)
    name = re.escape(type(err).__name__)
    return re.sub(rf'^(?:[\w.]+\.)?{name}: ', '', text)


def world_size():
    """Number of processes of this run (torchrun/slurm environment), 1 alone."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    for var in ('WORLD_SIZE', 'SLURM_NTASKS'):
        if os.environ.get(var):
            return int(os.environ[var])
    return 1


def _slurm_env_to_torch_env():
    """Fill torchrun's variables from slurm's for a CPU run under srun."""
    if 'SLURM_PROCID' not in os.environ:
        raise LaunchError('--launcher slurm needs SLURM_PROCID (run it through srun; '
                          'see tools/slurm_train.sh)')
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ.get('SLURM_STEP_NODELIST') or os.environ.get('SLURM_NODELIST', '')
        import subprocess
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodes], capture_output=True,
                             text=True, check=True).stdout.split()
        os.environ['MASTER_ADDR'] = out[0]
    os.environ.setdefault('MASTER_PORT', '29500')


def init_distributed(launcher, timeout=DEFAULT_DIST_TIMEOUT):
    """Join the process group of a run started by torchrun (``launcher='pytorch'``) or srun
    (``'slurm'``): nccl with GPUs (each process on the GPU of its LOCAL_RANK), gloo on the
    CPU; returns ``(rank, world_size)``, ``(0, 1)`` for ``'none'``. What tools/test.py,
    tools/train.py and the benchmark's processes start with."""
    if launcher == 'none':
        return 0, 1
    if launcher not in ('pytorch', 'slurm'):
        raise LaunchError(f'unknown launcher {launcher!r}; expected none, pytorch or slurm')
    if launcher == 'slurm':
        _slurm_env_to_torch_env()
    missing = [v for v in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if v not in os.environ]
    if missing:
        raise LaunchError(f'--launcher {launcher} needs the environment variables {missing}; '
                          'start the run with torchrun (tools/dist_train.sh) or srun')
    if not dist.is_initialized():
        report_progress('rendezvous', detail='init_process_group')
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
            dist.init_process_group(backend='nccl', timeout=datetime.timedelta(seconds=timeout))
        else:
            _init_gloo(datetime.timedelta(seconds=timeout))
        report_progress('start-up', detail='process group ready')
    return dist.get_rank(), dist.get_world_size()


def default_device():
    """The device this process runs a model on: its GPU (``cuda:LOCAL_RANK``) when there are
    GPUs, else the CPU."""
    if torch.cuda.is_available():
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return 'cpu'


def setup_distributed(cfg, launcher):
    """Prepare ``cfg`` for a run with ``launcher`` ('none'|'pytorch'|'slurm').

    With GPUs, mmengine initialises nccl itself. Without, mmengine 0.10 would
    call ``torch.cuda.set_device`` and give DDP ``device_ids=[LOCAL_RANK]``,
    both failing on CPU: so the gloo process group is initialised here
    (:func:`init_distributed`; the Runner then skips its own) and DDP is configured
    with ``device_ids=None``.
    """
    cfg.launcher = launcher
    if launcher == 'none':
        return cfg
    # mmengine passes dist_cfg.timeout (seconds) to init_process_group on GPUs.
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['timeout'] = dist_timeout(cfg)
    if launcher not in ('pytorch', 'slurm'):
        raise LaunchError(f'unknown launcher {launcher!r}; expected none, pytorch or slurm')
    if torch.cuda.is_available():
        return cfg
    init_distributed(launcher, dist_timeout(cfg))
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    return cfg


def _init_gloo(timeout):
    """The gloo process group of this process (``env://``: RANK, WORLD_SIZE, MASTER_ADDR,
    MASTER_PORT), its keys under a prefix of this start of the run.

    torchrun's agent keeps one key-value store for all the restarts of a run, and
    ``init_process_group`` writes the same keys each time: a restarted group could read the
    addresses its predecessor's processes published and connect gloo's full mesh to dead
    ranks ('Connection refused' until the timeout, or a wait that never ends). With the
    restart count in the prefix, each group reads only its own processes' addresses.
    """
    from torch.distributed import rendezvous
    store, rank, world_size = next(rendezvous('env://', int(os.environ['RANK']),
                                              int(os.environ['WORLD_SIZE']), timeout=timeout))
    store.set_timeout(timeout)
    store = dist.PrefixStore(f'restorelab/start_{restart_count()}/', store)
    dist.init_process_group(backend='gloo', store=store, rank=rank, world_size=world_size,
                            timeout=timeout)


def dist_timeout(cfg):
    """``env_cfg.dist_cfg.timeout`` in seconds (default ``DEFAULT_DIST_TIMEOUT``)."""
    value = ((cfg.get('env_cfg') or {}).get('dist_cfg') or {}).get('timeout', DEFAULT_DIST_TIMEOUT)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise LaunchError(f'env_cfg.dist_cfg.timeout must be a positive number of seconds, got '
                          f'{value!r}')
    return value


def explain_distributed_failure(err, cfg):
    """A :class:`DistributedFailureError` for an error raised by a collective
    when another process died or hung; None for any other error."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    text = str(err)
    markers = ('gloo', 'Connection closed', 'Connection reset', 'Timed out', 'timed out',
               'DistBackendError', 'NCCL', 'Broken pipe', 'Socket')
    if not (type(err).__name__ == 'DistBackendError' or any(m in text for m in markers)):
        return None
    first = text.strip().splitlines()[0][:300] if text.strip() else type(err).__name__
    return DistributedFailureError(
        f'rank {dist.get_rank()} of {dist.get_world_size()} lost contact with the other processes '
        f'({first}). Another process died or stopped answering for env_cfg.dist_cfg.timeout='
        f'{dist_timeout(cfg)} s; its own log above says why. Checkpoints already written are '
        'intact: fix the cause and continue with `tools/dist_train.sh CONFIG N --resume`.')


def apply_reliability(cfg, training=True):
    """Add restorelab's safety hooks to ``cfg.default_hooks`` unless set there.

    ``checkpoint_fit`` (refuse weights that do not fit the model) and ``watchdog``
    (report progress to the watchdog, with the config's ``watchdog_timeout``) always;
    for training also ``stop_signal`` (SIGTERM/SIGINT save a checkpoint and
    stop) and ``nonfinite`` (skip non-finite steps, stop after
    ``max_consecutive``). An entry given as options only (e.g.
    ``--cfg-options default_hooks.nonfinite.max_consecutive=3``) gets its
    type filled in; an entry set to None switches the hook off.
    """
    try:
        timeout = check_timeout(cfg.get('watchdog_timeout'))
    except ValueError as err:
        raise LaunchError(str(err)) from None
    defaults = dict(checkpoint_fit='CheckpointFitHook', watchdog='WatchdogHook')
    if training:
        defaults.update(stop_signal='StopSignalHook', nonfinite='NonFiniteGuardHook')
    hooks = cfg.get('default_hooks')
    if hooks is None:
        cfg.default_hooks = {}
        hooks = cfg.default_hooks
    for name, hook_type in defaults.items():
        if name in hooks and hooks[name] is None:
            hooks.pop(name)  # mmengine accepts None only for its own default hooks
            continue
        entry = dict(hooks.get(name) or {})
        entry.setdefault('type', hook_type)
        if name == 'watchdog' and timeout is not None:
            entry['timeout'] = timeout
        hooks[name] = entry
    return cfg


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def apply_total_batch_size(cfg, num_procs, batch_size=None):
    """Set the per-process batch and the gradient accumulation of a run on ``num_procs`` processes.

    ``cfg.total_batch_size`` (when set) is the number of samples of one optimizer step (one
    iteration), split evenly over the processes. ``batch_size`` (``--batch-size``; default the
    config's top-level ``batch_size_per_process``, when set) is the most samples one process puts
    through the model at once: when ``total_batch_size / num_procs`` is larger, each iteration
    accumulates the gradients of ``accumulate`` such batches (``optim_wrapper.accumulative_counts``)
    so that it still trains on ``total_batch_size`` samples. Without ``total_batch_size`` the
    per-process batch, when given, is the loader's batch and nothing is accumulated.
    """
    total = cfg.get('total_batch_size')
    from_cli = batch_size is not None
    per_process = batch_size if from_cli else cfg.get('batch_size_per_process')
    name = '--batch-size' if from_cli else 'batch_size_per_process'
    if per_process is not None and not _positive_int(per_process):
        raise LaunchError(f'{name} must be a positive int (samples per process at once), got '
                          f'{per_process!r}')
    if total is None:
        if per_process is not None:
            cfg.train_dataloader.batch_size = per_process
        return cfg
    if not _positive_int(total):
        raise LaunchError(f'total_batch_size must be a positive int, got {total!r}')
    if total % num_procs:
        raise LaunchError(
            f'total_batch_size={total} cannot be split evenly over {num_procs} processes; '
            f'choose a process count that divides it or set --cfg-options total_batch_size=N')
    share = total // num_procs
    if per_process is None or per_process >= share:
        batch, accumulate = share, 1
    elif share % per_process:
        divisors = [d for d in range(1, share + 1) if share % d == 0]
        raise LaunchError(
            f'{name}={per_process} does not divide the {share} samples per process of '
            f'total_batch_size={total} over {num_procs} process{"es" if num_procs > 1 else ""}, so '
            f'gradient accumulation cannot reach total_batch_size; choose a per-process batch among '
            f'{divisors}')
    else:
        batch, accumulate = per_process, share // per_process
    wrapper = cfg.get('optim_wrapper')
    if wrapper is not None:
        configured = wrapper.get('accumulative_counts', 1)
        if configured not in (1, accumulate):
            raise LaunchError(
                f'optim_wrapper.accumulative_counts={configured!r} contradicts total_batch_size='
                f'{total}: {batch} per process x {num_procs} process(es) needs {accumulate}; remove '
                'accumulative_counts from the config (total_batch_size sets it)')
        wrapper.accumulative_counts = accumulate
    elif accumulate > 1:
        raise LaunchError('total_batch_size needs gradient accumulation here but the config has no '
                          'optim_wrapper to set accumulative_counts on')
    cfg.train_dataloader.batch_size = batch
    return cfg


def apply_ema(cfg):
    """Add mmengine's EMAHook when ``cfg.use_ema`` is true (once)."""
    if not cfg.get('use_ema', False):
        return cfg
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'EMAHook' for h in hooks):
        hooks.append(dict(type='EMAHook', momentum=cfg.get('ema_momentum', 0.001),
                          update_buffers=True, priority=49))
    cfg.custom_hooks = hooks
    return cfg


def resolve_resume(cfg, resume):
    """Set ``cfg.resume``/``cfg.load_from`` from the ``--resume`` argument.

    ``resume`` is None (no resume), ``'auto'`` (the newest checkpoint in the
    work dir, which must exist) or a checkpoint path (which must exist).
    Unlike mmengine, asking to resume with nothing to resume is an error, not
    a silent fresh start.
    """
    if resume is None:
        return cfg
    if resume == 'auto':
        latest, skipped = find_resume_checkpoint(cfg.work_dir)
        for path, reason in skipped:
            print_log(f'--resume auto: skipping {path}: {reason}', logger='current',
                      level=logging.WARNING)
        if latest is None:
            tried = (f' (only incomplete ones: {", ".join(p for p, _ in skipped)})'
                     if skipped else '')
            raise LaunchError(
                f'--resume auto: no checkpoint to resume in {cfg.work_dir!r}{tried} '
                '(looked for "last_checkpoint" and iter_N.pth written by a previous run). Start '
                'without --resume, or pass --resume PATH/iter_N.pth')
        print_log(f'--resume auto: resuming from {latest}, the newest complete checkpoint',
                  logger='current', level=logging.INFO)
        cfg.load_from = latest
    else:
        if not osp.isfile(resume):
            raise LaunchError(f'--resume {resume!r}: no such checkpoint file')
        problem = checkpoint_problem(resume)
        if problem:
            raise LaunchError(f'--resume {resume!r}: cannot resume from it: {problem}. Pick an '
                              'earlier checkpoint, or use --resume alone to take the newest '
                              'complete one')
        cfg.load_from = resume
    cfg.resume = True
    return cfg


def restart_count():
    """How often this run's processes were started again by torchrun's elastic agent
    (``TORCHELASTIC_RESTART_COUNT``, ``tools/dist_train.sh`` with ``MAX_RESTARTS``) or
    by a Slurm requeue (``SLURM_RESTART_COUNT``); 0 for a first start."""
    counts = []
    for var in ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT'):
        value = os.environ.get(var, '')
        counts.append(int(value) if value.isdigit() else 0)
    return max(counts)


def resume_after_restart(cfg, resume):
    """The ``--resume`` value to use: ``resume`` as given, except that a restarted run
    (:func:`restart_count` > 0) given no ``--resume`` resumes from the newest complete
    checkpoint of its work dir ('auto'), or starts from the beginning again when the
    first start wrote none."""
    restarts = restart_count()
    if resume is not None or restarts == 0:
        return resume
    latest, _ = find_resume_checkpoint(cfg.work_dir)
    if latest is None:
        print_log(f'restart {restarts} of this run: no complete checkpoint in {cfg.work_dir!r} '
                  'yet, training starts from the beginning again', logger='current',
                  level=logging.WARNING)
        return None
    print_log(f'restart {restarts} of this run: resuming from the newest complete checkpoint',
              logger='current', level=logging.WARNING)
    return 'auto'


def set_load_from(cfg, checkpoint, resume=None):
    """``--load-from CKPT``: initialise a new run with these weights."""
    if resume is not None:
        raise LaunchError('--load-from and --resume exclude each other: --resume continues a run '
                          '(weights, optimizer, iteration), --load-from starts a new one from '
                          'weights')
    if not osp.isfile(checkpoint):
        raise LaunchError(f'--load-from {checkpoint!r}: no such checkpoint file')
    cfg.load_from = checkpoint
    cfg.resume = False
    return cfg


def set_work_dir(cfg, config_path, work_dir=None):
    """CLI > config > ``work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg


def load_config(path, cfg_options=None):
    if not osp.isfile(path):
        raise LaunchError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path, import_custom_modules=False)
    if cfg.get('custom_imports'):  # plugins, found from the config's folder
        import_custom_modules(cfg['custom_imports'], path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


# Runner messages that go to the log file but not to the terminal (unless asked): the
# environment, the config and the hook order, hundreds of lines that would push a
# user-facing error out of sight.
_DUMPS_FOR_THE_LOG_FILE = ('Config:\n', 'Hooks will be executed in the following order')


class _KeepDumpsOffTheConsole(logging.Filter):
    def filter(self, record):
        msg = record.getMessage()
        return not (msg.startswith(_DUMPS_FOR_THE_LOG_FILE) or '\nSystem environment:' in msg)


class LogFileRunner(Runner):
    """mmengine's Runner whose environment, config and hook dumps go to the log file only
    (``show_config=True`` in :func:`build_runner` prints them too). A run without training
    (tools/test.py, the benchmark's cells) keeps its model as given: on the device
    :func:`~restorelab.apis.load_restorer` put it on and unwrapped (testing needs no
    gradient synchronisation; a model without parameters, the identity or an ONNX Runtime
    graph, could not be wrapped). Its building steps, seconds each on a busy machine, report
    progress to the watchdog."""
    show_config = False

    def _log_env(self, *args, **kwargs):
        report_progress('start-up', detail='logging the environment')
        return super()._log_env(*args, **kwargs)

    def build_visualizer(self, *args, **kwargs):
        report_progress('start-up', detail='building the visualizer')
        return super().build_visualizer(*args, **kwargs)

    def build_model(self, *args, **kwargs):
        report_progress('start-up', detail='building the model')
        return super().build_model(*args, **kwargs)

    def dump_config(self):
        report_progress('start-up', detail='writing the config')
        return super().dump_config()

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        if not self.show_config:
            for handler in logger.handlers:
                if not isinstance(handler, logging.FileHandler):  # the terminal
                    handler.addFilter(_KeepDumpsOffTheConsole())
        return logger

    def wrap_model(self, model_wrapper_cfg, model):
        report_progress('start-up', detail='wrapping the model')
        if self._train_loop is None and isinstance(model, torch.nn.Module):
            return model
        return super().wrap_model(model_wrapper_cfg, model)


# The Runner arguments a config holds (mmengine's Runner.from_cfg reads the same keys).
_RUNNER_KEYS = ('work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
                'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
                'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks',
                'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
                'log_level', 'visualizer', 'default_scope', 'randomness', 'experiment_name')


def add_runner_arguments(parser):
    """The options tools/train.py and tools/test.py share: ``--show-config``, ``--launcher``."""
    parser.add_argument('--show-config', action='store_true',
                        help='also print the config, environment and hook order on the terminal '
                        '(they are always in the log file of the work dir)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')


def build_runner(cfg, show_config=False, model=None, **components):
    """Build the Runner, with restorelab's changes to mmengine installed first
    (:func:`~restorelab.engine.setup.setup_engine`). The config, environment and hook
    order are written to the log file, and to the terminal only with ``show_config``.
    ``model``: a model already built (by :func:`~restorelab.apis.load_restorer`) to run
    instead of building ``cfg.model``, with ``components`` (built loaders, evaluators,
    hooks) over the config's: what tools/test.py and the benchmark's cells do."""
    setup_engine()
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    runner_cls = type('LogFileRunner', (LogFileRunner,), dict(show_config=bool(show_config)))
    if model is None:
        runner = runner_cls.from_cfg(cfg)
    else:
        kwargs = {k: cfg[k] for k in _RUNNER_KEYS if cfg.get(k) is not None}
        kwargs.setdefault('env_cfg', dict(dist_cfg=dict(backend='nccl')))
        runner = runner_cls(model=model, cfg=cfg, **dict(kwargs, **components))
    if not show_config:
        log_file = osp.join(runner.log_dir, f'{runner.timestamp}.log')
        print_log(f'config, environment and hook order: {log_file}', logger='current')
    return runner


def check_data(cfg):
    """Build the datasets of ``cfg``'s train/val/test dataloaders, which checks their
    folders and pairing (:class:`~restorelab.utils.errors.DatasetLayoutError`) without a
    Runner: what ``tools/train.py --check`` runs before several processes are launched."""
    from mmengine.registry import DefaultScope

    from restorelab.registry import DATASETS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'restorelab')):
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(loader) and cfg[loader].get('dataset'):
                DATASETS.build(cfg[loader]['dataset'])


def apply_inference_switches(cfg, bf16=False, compile=False):
    """``--bf16`` / ``--compile`` of the test tools: set ``model.test_cfg.bf16`` / ``.compile``
    (only when asked, so a config's own settings stay otherwise)."""
    if not (bf16 or compile):
        return
    if cfg.model.get('test_cfg') is None:
        cfg.model.test_cfg = dict()
    if bf16:
        cfg.model.test_cfg.bf16 = True
    if compile:
        cfg.model.test_cfg.compile = True


def evaluator_metrics(evaluator):
    """The metric dicts of a ``test_evaluator`` (a dict, a list of dicts, or an Evaluator
    dict holding ``metrics``; a list of those for several test sets)."""
    if isinstance(evaluator, (list, tuple)):
        return [m for item in evaluator for m in evaluator_metrics(item)]
    if isinstance(evaluator, dict) and 'metrics' in evaluator and 'type' not in evaluator:
        return evaluator_metrics(evaluator['metrics'])
    return [evaluator] if isinstance(evaluator, dict) else []


def metric_class(metric_cfg):
    """The registered class of a metric config (``type`` a name or a class), None if unknown."""
    from mmengine.registry import DefaultScope

    from restorelab.registry import METRICS
    kind = metric_cfg.get('type')
    if isinstance(kind, type):
        return kind
    with DefaultScope.overwrite_default_scope('restorelab'):
        return METRICS.get(kind) if isinstance(kind, str) else None


def quantized_metrics(evaluator):
    """The metric dicts of ``evaluator`` that quantise predictions to 8 bits (restorelab's
    :class:`~restorelab.evaluation.metrics.PerImageMetric` and its subclasses)."""
    from restorelab.evaluation.metrics import PerImageMetric
    return [m for m in evaluator_metrics(evaluator)
            if isinstance(metric_class(m), type) and issubclass(metric_class(m), PerImageMetric)]


def apply_quantize(cfg, quantize):
    """``--quantize round|truncate`` of tools/test.py: how predictions become 8 bits before
    scoring, set on every restorelab metric of ``test_evaluator``; returns the mode (``None``
    when not given: the config's own settings stay)."""
    from restorelab.evaluation.functional import check_quantize

    if quantize is None:
        return None
    try:
        check_quantize(quantize)
    except ValueError as err:
        raise LaunchError(f'--quantize: {err}') from None
    metrics = quantized_metrics(cfg.get('test_evaluator'))
    if not metrics:
        raise LaunchError(f'--quantize {quantize}: the config\'s test_evaluator has no '
                          'restorelab metric (PSNR/SSIM/NIQE/BRISQUE, ...) to apply it to')
    for metric in metrics:
        metric['quantize'] = quantize
    return quantize


def prepare_test(cfg, save_images=None, quantize=None):
    """Configure a test run (the model comes built and loaded, see tools/test.py): drop the
    training parts and optionally save the restored images to ``save_images``, quantised as
    ``quantize`` says (default: as the config's metrics quantise, else 'round'; see
    :func:`apply_quantize`)."""
    # Training-only parts are not built for testing.
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler', 'load_from'):
        cfg.pop(key, None)
    cfg.resume = False
    if save_images:
        if quantize is None:  # save as the config's metrics quantise
            modes = {m.get('quantize', 'round') for m in quantized_metrics(cfg.get('test_evaluator'))}
            quantize = modes.pop() if len(modes) == 1 else 'round'
        hooks = list(cfg.get('custom_hooks') or [])
        hooks.append(dict(type='SaveResultsHook', out_dir=save_images,
                          quantize=quantize))
        cfg.custom_hooks = hooks
    return cfg


def dump_metrics(metrics, path, cfg, checkpoint):
    """Write ``metrics`` with the checkpoint and environment to a JSON file."""
    import json
    import time

    import mmengine

    import restorelab
    record = dict(
        metrics={k: float(v) for k, v in metrics.items()},
        checkpoint=osp.abspath(checkpoint),
        config=cfg.filename,
        time=time.strftime('%Y-%m-%d %H:%M:%S'),
        versions=dict(restorelab=restorelab.__version__, torch=torch.__version__,
                      mmengine=mmengine.__version__),
    )
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(record, f, indent=2)


def finish_distributed():
    """Leave the process group cleanly at the end of a successful run.

    All processes meet, then the group is destroyed: a process that exits
    with a live gloo group while another still works can abort at
    interpreter shutdown ('terminate called without an active exception').
    """
    if dist.is_available() and dist.is_initialized():
        report_progress('collective', detail='the final barrier')
        dist.barrier()
        dist.destroy_process_group()
