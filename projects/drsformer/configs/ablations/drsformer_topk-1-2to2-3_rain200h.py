# Paper Fig. 7, the interval [1/2, 2/3]: k = int(C/2), int(2C/3), mixed by learnable weights. The
# intervals plotted in the figure are not given in the text: this one is chosen in
# projects/drsformer/README.md. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(topk_fractions=[[1, 2], [2, 3]]))
