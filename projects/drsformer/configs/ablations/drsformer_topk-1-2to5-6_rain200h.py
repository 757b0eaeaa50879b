# Paper Fig. 7, a larger interval [1/2, 5/6] (the text: "as k continues to increase, the performance
# gradually decreases"): k = int(C/2), int(2C/3), int(3C/4), int(4C/5), int(5C/6), mixed by learnable
# weights. The intervals plotted in the figure are not given in the text: this one is chosen in
# projects/drsformer/README.md. Rain200H, release recipe.
_base_ = ['../drsformer_rain200h.py']
model = dict(arch=dict(topk_fractions=[[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]))
