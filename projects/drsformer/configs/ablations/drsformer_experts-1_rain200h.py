# Paper Table 4 (d): both MEFCs with a single expert each (the separable 3x3; no gate: see
# projects/drsformer/README.md for the choice). Paper (Rain200H, PSNR / SSIM): 32.06 / 0.9316.
# Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(mefc_experts=1))
