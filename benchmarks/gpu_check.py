#!/usr/bin/env python
"""What a GPU machine has to show before restorelab's GPU paths are trusted: one summary.

    python benchmarks/gpu_check.py [--device cuda|cpu] [--tiny] [--sections env,tests,drsformer,restormer,train]
        [--json FILE] [--record NAME] [--results-dir DIR]

The report is also the run's results record, ``benchmarks/results/gpu_check.json`` (on CUDA at full
size; ``gpu_check-cpu.json`` on the CPU, ``gpu_check-dry-run.json`` with ``--tiny``/``--dry-run``),
which ``benchmarks/report.py`` renders into docs/gpu.md. Timing, peak memory and agreement are the
harness's (``benchmarks/harness.py``).

Sections (all by default):

* ``env``: GPU name, driver, torch, CUDA and cuDNN versions.
* ``tests``: the CUDA subset of the test suite (``pytest -m cuda``; with ``--tiny`` one file).
* ``drsformer``: the plugin's DRSformer, the release's formulation (``fast=False``, "plain") against
  the fast path (``fast=True``, which on CUDA takes the CUDA choice of ``device_kernels``), same
  weights (the release's initialisation, seed 0): inference at 256x256 and 321x481 (reflect-padded to
  328x488, as ImageRestorer pads) in float32, bfloat16 autocast and float16 autocast, and a training
  step (forward, L1 loss, backward, AdamW step through mmengine's AmpOptimWrapper, float16) at batch 4
  and 16 of 128x128. Median times over ``--runs`` runs after ``--warmup`` (``torch.cuda.synchronize``
  around each), peak memory (``torch.cuda.max_memory_allocated`` of the last run, with only the
  measured model on the GPU: for a training step weights, gradients, AdamW state and activations),
  agreement
  between plain and fast (PSNR between the outputs, peak 1; a training step: the relative difference
  of the losses and the cosine between the gradients).
* ``restormer``: the same for Restormer; plain only unless its constructor has a ``fast`` flag.
* ``train``: a 50-iteration ``tools/train.py --amp`` run of the tiny test config on synthetic rain,
  and a one-process ``tools/dist_train.sh`` run.
* ``agreement`` (not in the default set): only DRSformer's float32 inference at the first size, plain
  against fast (what ``gpu_check.sh`` runs on a machine without a GPU, with ``--tiny``).

Failures (exit status 1): a test failed; plain and fast disagree (float32 outputs below 60 dB, half
precision below 30 dB or not finite, training losses more than 1e-2 apart relatively or gradients
with a cosine below 0.99); on CUDA, the fast path more than 2% (timing noise) slower than the plain
one in any case; a tool run failed. float32 here is float32: TF32 is switched off for the float32
cases (cuDNN allows it by default). ``--device cpu --tiny`` runs every section with tiny models and
sizes on the CPU in seconds (bfloat16 through restorelab's CPUAmpOptimWrapper); the slower-than-plain
rule applies on CUDA only. ``benchmarks/gpu_check.sh`` is the one command to run.
"""
import argparse
import copy
import inspect
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = harness.REPO_ROOT
SCRIPT = 'gpu_check'
SECTIONS = ('env', 'tests', 'drsformer', 'restormer', 'train', 'agreement')
DEFAULT_SECTIONS = SECTIONS[:-1]
DTYPES = {'float32': None, 'bfloat16': torch.bfloat16, 'float16': torch.float16}
SLOWER_TOLERANCE = 1.02  # fast path slower than plain by more than this factor: a failure on CUDA
MIN_DB = {'float32': 60.0, 'bfloat16': 30.0, 'float16': 30.0}

SIZES = {
    'full': dict(infer=[(256, 256), (321, 481)], train=[4, 16], patch=128, train_iters=50, runs=5,
                 warmup=2, models=dict(DRSformer=dict(), Restormer=dict())),
    'tiny': dict(infer=[(16, 16), (21, 29)], train=[2, 4], patch=16, train_iters=4, runs=1, warmup=1,
                 models=dict(DRSformer=dict(dim=8, num_blocks=(1, 1, 1, 1), heads=(1, 1, 2, 2)),
                             Restormer=dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                                            heads=[1, 2, 2, 4]))),
}


