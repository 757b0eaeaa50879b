# Real rainy photos without ground truth, the DRSformer paper's Table 2 layout: NIQE and
# BRISQUE (lower is better) of the rainy input and of every released Rain100H model, plus a
# contact sheet to look at:
#
#     python tools/benchmark.py configs/benchmarks/real_rain_photos.py --save-images
#
# Photos: any folder of rainy photos under data/RealRain (e.g. SIRR's 147 real test photos,
# docs/datasets.md). Parameter files (not shipped; docs/published_results.md says where each comes
# from): NIQE's pristine model modelparameters.mat (or BasicSR's niqe_pris_params.npz) in
# checkpoints/iqa/niqe/, and the LIVE BRISQUE release's allmodel and allrange in
# checkpoints/iqa/brisque/. Models: the heavy-rain (Rain100H) weights of each release,
# fetched by name (docs/model_zoo.md). Large photos are restored whole; set
# inference.tile=512 on a machine with little memory.
_iqa = 'checkpoints/iqa'

models = [
    dict(name='Input', type='identity'),
    dict(name='PRN', zoo='prn_rain100h'),
    dict(name='PReNet', zoo='prenet_rain100h'),
    dict(name='PRN_r', zoo='prn_r_rain100h'),
    dict(name='PReNet_r', zoo='prenet_r_rain100h'),
    dict(name='BRN', zoo='brn_rain100h'),
    dict(name='AIDNet', zoo='aidnet_rain100h'),
]

datasets = [
    dict(name='RealRain', type='unpaired', data_root='data/RealRain',
         niqe_params=f'{_iqa}/niqe/modelparameters.mat', brisque_params=f'{_iqa}/brisque'),
]

inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0)
cost = dict(shape=(3, 320, 480), runs=3, warmup=1)
