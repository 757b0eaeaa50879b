# Paper Table 3, "DFN [25]": LocalViT's depth-wise-conv feed-forward network (1x1 expand to
# int(2.66 * C), 3x3 depth-wise, GELU, 1x1 project) in place of MSFN. Paper (Rain200H, PSNR / SSIM):
# 31.88 / 0.9279. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(ffn_type='dfn'))