# ------------------------------------------------------------------ environment

def environment(device):
    info = harness.machine()
    env = dict(python=platform.python_version(), torch=torch.__version__,
               cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version() if torch.cuda.is_available() else None,
               gpu=None, driver=None, cpu=info['cpu'], threads=info.get('threads'), device=device)
    if torch.cuda.is_available():
        env['gpu'] = torch.cuda.get_device_name(0)
        env['gpu_memory_gib'] = round(torch.cuda.get_device_properties(0).total_memory / 2 ** 30, 1)
        try:
            out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                 capture_output=True, text=True, timeout=30)
            env['driver'] = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() \
                else None
        except (OSError, subprocess.SubprocessError):
            env['driver'] = None
    try:
        env['commit'] = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True,
                                       text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        env['commit'] = None
    return env


# ------------------------------------------------------------------ the test subset

def run_tests(tiny):
    """``pytest -m cuda`` (one file with ``--tiny``): the counts from pytest's last line."""
    paths = ['tests/models/test_amp_devices.py'] if tiny else []
    cmd = [sys.executable, '-m', 'pytest', '-q', '-m', 'cuda', '-p', 'no:cacheprovider', *paths]
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    last = (res.stdout.strip().splitlines() or [''])[-1]
    counts = {k: int(n) for n, k in re.findall(r'(\d+) (passed|failed|skipped|errors?|deselected)', last)}
    # pytest: 0 all passed, 5 nothing collected (no cuda test selected)
    ok = res.returncode in (0, 5) and not counts.get('failed') and not counts.get('error') \
        and not counts.get('errors')
    failed = re.findall(r'^(?:FAILED|ERROR) (\S+)', res.stdout, flags=re.M)
    return dict(command=' '.join(cmd[1:]), returncode=res.returncode, summary=last, counts=counts,
                failed=failed, seconds=round(time.perf_counter() - start, 1), ok=ok)


# ------------------------------------------------------------------ timing helpers

def timed(fn, device, runs, warmup):
    """(median seconds of ``runs`` calls after ``warmup``, peak MiB of one more call on CUDA with
    everything allocated counted (None on the CPU), the first timed call's result)."""
    figures, result = harness.repeated(fn, runs, warmup, device=device)
    peak = harness.peak_memory_mb(fn, device, held=True)[1] if device == 'cuda' else None
    return figures['steady'], peak, result


def precision_context(device, dtype_name):
    """Autocast for bfloat16/float16; float32 with TF32 switched off (CUDA)."""
    if dtype_name == 'float32':
        return torch.backends.cudnn.flags(enabled=True, allow_tf32=False)
    return torch.autocast(device_type=device, dtype=DTYPES[dtype_name])


class NoTF32:
    """float32 matmuls without TF32 on CUDA (restored afterwards)."""

    def __enter__(self):
        self.saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32 = self.saved


def is_oom(err):
    return isinstance(err, torch.cuda.OutOfMemoryError) or 'out of memory' in str(err)


# ------------------------------------------------------------------ one architecture

def build_pair(name, kwargs):
    """(plain, fast or None): the arch with seed-0 weights; the fast twin only if the constructor has
    a ``fast`` flag (same weights)."""
    from restorelab.registry import MODELS
    if name == 'DRSformer':
        import projects.drsformer.drsformer  # noqa: F401 registers DRSformer
    cls = MODELS.get(name)
    has_fast = 'fast' in inspect.signature(cls.__init__).parameters
    torch.manual_seed(0)
    if not has_fast:
        return cls(**kwargs), None
    fast = cls(**kwargs, fast=True)
    plain = cls(**kwargs, fast=False)
    plain.load_state_dict(fast.state_dict())
    return plain, fast


