# Paper Table 4 (b): MEFC-1 only (the early MEFC, after the patch embedding), 8 experts. Paper
# (Rain200H, PSNR / SSIM): 32.01 / 0.9311. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(mefc_positions=['early']))
