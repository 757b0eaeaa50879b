# The full DRSformer (the release) in the ablation set: Table 3 "MSFN" = Table 4 (f) (MEFC-1 and MEFC-2,
# 8 experts) = Fig. 6 "w/ top-k" = Fig. 7 [1/2, 4/5]. Paper (Rain200H, PSNR / SSIM): 32.18 / 0.9330
# (Tables 3 and 4; Table 1 gives 32.17 / 0.9326). Rain200H with the release recipe; the same model as
# ../drsformer_rain200h.py, here so that the loop over this folder trains every row.
_base_ = ['../drsformer_rain200h.py']
