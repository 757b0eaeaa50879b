"""Published figures the docs compare with: data transcribed from papers, each with its source.

These are not measurements of this project (those live in ``benchmarks/results/``); they are
what the authors printed, so that the rendered tables can show them beside ours.
"""

# The DRSformer paper (Chen et al., CVPR 2023), Table 1: PSNR / SSIM per test set. Rain200L/H
# and SPA-Data are scored as Restormer's evaluate_PSNR_SSIM.m (restorelab protocol 'restormer'),
# DID-Data and DDN-Data as RCDNet's scripts ('rcdnet'). DSC and GMM are prior-based (no
# learning, no release to convert) and are not part of restorelab.
TABLE1_SETS = ('Rain200L', 'Rain200H', 'DID-Data', 'DDN-Data', 'SPA-Data')
TABLE1_SOURCE = 'DRSformer paper (CVPR 2023), Table 1'
TABLE1 = {
    'DSC': ((27.16, 0.8663), (14.73, 0.3815), (24.24, 0.8279), (27.31, 0.8373), (34.95, 0.9416)),
    'GMM': ((28.66, 0.8652), (14.50, 0.4164), (25.81, 0.8344), (27.55, 0.8479), (34.30, 0.9428)),
    'DDN': ((34.68, 0.9671), (26.05, 0.8056), (30.97, 0.9116), (30.00, 0.9041), (36.16, 0.9457)),
    'RESCAN': ((36.09, 0.9697), (26.75, 0.8353), (33.38, 0.9417), (31.94, 0.9345), (38.11, 0.9707)),
    'PReNet': ((37.80, 0.9814), (29.04, 0.8991), (33.17, 0.9481), (32.60, 0.9459), (40.16, 0.9816)),
    'MSPFN': ((38.58, 0.9827), (29.36, 0.9034), (33.72, 0.9550), (32.99, 0.9333), (43.43, 0.9843)),
    'RCDNet': ((39.17, 0.9885), (30.24, 0.9048), (34.08, 0.9532), (33.04, 0.9472), (43.36, 0.9831)),
    'MPRNet': ((39.47, 0.9825), (30.67, 0.9110), (33.99, 0.9590), (33.10, 0.9347), (43.64, 0.9844)),
    'DualGCN': ((40.73, 0.9886), (31.15, 0.9125), (34.37, 0.9620), (33.01, 0.9489), (44.18, 0.9902)),
    'SPDNet': ((40.50, 0.9875), (31.28, 0.9207), (34.57, 0.9560), (33.15, 0.9457), (43.20, 0.9871)),
    'Uformer': ((40.20, 0.9860), (30.80, 0.9105), (35.02, 0.9621), (33.95, 0.9545), (46.13, 0.9913)),
    'Restormer': ((40.99, 0.9890), (32.00, 0.9329), (35.29, 0.9641), (34.20, 0.9571), (47.98, 0.9921)),
    'IDT': ((40.74, 0.9884), (32.10, 0.9344), (34.89, 0.9623), (33.84, 0.9549), (47.35, 0.9930)),
    'DRSformer': ((41.23, 0.9894), (32.17, 0.9326), (35.35, 0.9646), (34.35, 0.9588), (48.54, 0.9924)),
}
# The paper calls PReNet "PRNet" [36].
TABLE1_PAPER_NAMES = {'PReNet': 'PRNet'}

# Parameters (millions) and FLOPs (G multiply-accumulates) at 256x256 as a model's own paper
# prints them; a model whose paper gives none has no entry.
COSTS = {
    'DRSformer': dict(params_m=33.7, flops_g=242.9, source='DRSformer paper, Sec. 5 (Limitations)'),
    'FADformer': dict(params_m=6.96, flops_g=48.5, source='FADformer paper (ECCV 2024)'),
}
