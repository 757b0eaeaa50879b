# Paper Table 4 (a): sparse Transformer blocks only, no MEFC (0 experts). Paper (Rain200H, PSNR / SSIM):
# 32.03 / 0.9308. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
use_mefc = False
model = dict(arch=dict(use_mefc=use_mefc))
