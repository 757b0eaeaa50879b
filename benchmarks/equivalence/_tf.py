"""What the adapters of TensorFlow releases (DDN, MSPFN) share: ``compare()`` runs the release
under TensorFlow in another Python (``_tf_release.py``; restorelab never imports TensorFlow)
and measures restorelab's arch against its outputs on the weights TensorFlow saved."""
import copy
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

TF_PYTHON_ENV = 'RESTORELAB_TF_PYTHON'
RUNNER = Path(__file__).resolve().parent / '_tf_release.py'


def tf_python():
    """The Python with TensorFlow: ``$RESTORELAB_TF_PYTHON``, checked to import it."""
    python = os.environ.get(TF_PYTHON_ENV)
    if not python:
        raise SystemExit(f'set {TF_PYTHON_ENV} to a Python with tensorflow (2.x, for tf.compat.v1) '
                         'and tf-slim, e.g. a scratch virtualenv: python3 -m venv /tmp/tf && '
                         '/tmp/tf/bin/pip install tensorflow-cpu==2.15.1 tf-slim')
    check = subprocess.run([python, '-c', 'import tensorflow, tf_slim'], capture_output=True, text=True)
    if check.returncode:
        raise SystemExit(f'{TF_PYTHON_ENV}={python} cannot import tensorflow and tf_slim:\n'
                         f'{check.stderr.strip().splitlines()[-1] if check.stderr.strip() else ""}')
    return python


def compare_tf_release(model, spec, release_dir, variant, sizes, seed):
    """The figures of one variant (``spec``: ``dict(arch=..., official=<runner variant>)``)."""
    from harness import psnr  # benchmarks/, on sys.path under official_equivalence.py

    from restorelab.models.archs.common import count_parameters
    from restorelab.models.converters import load_official_checkpoint
    from restorelab.models.converters.tf_checkpoint import read_tf_checkpoint
    from restorelab.registry import MODELS

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = {}
        for h, w in sizes:
            gen = torch.Generator().manual_seed(seed + h * 1000 + w)
            inputs[h, w] = torch.rand(1, 3, h, w, generator=gen, dtype=torch.float64)
            np.save(work / f'in_{h}x{w}.npy', inputs[h, w].numpy())
        run = subprocess.run([tf_python(), str(RUNNER), model, spec['official'], str(release_dir),
                              str(work), str(seed)], capture_output=True, text=True)
        if run.returncode:
            raise SystemExit(f'the release failed under TensorFlow ({model} {variant}):\n'
                             + '\n'.join(run.stderr.strip().splitlines()[-15:]))
        official = json.loads((work / 'official.json').read_text())
        checkpoint = work / 'ckpt' / 'model'
        state_dict = load_official_checkpoint(checkpoint, model, arch=spec['arch'])
        raw = read_tf_checkpoint(checkpoint)
        ours = MODELS.build(dict(spec['arch'])).eval()
        ours.load_state_dict(state_dict, strict=True)
        # One copy per precision, as official_equivalence.py makes them for PyTorch releases.
        models = {dtype: copy.deepcopy(ours).to(dtype) for dtype in (torch.float64, torch.float32)}
        figures = dict(params=count_parameters(ours), official_params=official['trainable_values'],
                       checkpoint_values=int(sum(v.numel() for v in raw.values())),
                       converted_values=int(sum(v.numel() for v in state_dict.values())),
                       official_graph=official['graph'], official_float64=official['float64'])
        for (h, w), x in inputs.items():
            row = {}
            for dtype, model in models.items():
                key = str(dtype).replace('torch.', '')
                theirs = torch.from_numpy(np.load(work / f'out_{h}x{w}_{key}.npy'))
                with torch.no_grad():
                    mine = model(x.to(dtype)).double()
                if mine.shape != theirs.shape:
                    raise SystemExit(f'{variant} at {h}x{w}: official output {tuple(theirs.shape)}, '
                                     f'restorelab {tuple(mine.shape)}')
                row[f'{key}_max_abs'] = float((theirs - mine).abs().max())
                if dtype == torch.float32:
                    row['float32_psnr_db'] = psnr(theirs, mine)
            figures[f'{h}x{w}'] = row
    return figures

