# Paper Table 4 (e): both MEFCs with 4 experts each (separable 3x3 and 7x7, dilated 5x5, average 3x3:
# see projects/drsformer/README.md for the choice). Paper (Rain200H, PSNR / SSIM): 32.14 / 0.9325.
# Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(mefc_experts=4))