def check_arch(name, kwargs, sizes, device, failures, dtypes=tuple(DTYPES), train=True):
    from restorelab.models.restorers import pad_to_multiple
    plain, fast = build_pair(name, kwargs)
    # The models wait on the CPU: only the one measured is on the GPU, so that the peak memory is
    # what that model needs (plus the inputs and the outputs kept for the comparison).
    models = {'plain': plain.eval()}
    if fast is not None:
        models['fast'] = fast.eval()
    multiple = getattr(plain, 'size_multiple', 8)
    rows = []
    gen = torch.Generator().manual_seed(1)
    for h, w in sizes['infer']:
        x = torch.rand(1, 3, h, w, generator=gen)
        x = pad_to_multiple(x, multiple)[0].to(device)
        for dtype_name in dtypes:
            row = dict(arch=name, case=f'inference {h}x{w}', dtype=dtype_name)
            outs = {}
            for path, model in models.items():
                def run(model=model):
                    with torch.no_grad(), precision_context(device, dtype_name), NoTF32():
                        return model(x)
                model.to(device)
                try:
                    seconds, peak, out = timed(run, device, sizes['runs'], sizes['warmup'])
                except RuntimeError as err:
                    if not is_oom(err):
                        raise
                    row[path] = dict(error='out of memory')
                    continue
                finally:
                    model.to('cpu')
                    if device == 'cuda':
                        torch.cuda.empty_cache()
                outs[path] = out.float()
                row[path] = dict(seconds=seconds, peak_mib=peak,
                                 finite=bool(torch.isfinite(out).all()))
            judge(row, outs, device, failures)
            rows.append(row)
    for batch in sizes['train'] if train else ():
        rows.append(train_case(name, models, batch, sizes, device, failures))
    return rows


def judge(row, outs, device, failures):
    """Agreement and speed of one inference case."""
    label = f"{row['arch']} {row['case']} {row['dtype']}"
    for path, out in outs.items():
        if not row[path]['finite']:
            failures.append(f'{label}: {path} output not finite')
    if set(outs) == {'plain', 'fast'}:
        row['psnr_db'] = harness.agreement_db(outs['fast'], outs['plain'])
        if not row['psnr_db'] >= MIN_DB[row['dtype']]:
            failures.append(f"{label}: plain and fast disagree ({row['psnr_db']:.1f} dB < "
                            f"{MIN_DB[row['dtype']]:.0f} dB)")
        compare_speed(row, label, device, failures)


def compare_speed(row, label, device, failures):
    if 'seconds' in row.get('plain', {}) and 'seconds' in row.get('fast', {}):
        row['speedup'] = row['plain']['seconds'] / row['fast']['seconds']
        if device == 'cuda' and row['fast']['seconds'] > SLOWER_TOLERANCE * row['plain']['seconds']:
            failures.append(f"{label}: the fast path is slower than the plain one on CUDA "
                            f"({row['fast']['seconds'] * 1e3:.1f} ms against {row['plain']['seconds'] * 1e3:.1f} ms)")


def make_wrapper(model, device):
    """mmengine's AmpOptimWrapper (float16, loss scaling) on CUDA; restorelab's bfloat16 one on CPU."""
    from mmengine.optim import AmpOptimWrapper

    from restorelab.engine.optim_wrapper import CPUAmpOptimWrapper
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    if device == 'cuda':
        return AmpOptimWrapper(optimizer=optimizer, dtype='float16', clip_grad=dict(max_norm=0.01))
    return CPUAmpOptimWrapper(optimizer=optimizer, clip_grad=dict(max_norm=0.01))


