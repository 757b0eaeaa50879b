"""Runs a TensorFlow 1.x release (DDN, MSPFN) for ``official_equivalence.py``'s adapters.

This script is run by the adapters in a separate Python that has TensorFlow 2.x (``tf.compat.v1``
runs the TF1 code; restorelab itself never imports TensorFlow), e.g. a scratch virtualenv::

    python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.15.1 tf-slim
    RESTORELAB_TF_PYTHON=/tmp/tf/bin/python python benchmarks/official_equivalence.py ddn --release DIR

    python _tf_release.py MODEL VARIANT RELEASE_DIR WORK_DIR SEED

It builds the release's own graph from RELEASE_DIR (its modules imported as they are; what
TF2 lacks of TF1 is supplied: ``tf.contrib.slim`` by tf-slim, ``tf.contrib.layers``'
initialisers and regulariser, which do not change the forward pass), draws every variable
(seeded numpy, float32 values), saves them with ``tf.train.Saver`` as
``WORK_DIR/ckpt/model`` (the release's checkpoint format) and runs the graph on each
``WORK_DIR/in_<H>x<W>.npy`` (``(1, 3, H, W)`` RGB in [0, 1], written by the adapter) through
the release's test-time input and output conventions, in float32 and in float64, writing
``out_<H>x<W>_<dtype>.npy`` (``(1, 3, H, W)``). For float64 the release's hard-coded
``tf.float32`` (variables, constants, LSTM states) is read as ``tf.float64`` through the
module the release imports as ``tensorflow`` (whose ``maximum``/``minimum`` also give a Python
number the other operand's dtype, as ``prelu``'s ``tf.maximum(0.0, x)`` needs); every op then
runs in float64 on the CPU. The release's files are not edited.
``WORK_DIR/official.json`` gets the number of trainable values and what was built (``graph``,
``float64``), which the adapters copy into the results record.

The values are loaded with one ``Session.run`` of all the variables' initializers (values fed
for their initial-value tensors): ``Variable.load`` per variable is one run each, and each run of
a new fetch prunes the whole graph, which for MSPFN's ~860 variables took most of an hour.
"""
import json
import os
import sys
import types
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf1  # noqa: E402

tf1.disable_v2_behavior()
import tf_slim  # noqa: E402


def tensorflow_shim():
    """The ``tensorflow`` module the release imports: ``tf.compat.v1`` plus ``tf.contrib``."""
    shim = types.ModuleType('tensorflow')
    shim.__dict__.update(tf1.__dict__)
    shim.contrib = types.SimpleNamespace(
        slim=tf_slim,
        layers=types.SimpleNamespace(xavier_initializer=tf1.glorot_uniform_initializer,
                                     l2_regularizer=lambda scale: (lambda w: scale * tf1.nn.l2_loss(w))))
    return shim


TF = tensorflow_shim()


def _binary_with_python_scalars(op):
    """``op(a, b)`` where a Python number takes the other operand's dtype (TensorFlow would
    make ``tf.maximum(0.0, x)``'s 0.0 a float32 and refuse a float64 ``x``)."""
    def wrapper(a, b, name=None):
        if isinstance(a, (int, float)) and hasattr(b, 'dtype'):
            a = tf1.constant(a, dtype=b.dtype)
        if isinstance(b, (int, float)) and hasattr(a, 'dtype'):
            b = tf1.constant(b, dtype=a.dtype)
        return op(a, b, name=name)
    return wrapper


FLOAT64 = ("the release's files unchanged; the module they import as 'tensorflow' (tf.compat.v1, "
           "tf_slim as tf.contrib.slim) has tf.float32 = tf.float64, tf.zeros' default dtype "
           "float64, and tf.maximum/tf.minimum giving a Python number the other operand's dtype "
           "(prelu's tf.maximum(0.0, x)); every op runs in float64")


def use_dtype(dtype):
    """Make the release's ``tf.float32`` and ``tf.zeros``' default mean ``dtype``."""
    TF.float32 = dtype
    TF.zeros = lambda shape, dtype=dtype, name=None: tf1.zeros(shape, dtype=dtype, name=name)
    TF.maximum = _binary_with_python_scalars(tf1.maximum)
    TF.minimum = _binary_with_python_scalars(tf1.minimum)


def import_release(release_dir, folder, module):
    """Import ``release_dir/folder/module.py`` with the shim as ``tensorflow``, the working
    folder set as the release's scripts expect, and stand-ins for its unused GUI/IO imports."""
    sys.modules['tensorflow'] = TF
    for name in ('cv2', 'PIL', 'matplotlib', 'matplotlib.pyplot', 'tqdm', 'skimage', 'skimage.io'):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules['PIL'].Image = None
    os.chdir(Path(release_dir) / folder)
    sys.path.insert(0, str(Path(release_dir) / folder))
    sys.path.insert(0, str(Path(release_dir) / 'utils'))
    return __import__(module)


