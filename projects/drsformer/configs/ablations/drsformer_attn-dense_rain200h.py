# Paper Fig. 6, "w/o top-k": TKSA without the top-k selection, i.e. dense channel attention
# softmax(M) v (Restormer's MDTA; no mixing weights). The paper shows this model's PSNR on example
# images only (the figure; no table value in the text). Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(topk_fractions=None))
