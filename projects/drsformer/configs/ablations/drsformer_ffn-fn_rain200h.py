# Paper Table 3, "FN [7]": ViT's feed-forward network (1x1 expand to int(2.66 * C), GELU, 1x1 project)
# in place of MSFN. Paper (Rain200H, PSNR / SSIM): 31.84 / 0.9275. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(ffn_type='fn'))
