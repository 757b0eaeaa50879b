# Paper Table 3, "GDFN [58]": Restormer's gated-Dconv feed-forward network (restorelab's GDFN,
# expansion 2.66) in place of MSFN. Paper (Rain200H, PSNR / SSIM): 31.97 / 0.9286. Rain200H, release
# recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(ffn_type='gdfn'))
