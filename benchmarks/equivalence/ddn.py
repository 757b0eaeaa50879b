"""DDN against Xueyang Fu's TensorFlow release (``CVPR17_training_code.zip`` of
xueyangfu/xueyangfu.github.io, ``paper/2017/cvpr/``), run under TensorFlow in another Python.

``--release`` is the unpacked archive's ``CVPR17_training_code`` folder; set
``RESTORELAB_TF_PYTHON`` (see ``_tf.py``). The release's graph saves its random weights with
``tf.train.Saver``; converter 'ddn' reads that checkpoint without TensorFlow."""
from ._tf import compare_tf_release

RELEASE = ('xueyangfu/xueyangfu.github.io', '5cd918be695654e2048ba3e7ed1b86e3b5474259')
CONVERTER = 'ddn'
# The release's guided filter needs height and width above 31 (its radius is 15).
SIZES = [(64, 64), (48, 80)]
VARIANTS = {'DDN': dict(arch=dict(type='DDN'), official='DDN')}


def compare(release_dir, variant, sizes, seed):
    return compare_tf_release(CONVERTER, VARIANTS[variant], release_dir, variant, sizes, seed)
