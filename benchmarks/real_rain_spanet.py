#!/usr/bin/env python
"""SPANet trained on real rain (SPA-Data) against synthetic-trained models on real rainy photos
without ground truth: NIQE and BRISQUE (lower is better) of the restored photos, and a contact
sheet to look at. A benchmark, not a test.

Models, fetched by name from the zoo (docs/model_zoo.md): the rainy input itself, SPANet's
release trained on SPA-Data's real pairs (``spanet_spa_data``), the same network trained on
synthetic Rain200H and Rain200L by the BRN authors (``spanet_rain200h``, ``spanet_rain200l``:
the training data is the only difference), and PReNet trained on synthetic Rain100H
(``prenet_rain100h``, the real-photo benchmark's first learned model). The photos: any folder,
e.g. SIRR's 147 real test photos (docs/datasets.md); the metrics' parameter files as
configs/benchmarks/real_rain_photos.py expects them (``--iqa``: ``niqe/modelparameters.mat``,
``brisque/allmodel`` and ``brisque/allrange``). It runs ``restorelab.benchmark.run_benchmark``
(the engine of tools/benchmark.py) with ``--save-images`` into ``--out``, resuming finished
cells, and writes the means and per-photo scores to the results record ``real-rain-spanet``::

    python benchmarks/real_rain_spanet.py --photos data/RealRain --iqa checkpoints/iqa --limit 4
"""
import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.harness import write_record  # noqa: E402
from restorelab.benchmark import run_benchmark  # noqa: E402

MODELS = (
    dict(name='Input', type='identity'),
    dict(name='SPANet_SPA', zoo='spanet_spa_data'),
    dict(name='SPANet_Rain200H', zoo='spanet_rain200h'),
    dict(name='SPANet_Rain200L', zoo='spanet_rain200l'),
    dict(name='PReNet_Rain100H', zoo='prenet_rain100h'),
)
TRAINED_ON = {'Input': None, 'SPANet_SPA': 'SPA-Data (real rain)',
              'SPANet_Rain200H': 'Rain200H (synthetic)', 'SPANet_Rain200L': 'Rain200L (synthetic)',
              'PReNet_Rain100H': 'Rain100H (synthetic)'}


def bench_config(photos, iqa):
    return dict(
        models=[dict(m) for m in MODELS],
        datasets=[dict(name='RealRain', type='unpaired', data_root=str(photos),
                       niqe_params=str(Path(iqa) / 'niqe' / 'modelparameters.mat'),
                       brisque_params=str(Path(iqa) / 'brisque'))],
        inference=dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0),
    )


def summarise(results):
    """Per model: the zoo name, its training data, the mean NIQE/BRISQUE and per-photo scores."""
    out = {}
    for cell in results['cells'].values():
        name = cell.get('model')
        entry = next(m for m in MODELS if m['name'] == name)
        out[name] = dict(zoo=entry.get('zoo'), trained_on=TRAINED_ON[name],
                         **{k: cell.get(k) for k in ('status', 'reason', 'num_images', 'mean',
                                                     'seconds', 'images')})
    return {m['name']: out[m['name']] for m in MODELS if m['name'] in out}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--photos', required=True, help='folder of rainy photos (any depth)')
    parser.add_argument('--iqa', required=True,
                        help='folder holding niqe/modelparameters.mat and brisque/{allmodel,allrange}')
    parser.add_argument('--limit', type=int, default=None, help='only the first N photos (sorted paths)')
    parser.add_argument('--models', default=None, help='comma-separated subset of ' +
                        ', '.join(m['name'] for m in MODELS))
    parser.add_argument('--out', default='work_dirs/benchmarks/real_rain_spanet')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--sheet-images', type=int, default=4)
    args = parser.parse_args()
    for path in (args.photos, args.iqa):
        if not os.path.isdir(path):
            parser.exit(2, f'real_rain_spanet.py: {path!r} is not a folder\n')
    torch.set_num_threads(args.threads)
    results = run_benchmark(bench_config(args.photos, args.iqa), args.out, models=args.models,
                            resume=os.path.exists(os.path.join(args.out, 'results.json')),
                            save_images=True, measure_costs=False, limit=args.limit,
                            sheet_images=args.sheet_images)
    record = dict(photos=str(args.photos), limit=args.limit, threads=args.threads,
                  models=summarise(results),
                  contact_sheet=str(Path(args.out) / 'contact_sheets' / 'RealRain.png'))
    print(write_record('real-rain-spanet', record))


if __name__ == '__main__':
    main()