def train_case(name, models, batch, sizes, device, failures):
    """A training step at ``batch`` x patch^2 under AMP for each path, from the same weights."""
    patch = sizes['patch']
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(batch, 3, patch, patch, generator=gen).to(device)
    gt = torch.rand(batch, 3, patch, patch, generator=gen).to(device)
    amp = 'float16' if device == 'cuda' else 'bfloat16'
    row = dict(arch=name, case=f'train step {batch}x{patch}x{patch}', dtype=f'{amp} AMP')
    first = {}
    for path, model in models.items():
        model = copy.deepcopy(model).to(device).train()
        wrapper = make_wrapper(model, device)

        def step(model=model, wrapper=wrapper):
            with wrapper.optim_context(model):
                loss = F.l1_loss(model(x).float(), gt)
            wrapper.backward(loss)
            grads = None
            if path not in first:
                grads = torch.cat([p.grad.detach().float().flatten() for p in model.parameters()
                                   if p.grad is not None])
            wrapper.step()
            wrapper.zero_grad()
            return loss.detach(), grads

        try:
            loss, grads = step()  # the first step, from the shared weights: agreement
            first[path] = (loss.float(), grads)
            seconds, peak, (loss, _) = timed(step, device, sizes['runs'], sizes['warmup'] - 1)
        except RuntimeError as err:
            if not is_oom(err):
                raise
            row[path] = dict(error='out of memory')
            del model, wrapper
            torch.cuda.empty_cache()
            continue
        row[path] = dict(seconds=seconds, peak_mib=peak, finite=bool(torch.isfinite(loss)))
        del model, wrapper
    label = f"{name} {row['case']}"
    for path in first:
        if not row[path].get('finite', True) or not torch.isfinite(first[path][0]):
            failures.append(f'{label}: {path} loss not finite')
    if set(first) == {'plain', 'fast'}:
        (loss_p, grad_p), (loss_f, grad_f) = first['plain'], first['fast']
        row['loss_rel_diff'] = abs(loss_f - loss_p).item() / max(abs(loss_p.item()), 1e-12)
        row['grad_cosine'] = F.cosine_similarity(grad_f.double(), grad_p.double(), dim=0).item()
        if not (row['loss_rel_diff'] <= 1e-2 and row['grad_cosine'] >= 0.99):
            failures.append(f"{label}: plain and fast disagree (loss rel. diff {row['loss_rel_diff']:.2e}, "
                            f"gradient cosine {row['grad_cosine']:.4f})")
        compare_speed(row, label, device, failures)
    return row


# ------------------------------------------------------------------ tool runs

