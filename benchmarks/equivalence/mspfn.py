"""MSPFN against kuijiang94/MSPFN (TensorFlow 1.x), run under TensorFlow in another Python.

``--release`` is the checkout; set ``RESTORELAB_TF_PYTHON`` (see ``_tf.py``). Variants: 'M17N1'
(``model/TEST_MSPFN_M17N1.py``, the released weights' network) and 'MSPFN' (``model/MSPFN.py``,
the network ``train_MSPFN.py`` trains). The release's graph saves its random weights with
``tf.train.Saver``; converter 'mspfn' reads that checkpoint without TensorFlow."""
from ._tf import compare_tf_release

RELEASE = ('kuijiang94/MSPFN', '26e6073b163ac4f087d6c57bf55eba7ed20751d7')
CONVERTER = 'mspfn'
# Multiples of 4 (size_multiple; the release's static shapes): 64x64 square, 48x80 not; 44x76
# makes the 1/4 scale odd (11x19), where TensorFlow's 'SAME' padding of the stride-2 convs is
# symmetric; at 64x64 and 48x80 every scale is even.
SIZES = [(64, 64), (48, 80), (44, 76)]
VARIANTS = {
    'M17N1': dict(arch=dict(type='MSPFN', num_ffms=17, num_caus=(1, 1, 1)), official='M17N1'),
    'MSPFN': dict(arch=dict(type='MSPFN', num_ffms=17, num_caus=(3, 3, 1)), official='MSPFN'),
}


def compare(release_dir, variant, sizes, seed):
    return compare_tf_release(CONVERTER, VARIANTS[variant], release_dir, variant, sizes, seed)
