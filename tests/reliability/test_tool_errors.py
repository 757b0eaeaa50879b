"""What tools/train.py, tools/test.py and tools/convert_checkpoint.py print for
bad inputs: one paragraph naming the file/key and the fix, no traceback, and
nothing executed from a malicious checkpoint. The tools' ``main`` runs in this
process (a new process spends most of its time importing), except for one
command-line run that reads the corrupt image in a DataLoader worker."""
import builtins
import glob
import os
import os.path as osp
import shutil
import subprocess

import pytest
import torch
from mmengine.config import Config

from helpers import TINY_CONFIG, data_root_options, make_rain200_folder, run_tool, tool_main
from restorelab.apis import init_model
from restorelab.engine.checkpoint import UnsafeCheckpointError
from restorelab.utils.image_io import imread_rgb, imwrite_rgb


class _CreatesFile:
    """Unpickling this object creates ``path`` (a stand-in for any payload)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, 'w'))


def _train(root, work, *options):
    return ['train', TINY_CONFIG, '--work-dir', work, '--cfg-options',
            'train_cfg.max_iters=8', 'train_cfg.val_interval=100',
            'default_hooks.checkpoint.interval=4', *data_root_options(root), *options]


def _test(root, work, ckpt, *options):
    return ['test', TINY_CONFIG, ckpt, '--work-dir', work, '--cfg-options',
            *data_root_options(root), *options]


def _tiny_state(dim=8, arch=None):
    cfg = Config.fromfile(TINY_CONFIG)
    if arch is not None:
        cfg.model.arch = arch
    else:
        cfg.model.arch.dim = dim
    return init_model(cfg).state_dict()


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tool_errors')
    base = make_rain200_folder(str(tmp / 'base'))
    roots = {}
    # A corrupt training image (a file cut short by a failed copy).
    roots['corrupt'] = str(tmp / 'corrupt')
    shutil.copytree(base, roots['corrupt'])
    bad = osp.join(roots['corrupt'], 'train', 'input', '3.png')
    data = open(bad, 'rb').read()
    with open(bad, 'wb') as f:
        f.write(data[:60])
    # A rainy image whose ground truth has another size.
    roots['sizes'] = str(tmp / 'sizes')
    shutil.copytree(base, roots['sizes'])
    gt = osp.join(roots['sizes'], 'train', 'target', '2.png')
    imwrite_rgb(gt, imread_rgb(gt)[:30, :44].copy())

    ckpts = {}
    ckpts['evil'] = str(tmp / 'evil.pth')
    payload = str(tmp / 'payload_created')
    torch.save({'state_dict': _tiny_state(), 'x': _CreatesFile(payload)}, ckpts['evil'])
    ckpts['wide'] = str(tmp / 'wide.pth')  # the same arch with dim=16
    torch.save({'state_dict': _tiny_state(dim=16)}, ckpts['wide'])
    ckpts['prenet'] = str(tmp / 'prenet.pth')  # another model
    torch.save({'state_dict': _tiny_state(arch=dict(type='PReNet'))}, ckpts['prenet'])

    w = lambda name: str(tmp / 'work' / name)  # noqa: E731
    commands = {
        'corrupt_stop': _train(roots['corrupt'], w('a'), 'train_dataloader.num_workers=1'),
        'corrupt_skip': _train(roots['corrupt'], w('b'), 'train_dataloader.num_workers=1',
                               'train_dataloader.dataset.on_unreadable=skip'),
        'sizes': _train(roots['sizes'], w('c')),
        'typo_key': _train(base, w('d'), 'model.arch.dimm=8'),
        'typo_type': _test(base, w('e'), ckpts['wide'], 'model.arch.type=Restormr'),
        'typo_loader': _train(base, w('k'), 'train_dataloader.batchsize=4'),
        'typo_loader_check': _train(base, w('l'), 'train_dataloader.batchsize=4') + ['--check'],
        'typo_hook_test': _test(base, w('m'), ckpts['wide'], 'default_hooks.logger.intervl=5'),
        'wide_test': _test(base, w('f'), ckpts['wide']),
        'prenet_test': _test(base, w('g'), ckpts['prenet']),
        'wide_load_from': _train(base, w('h'), f"load_from={ckpts['wide']}"),
        'evil_train': _train(base, w('i')) + ['--load-from', ckpts['evil']],
        'evil_test': _test(base, w('j'), ckpts['evil']),
        'evil_convert': ['convert_checkpoint', 'restormer', ckpts['evil'],
                         str(tmp / 'converted.pth')],
    }
    results = {}
    for name, (tool, *argv) in commands.items():
        if name == 'corrupt_stop':
            continue
        if tool != 'convert_checkpoint':  # one logger/visualizer per run in this process
            argv[argv.index('--cfg-options') + 1:argv.index('--cfg-options') + 1] = [
                f'experiment_name=reliability_{name}']
        code, err = tool_main(tool, argv)
        results[name] = subprocess.CompletedProcess([tool, *argv], code, '', err)
    # From the command line, reading the image in a DataLoader worker.
    results['corrupt_stop'] = run_tool(['tools/train.py', *commands['corrupt_stop'][1:]])
    return results, roots, ckpts, payload, w


def _one_paragraph(res, code=2):
    assert res.returncode == code, (res.returncode, res.stderr[-3000:])
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    err = res.stderr.strip()
    assert err.startswith('error: '), err[-2000:]
    return err


def test_corrupt_image_stops_naming_the_file(runs):
    results, roots, *_ = runs
    msg = _one_paragraph(results['corrupt_stop'])
    # Read in a DataLoader worker: the message still names the file, without the
    # worker's traceback.
    assert osp.join(roots['corrupt'], 'train', 'input', '3.png') in msg
    assert 'cannot decode' in msg and 'truncated' in msg


def test_corrupt_image_skipped_when_asked(runs):
    results, roots, _, _, w = runs
    res = results['corrupt_skip']
    assert res.returncode == 0, res.stderr[-3000:]
    bad = osp.join(roots['corrupt'], 'train', 'input', '3.png')
    logs = glob.glob(osp.join(w('b'), '*', '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        warnings = [ln for ln in f if 'skipping sample' in ln]
    # Logged once with its count, then never tried again; the worker survived and
    # training reached its end.
    assert len(warnings) == 1 and bad in warnings[0] and '(1 skipped so far' in warnings[0]
    assert osp.isfile(osp.join(w('b'), 'iter_8.pth'))


def test_pair_of_different_sizes_is_refused(runs):
    results, roots, *_ = runs
    msg = _one_paragraph(results['sizes'])
    assert osp.join(roots['sizes'], 'train', 'input', '2.png') in msg
    assert osp.join(roots['sizes'], 'train', 'target', '2.png') in msg
    assert '48x40' in msg and '44x30' in msg


def test_config_typos_name_the_key_and_closest_names(runs):
    results = runs[0]
    msg = _one_paragraph(results['typo_key'])
    assert "`model.arch` (type='Restormer') has the unknown key 'dimm'" in msg
    assert "did you mean 'dim'?" in msg
    msg = _one_paragraph(results['typo_type'])
    assert "`model.arch.type` names the type 'Restormr'" in msg
    assert "closest registered names are 'Restormer'" in msg
    # Sections mmengine builds itself (here a dataloader) are checked before the run, also
    # by --check, and by tools/test.py.
    for name in ('typo_loader', 'typo_loader_check'):
        msg = _one_paragraph(results[name])
        assert "`train_dataloader` has the unknown key 'batchsize'; did you mean 'batch_size'" in msg
    msg = _one_paragraph(results['typo_hook_test'])
    assert "`default_hooks.logger` (type='LoggerHook') has the unknown key 'intervl'" in msg


def test_checkpoint_of_another_size_or_model_is_refused(runs):
    results, _, ckpts, *_ = runs
    msg = _one_paragraph(results['wide_test'])
    assert ckpts['wide'] in msg and 'shape mismatches' in msg
    assert 'arch.patch_embed.proj.weight: checkpoint (16, 3, 3, 3) vs model (8, 3, 3, 3)' in msg
    msg = _one_paragraph(results['prenet_test'])
    assert 'missing keys (first: arch.' in msg and 'unexpected keys (first: arch.' in msg
    # load_from in training: refused the same way (mmengine would only warn).
    msg = _one_paragraph(results['wide_load_from'])
    assert ckpts['wide'] in msg and 'shape mismatches' in msg and 'allow_partial' in msg


def test_malicious_checkpoint_runs_in_no_tool(runs):
    results, _, ckpts, payload, _ = runs
    for name in ('evil_train', 'evil_test'):
        msg = _one_paragraph(results[name])
        assert msg.startswith(f'error: refused to load {ckpts["evil"]!r}: it needs arbitrary '
                              'unpickling'), name
        assert 'weights_only=True' in msg and 'convert_checkpoint.py' in msg
    res = results['evil_convert']
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'refusing to load' in res.stderr and 'arbitrary Python objects' in res.stderr
    # The python API behind tools/derain.py too.
    with pytest.raises(UnsafeCheckpointError):
        init_model(TINY_CONFIG, ckpts['evil'])
    assert not os.path.exists(payload)
    # Control: the file really carries a payload, which an unrestricted unpickler runs.
    torch.load(ckpts['evil'], weights_only=False)
    assert os.path.exists(payload)
