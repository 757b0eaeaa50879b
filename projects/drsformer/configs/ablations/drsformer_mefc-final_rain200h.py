# Paper Table 4 (c): MEFC-2 only (the final MEFC, before the output conv), 8 experts. Paper (Rain200H,
# PSNR / SSIM): 32.07 / 0.9328. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(mefc_positions=['final']))
