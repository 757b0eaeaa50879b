"""ImageRestorer: the one mmengine model that wraps every restoration arch."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from restorelab.registry import MODELS
from restorelab.structures import DataSample
from ..data_preprocessors import stack_gt
from .inference_utils import RESTORER_ONLY_KEYS, check_size_multiple, check_test_cfg, restore_tensor


def _build(cfg, what):
    if isinstance(cfg, nn.Module):
        return cfg
    if isinstance(cfg, dict):
        return MODELS.build(cfg)
    raise TypeError(f'ImageRestorer: {what} must be a config dict or an nn.Module, got {type(cfg).__name__}')


@MODELS.register_module()
class ImageRestorer(BaseModel):
    """Loss, test-time padding/tiling/self-ensemble and clamping around an arch.

    Args:
        arch: config dict built from MODELS, or an ``nn.Module`` mapping
            ``(N, 3, H, W)`` in [0, 1] to the same shape; its ``size_multiple``
            attribute (default 1) is the factor H and W must be multiples of.
        pixel_loss: loss config (e.g. ``dict(type='L1Loss', loss_weight=1.0)``) or
            module, called as ``loss(pred, gt)``; None for an inference-only model. A loss
            whose ``takes_stage_outputs`` is True (``MultiStageLoss``, ``MultiScaleLoss``) is
            called with the list of the arch's ``forward_stages(inputs)`` instead of one
            prediction; those outputs may have other sizes than the target (a multi-scale arch's),
            the loss checks them. One whose ``takes_attention_map`` is True (``AttentionMaskLoss``)
            is called as ``loss(pred, gt, attention, inputs)`` with ``pred, attention`` from the
            arch's ``forward_with_attention(inputs)``. A loss whose ``takes_inputs`` is True also
            gets the input batch, ``loss(pred, gt, inputs=inputs)`` (FADformer's frequency
            contrastive loss uses the rainy inputs as negatives).
        data_preprocessor: config or module; None means ``RestorationDataPreprocessor``.
        train_cfg: no options yet; must be None or empty.
        test_cfg: ``pad_mode`` ('reflect'|'replicate'|'constant'), ``tile`` (None, an
            int, a multiple of ``size_multiple``, or 'auto': tiles for large inputs only,
            see :func:`auto_tile`), ``tile_overlap`` (int, default 32),
            ``tile_batch_size`` (int, default 1), ``self_ensemble`` (bool); see
            :func:`restore_tensor`. ``bf16`` (bool, default False): run the arch under
            bfloat16 autocast. ``compile`` (False, True or a dict of ``torch.compile``
            keyword arguments): run a compiled arch (compiled at the first call, and again
            for new input sizes). Both are off by default: on the CPUs this project is
            measured on they make DRSformer slower (docs/performance.md). Unknown keys are
            an error.
    """

    def __init__(self, arch, pixel_loss, data_preprocessor=None, train_cfg=None, test_cfg=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='RestorationDataPreprocessor')
        super().__init__(data_preprocessor=_build(data_preprocessor, 'data_preprocessor'),
                         init_cfg=init_cfg)
        self.arch = _build(arch, 'arch')
        self.size_multiple = check_size_multiple(getattr(self.arch, 'size_multiple', 1),
                                                 type(self.arch).__name__)
        self.pixel_loss = None if pixel_loss is None else _build(pixel_loss, 'pixel_loss')
        if train_cfg:
            raise ValueError(f'ImageRestorer takes no train_cfg options, got {dict(train_cfg)}')
        self.train_cfg = train_cfg
        self.test_cfg = check_test_cfg(test_cfg, self.size_multiple)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """``inputs`` ``(N, 3, H, W)``. Modes: 'tensor' -> the arch's raw output;
        'loss' -> ``dict(loss_pix=...)`` against the samples' ``gt_img``;
        'predict' -> list of DataSample copies (on CPU) with ``pred_img`` in [0, 1]."""
        if mode == 'tensor':
            return self.arch(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"ImageRestorer.forward: mode={mode!r}; expected 'tensor', 'predict' or 'loss'")

    def loss(self, inputs, data_samples):
        if self.pixel_loss is None:
            raise RuntimeError('ImageRestorer was built with pixel_loss=None: it cannot be trained; '
                               "set e.g. pixel_loss=dict(type='L1Loss')")
        h, w = inputs.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f'training input {h}x{w} is not a multiple of the arch\'s size_multiple '
                f'{self.size_multiple}; choose a patch size that is')
        gt = stack_gt(data_samples, like=inputs)
        per_stage = getattr(self.pixel_loss, 'takes_stage_outputs', False)
        with_attention = getattr(self.pixel_loss, 'takes_attention_map', False)
        if with_attention:
            if not callable(getattr(self.arch, 'forward_with_attention', None)):
                raise ValueError(
                    f'{type(self.pixel_loss).__name__} needs the arch\'s attention map, but '
                    f'{type(self.arch).__name__} has no forward_with_attention(); use a loss of '
                    "the final output (e.g. dict(type='L1Loss'))")
            pred, attention = self.arch.forward_with_attention(inputs)
            preds = [pred]
        elif per_stage:
            if not callable(getattr(self.arch, 'forward_stages', None)):
                raise ValueError(
                    f'{type(self.pixel_loss).__name__} needs the output of every stage, but '
                    f'{type(self.arch).__name__} has no forward_stages(); use a loss of the '
                    "final output (e.g. dict(type='MSELoss'))")
            preds = list(self.arch.forward_stages(inputs))
        else:
            preds = [self.arch(inputs)]
        for pred in preds:
            # Stage outputs may be smaller than the target (e.g. NeRD-Rain's half- and quarter-size
            # outputs, which MultiScaleLoss compares with a pyramid of it).
            if not torch.is_tensor(pred) or (not per_stage and pred.shape != gt.shape):
                got = tuple(pred.shape) if torch.is_tensor(pred) else type(pred).__name__
                raise ValueError(f'the arch returned {got}; expected a tensor of shape {tuple(gt.shape)}')
        # Losses in float32 also under AMP: autocast would run SSIM's convolutions
        # in half precision, and eps/log terms need float32.
        extra = dict(inputs=inputs.float()) if getattr(self.pixel_loss, 'takes_inputs', False) else {}
        with torch.autocast(device_type=gt.device.type, enabled=False):
            preds = [p.float() for p in preds]
            if with_attention:
                loss = self.pixel_loss(preds[0], gt.float(), attention.float(), inputs.float())
            else:
                loss = self.pixel_loss(preds if per_stage else preds[0], gt.float(), **extra)
        return dict(loss_pix=loss)

    def compiled_arch(self, options):
        """``torch.compile(self.arch, **options)``, built once per set of options and kept outside the
        module tree (the compiled wrapper shares the arch's parameters; it must not add state_dict keys)."""
        key = repr(sorted(options.items()))
        cache = self.__dict__.setdefault('_compiled_archs', {})
        if key not in cache:
            cache[key] = torch.compile(self.arch, **options)
        return cache[key]

    @torch.no_grad()
    def restore(self, inputs, progress=None):
        """Restore ``(N, 3, H, W)`` in [0, 1] with ``test_cfg``; returns the same shape clamped to
        [0, 1]. ``progress(done, total)`` is called around every arch call (see :func:`restore_tensor`)."""
        cfg = dict(self.test_cfg)
        bf16, comp = (cfg.pop(k) for k in RESTORER_ONLY_KEYS)
        fn = self.arch if comp is False else self.compiled_arch({} if comp is True else comp)
        with torch.autocast(device_type=inputs.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = restore_tensor(fn, inputs, size_multiple=self.size_multiple, progress=progress,
                                 **cfg)
        return out.to(inputs.dtype).clamp_(0.0, 1.0)

    def predict(self, inputs, data_samples=None):
        preds = self.restore(inputs).float().cpu()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(preds))]
        if len(data_samples) != len(preds):
            raise ValueError(f'{len(preds)} inputs but {len(data_samples)} data_samples')
        results = []
        for sample, pred in zip(data_samples, preds):
            result = sample.cpu()  # a new DataSample; the input's stays untouched
            result.pred_img = pred
            results.append(result)
        return results