def run_tools(sizes, device, tiny):
    """A ``tools/train.py --amp`` run and a one-process ``tools/dist_train.sh`` run of the tiny test
    config on synthetic rain: (results, failures)."""
    config = str(ROOT / 'tests' / 'data' / 'configs' / 'tiny_rain200h.py')
    iters = sizes['train_iters']
    results, failures = [], []
    env = dict(os.environ, PYTHON=sys.executable)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as tmp:
        data = Path(tmp) / 'Rain200H'
        for split, names, seed in (('train', 'astronaut,coffee', 0), ('test', 'chelsea', 1)):
            subprocess.run([sys.executable, 'tools/make_synthetic_rain.py', f'skimage:{names}',
                            str(data / split), '--max-side', '64', '--n-per-image', '2', '--seed', str(seed)],
                           cwd=ROOT, check=True, capture_output=True, env=env)
        options = ['--cfg-options', f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                   f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=10',
                   *(f'{loader}.dataset.data_root={data}' for loader in
                     ('train_dataloader', 'val_dataloader', 'test_dataloader'))]
        runs = [('tools/train.py --amp', [sys.executable, 'tools/train.py', config, '--amp'], 'train'),
                ('tools/dist_train.sh 1', ['bash', 'tools/dist_train.sh', config, '1'], 'dist')]
        for label, cmd, work in runs:
            work_dir = str(Path(tmp) / work)
            start = time.perf_counter()
            res = subprocess.run([*cmd, '--work-dir', work_dir, *options], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            seconds = time.perf_counter() - start
            checkpoint = Path(work_dir, f'iter_{iters}.pth').is_file()
            log = res.stdout + res.stderr
            ok = res.returncode == 0 and checkpoint
            results.append(dict(run=f'{label}, {iters} iterations', returncode=res.returncode,
                                checkpoint=checkpoint, seconds=round(seconds, 1), ok=ok))
            if not ok:
                failures.append(f'{label}: exit status {res.returncode}, checkpoint '
                                f'{"written" if checkpoint else "missing"}; last lines: '
                                + ' | '.join(log.strip().splitlines()[-3:]))
    return results, failures


# ------------------------------------------------------------------ the summary

def fmt_case(row):
    def cell(path):
        r = row.get(path)
        if r is None:
            return '-'
        if 'error' in r:
            return r['error']
        mem = '' if r['peak_mib'] is None else f", {r['peak_mib']:.0f} MiB"
        return f"{r['seconds'] * 1e3:.1f} ms{mem}"
    agree = ''
    if 'psnr_db' in row:
        agree = f"{row['psnr_db']:.1f} dB"
    elif 'grad_cosine' in row:
        agree = f"loss rel. diff {row['loss_rel_diff']:.1e}, grad cos {row['grad_cosine']:.5f}"
    speed = f"x{row['speedup']:.2f}" if 'speedup' in row else ''
    return f"  {row['arch']:<9} {row['case']:<24} {row['dtype']:<13} plain {cell('plain'):<22} " \
           f"fast {cell('fast'):<22} {speed:<6} {agree}"


def summary(report):
    env = report['environment']
    lines = ['', '=' * 100, 'restorelab GPU check: summary', '=' * 100]
    lines.append(f"device {env['device']}; GPU {env['gpu'] or 'none'}"
                 + (f" ({env.get('gpu_memory_gib')} GiB)" if env['gpu'] else '')
                 + f"; driver {env['driver'] or 'n/a'}; torch {env['torch']}; CUDA {env['cuda'] or 'n/a'}; "
                 f"cuDNN {env['cudnn'] or 'n/a'}; python {env['python']}; commit {env.get('commit') or 'n/a'}")
    if not torch.cuda.is_available():
        lines.append('no GPU found: torch.cuda.is_available() is False; the figures below are from the CPU')
    if 'tests' in report:
        t = report['tests']
        lines.append(f"tests ({t['command']}): {t['summary']} in {t['seconds']} s"
                     + (f"; failed: {', '.join(t['failed'])}" if t['failed'] else ''))
    if report.get('cases'):
        lines.append(f"plain vs fast ({report['size']} size; median of {report['runs']} runs; peak memory of "
                     'one run; agreement: PSNR between outputs, or loss and gradient agreement of a step):')
        lines.extend(fmt_case(row) for row in report['cases'])
    for run in report.get('tools', []):
        lines.append(f"{run['run']}: {'ok' if run['ok'] else 'FAILED'} (exit {run['returncode']}, "
                     f"{run['seconds']} s)")
    failures = report['failures']
    lines.append(f"result: {'FAIL' if failures else 'PASS'}" + ''.join(f'\n  - {f}' for f in failures))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--tiny', action='store_true', help='tiny models and sizes (seconds on a CPU)')
    parser.add_argument('--sections', default=','.join(DEFAULT_SECTIONS),
                        help=f'comma-separated subset of {",".join(SECTIONS)}')
    parser.add_argument('--json', help='also write the report as JSON here')
    harness.add_record_options(parser, 'the same as --tiny')
    args = parser.parse_args(argv)
    args.tiny = args.dry_run = args.tiny or args.dry_run
    sections = [s for s in args.sections.split(',') if s]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f'--sections: unknown {unknown}; choose from {",".join(SECTIONS)}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device (torch.cuda.is_available() is False); use --device cpu')
    begun = harness.begin()
    size = 'tiny' if args.tiny else 'full'
    sizes = SIZES[size]
    report = dict(environment=environment(args.device), size=size, runs=sizes['runs'], failures=[])
    if 'tests' in sections:
        report['tests'] = run_tests(args.tiny)
        if not report['tests']['ok']:
            report['failures'].append(f"tests: {report['tests']['summary']}")
    report['cases'] = []
    for name in ('DRSformer', 'Restormer'):
        if name.lower() in sections:
            print(f'{name}: plain vs fast on {args.device} ...', flush=True)
            report['cases'] += check_arch(name, sizes['models'][name], sizes, args.device, report['failures'])
    if 'agreement' in sections and 'drsformer' not in sections:
        one = dict(sizes, infer=sizes['infer'][:1])
        report['cases'] += check_arch('DRSformer', sizes['models']['DRSformer'], one, args.device,
                                      report['failures'], dtypes=('float32',), train=False)
    if 'train' in sections:
        print('tools/train.py and tools/dist_train.sh ...', flush=True)
        report['tools'], failures = run_tools(sizes, args.device, args.tiny)
        report['failures'] += failures
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    print(summary(report), flush=True)
    harness.finish(args, SCRIPT, report, begun, variant=None if args.device == 'cuda' else args.device,
                   argv=argv)
    return 1 if report['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