class DDN:
    """``training.inference`` of CVPR17_training_code (RGB in [0, 1] in and out)."""

    def __init__(self, release_dir, variant):
        self.training = import_release(release_dir, '.', 'training')
        self.graph = "training.py's inference(x, is_training=False)"

    def build(self, x):
        return self.training.inference(x, is_training=False)

    @staticmethod
    def to_release(rgb):
        return rgb.transpose(0, 2, 3, 1)

    @staticmethod
    def from_release(out):
        return out.transpose(0, 3, 1, 2)

    @staticmethod
    def fan_in(name, shape):
        return shape[0] * shape[1] * shape[2]


class MSPFN:
    """``TEST_MSPFN_M17N1.Model`` (variant 'M17N1', the released network) or ``MSPFN.MODEL``
    (variant 'MSPFN', train_MSPFN.py's network); BGR in [-1, 1] in, ``imitation`` out."""

    def __init__(self, release_dir, variant):
        if variant == 'M17N1':
            self.cls = import_release(release_dir, 'model', 'TEST_MSPFN_M17N1').Model
            self.make = lambda x: self.cls(x, None, 1)
            self.graph = ("model/TEST_MSPFN_M17N1.py: Model(x, None, 1).imitation (the generator "
                          "only, as test_MSPFN.py builds it)")
        else:
            self.cls = import_release(release_dir, 'model', 'MSPFN').MODEL
            # MODEL.__init__ also builds the training loss, whose Laplacian is a float32-only
            # constant; the forward measured here does not need it.
            self.cls.inference_losses = lambda model, x, imitation: (None, None)
            self.make = lambda x: self.cls(x, x, None, 1)
            self.graph = ("model/MSPFN.py: MODEL(x, x, None, 1).imitation, the generator only: "
                          "MODEL.inference_losses (train_MSPFN.py's loss, whose Laplacian "
                          "constant is float32 only) replaced in memory by a function building "
                          "nothing")

    def build(self, x):
        return self.make(x).imitation

    @staticmethod
    def to_release(rgb):
        return rgb[:, ::-1].transpose(0, 2, 3, 1) * 2 - 1

    @staticmethod
    def from_release(out):
        return (out.transpose(0, 3, 1, 2)[:, ::-1] + 1) / 2

    @staticmethod
    def fan_in(name, shape):
        # deconv_layer filters are (kh, kw, out, in); conv_layer ('down*') and the other
        # kernels (kh, kw, in, out).
        transposed = name.endswith('/weight') and '/down' not in name
        return shape[0] * shape[1] * shape[3 if transposed else 2]


RELEASES = dict(ddn=DDN, mspfn=MSPFN)


def random_values(release, variables, seed):
    """Seeded float32 values for every variable: kernels N(0, 1/fan_in), moving variances
    U(0.5, 1.5), other vectors U(-0.2, 0.2)."""
    rng = np.random.RandomState(seed)
    values = {}
    for var in variables:
        name, shape = var.op.name, var.shape.as_list()
        if name.endswith('moving_variance'):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 4:
            value = rng.standard_normal(shape) / np.sqrt(release.fan_in(name, shape))
        else:
            value = rng.uniform(-0.2, 0.2, shape)
        values[name] = value.astype(np.float32)
    return values


def load_values(sess, variables, values, dtype):
    """Give every variable its value in one run of all the initializers."""
    sess.run([var.initializer for var in variables],
             {var.initializer.inputs[1]: values[var.op.name].astype(dtype) for var in variables})


def run(model, variant, release_dir, work_dir, seed):
    work_dir = Path(work_dir).resolve()
    release = RELEASES[model](Path(release_dir).resolve(), variant)
    inputs = sorted(work_dir.glob('in_*.npy'))
    config = tf1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
    values = None
    for dtype_name, dtype in (('float32', tf1.float32), ('float64', tf1.float64)):
        use_dtype(dtype)
        for path in inputs:
            rgb = np.load(path)
            tf1.reset_default_graph()
            x = tf1.placeholder(dtype, [1, *release.to_release(rgb).shape[1:]])
            out = release.build(x)
            variables = tf1.global_variables()
            with tf1.Session(config=config) as sess:
                if values is None:
                    values = random_values(release, variables, seed)
                    load_values(sess, variables, values, np.float32)
                    tf1.train.Saver().save(sess, str(work_dir / 'ckpt' / 'model'),
                                           write_meta_graph=False)
                    trainable = sum(int(np.prod(v.shape.as_list())) for v in tf1.trainable_variables())
                    (work_dir / 'official.json').write_text(json.dumps(dict(
                        trainable_values=trainable, variables=len(variables),
                        graph=release.graph, float64=FLOAT64)))
                else:
                    load_values(sess, variables, values, dtype.as_numpy_dtype)
                result = sess.run(out, {x: release.to_release(rgb).astype(dtype.as_numpy_dtype)})
            stem = path.stem[len('in_'):]
            np.save(work_dir / f'out_{stem}_{dtype_name}.npy',
                    np.ascontiguousarray(release.from_release(result.astype(np.float64))))


if __name__ == '__main__':
    model_name, variant_name, release_path, work_path, seed_text = sys.argv[1:6]
    run(model_name, variant_name, release_path, work_path, int(seed_text))
