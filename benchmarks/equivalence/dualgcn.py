"""DualGCN against the authors' TensorFlow 1.x release (``paper/2021/AAAI/code/model.py`` of
xueyangfu/xueyangfu.github.io), run under TensorFlow in a separate Python.

The release is TensorFlow, not a dependency of restorelab: its module runs in a child
process of a Python that has ``tensorflow-cpu`` (a scratch virtualenv), named by the
environment variable ``TF_PYTHON``::

    python3.11 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1
    TF_PYTHON=/tmp/tfvenv/bin/python python benchmarks/official_equivalence.py dualgcn \\
        --release CHECKOUT

``CHECKOUT`` is the repository at the commit below (or its ``paper/2021/AAAI/code`` folder).
The child builds ``model.Inference`` (the release's ``import tensorflow as tf`` is served
``tensorflow.compat.v1`` in graph mode) in float64, redraws every variable (seeded), saves
them with ``tf.train.Saver`` (the release's checkpoint format: ``.index`` + ``.data``), runs
the graph in float64 and, with the same values cast, in float32, on the inputs this process
drew. restorelab's converter then reads the saved checkpoint, and its DualGCN runs the same
inputs.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

RELEASE = ('xueyangfu/xueyangfu.github.io', '99fe217b116064608821be4907e8b250377d2c8c')
CONVERTER = 'dualgcn'
SIZES = [(64, 64), (48, 80)]
VARIANTS = {
    # channels is the only option of the release's Inference(images, channels=72).
    'DualGCN': dict(arch=dict(type='DualGCN', channels=72), official=dict(channels=72)),
}
RELEASE_SUBDIR = 'paper/2021/AAAI/code'

# Runs under TF_PYTHON. argv: release code folder, work folder, channels, seed.
_CHILD = r'''
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
sys.modules['tensorflow'] = tf  # the release's "import tensorflow as tf" gets the v1 API
code_dir, work, channels, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, code_dir)
import model  # the release's model.py
sizes = json.load(open(work + '/sizes.json'))
rng = np.random.default_rng(seed)
values = None
for dtype in (tf.float64, tf.float32):
    graph = tf.Graph()
    with graph.as_default():
        rain = tf.placeholder(dtype, [1, None, None, 3])
        output = model.Inference(rain, channels=channels)
        variables = tf.trainable_variables()
        with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1,
                                              inter_op_parallelism_threads=1)) as sess:
            if values is None:  # weights ~ N(0, 1/fan_in), biases ~ U(-0.2, 0.2)
                values = {}
                for v in variables:
                    shape = v.shape.as_list()
                    if len(shape) > 1:
                        values[v.name] = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))
                    else:
                        values[v.name] = (rng.random(shape) - 0.5) * 0.4
            for v in variables:
                v.load(values[v.name].astype(v.dtype.base_dtype.as_numpy_dtype), sess)
            if dtype == tf.float64:
                tf.train.Saver(var_list=variables).save(sess, work + '/model-random',
                                                        write_meta_graph=False)
            for h, w in sizes:
                x = np.load(f'{work}/input_{h}x{w}.npy').transpose(0, 2, 3, 1)
                y = sess.run(output, {rain: x.astype(dtype.as_numpy_dtype)})
                np.save(f'{work}/official_{h}x{w}_{dtype.name}.npy', y.transpose(0, 3, 1, 2))
print(sum(int(np.prod(v.shape)) for v in values.values()))
'''


def _code_dir(release_dir):
    for candidate in (Path(release_dir) / RELEASE_SUBDIR, Path(release_dir)):
        if (candidate / 'model.py').is_file():
            return candidate
    raise SystemExit(f'{release_dir}: neither {RELEASE_SUBDIR}/model.py nor model.py found: is '
                     f'--release the checkout of {RELEASE[0]} at {RELEASE[1][:7]}?')


def _tf_python():
    python = os.environ.get('TF_PYTHON')
    if not python or not Path(python).is_file():
        raise SystemExit('DualGCN\'s release is TensorFlow: set TF_PYTHON to a Python that has '
                         'tensorflow-cpu (see benchmarks/equivalence/dualgcn.py), got '
                         f'TF_PYTHON={python!r}')
    return python


def compare(release_dir, variant, sizes, seed):
    from harness import agreement_db

    from restorelab.models.archs.common import count_parameters
    from restorelab.models.converters import load_official_checkpoint
    from restorelab.registry import MODELS

    spec = VARIANTS[variant]
    code_dir = _code_dir(release_dir)
    with tempfile.TemporaryDirectory() as work:
        inputs = {}
        for h, w in sizes:
            gen = torch.Generator().manual_seed(seed + h * 1000 + w)
            inputs[(h, w)] = torch.rand(1, 3, h, w, generator=gen, dtype=torch.float64)
            np.save(f'{work}/input_{h}x{w}.npy', inputs[(h, w)].numpy())
        Path(work, 'sizes.json').write_text(json.dumps([list(s) for s in sizes]))
        env = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2',
                   PYTHONPATH='')
        run = subprocess.run([_tf_python(), '-c', _CHILD, str(code_dir), work,
                              str(spec['official']['channels']), str(seed)],
                             capture_output=True, text=True, env=env)
        if run.returncode != 0:
            raise SystemExit(f'the release under TensorFlow failed:\n{run.stderr[-3000:]}')
        official_params = int(run.stdout.strip().splitlines()[-1])
        state_dict = load_official_checkpoint(Path(work) / 'model-random.index', CONVERTER,
                                              arch=spec['arch'])
        # One model per dtype: casting one model to float32 and back would round its weights.
        models = {}
        for dtype in (torch.float64, torch.float32):
            models[dtype] = MODELS.build(dict(spec['arch'])).eval().to(dtype)
            models[dtype].load_state_dict(state_dict, strict=True)
        figures = dict(params=count_parameters(models[torch.float64]),
                       official_params=official_params)
        for h, w in sizes:
            row = {}
            for dtype, name in ((torch.float64, 'float64'), (torch.float32, 'float32')):
                official = torch.from_numpy(np.load(f'{work}/official_{h}x{w}_{name}.npy'))
                with torch.no_grad():
                    mine = models[dtype](inputs[(h, w)].to(dtype))
                row[f'{name}_max_abs'] = float((official.double() - mine.double()).abs().max())
                if dtype == torch.float32:
                    row['float32_psnr_db'] = agreement_db(official, mine)
            figures[f'{h}x{w}'] = row
    return figures
