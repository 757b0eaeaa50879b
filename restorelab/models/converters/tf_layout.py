"""TensorFlow -> PyTorch layouts shared by the converters of TensorFlow releases (DDN, MSPFN):
kernel transposes and the optimizer state a ``tf.train.Saver()`` checkpoint also holds."""
import re

# Variables of the optimizers and step counters TF1 training scripts save beside the weights:
# Adam's and Momentum's slots (``<var>/Adam``, ``<var>/Adam_1``, ``<var>/Momentum``), Adam's
# ``beta1_power``/``beta2_power`` and ``global_step`` (under any scope).
OPTIMIZER_STATE = re.compile(r'(/(Adam|Adam_\d+|Momentum|RMSProp|RMSProp_\d+)$)'
                             r'|(^|/)(beta[12]_power(_\d+)?|global_step)$')


def without_optimizer_state(variables):
    """``variables`` (name -> tensor) without the optimizer slots and step counters."""
    return {k: v for k, v in variables.items() if not OPTIMIZER_STATE.search(k)}


def conv_kernel(kernel):
    """A ``tf.nn.conv2d`` kernel ``(kh, kw, in, out)`` as a ``Conv2d`` weight ``(out, in, kh, kw)``.

    The same permutation turns a ``tf.nn.conv2d_transpose`` filter ``(kh, kw, out, in)`` into a
    ``ConvTranspose2d`` weight ``(in, out, kh, kw)``: both are the kernel of the forward
    convolution whose gradient the transposed convolution is."""
    return kernel.permute(3, 2, 0, 1).contiguous()


def transposed_kernel_as_conv(kernel):
    """A stride-1 ``tf.nn.conv2d_transpose`` filter ``(kh, kw, out, in)`` as the ``Conv2d``
    weight ``(out, in, kh, kw)`` computing the same map: the kernel flipped in space, in and
    out swapped (exact for odd kernels with 'SAME' padding, where the padding is symmetric)."""
    return kernel.flip(0, 1).permute(2, 3, 0, 1).contiguous()

