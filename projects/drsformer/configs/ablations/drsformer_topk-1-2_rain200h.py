# Paper Fig. 7, k set to the single value 1/2 (the text's example: k = int(C/2) per row, no mixing
# weights). The value is plotted in the figure only (not given in the text). Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(topk_fractions=[[1, 2]]))
