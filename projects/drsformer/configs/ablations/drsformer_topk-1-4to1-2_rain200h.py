# Paper Fig. 7, a smaller interval [1/4, 1/2] (the text: "when k is too small ... performance
# declines"): k = int(C/4), int(C/3), int(C/2), mixed by learnable weights. The intervals plotted in
# the figure are not given in the text: this one is chosen in projects/drsformer/README.md. Rain200H,
# release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(topk_fractions=[[1, 4], [1, 3], [1, 2]]))
