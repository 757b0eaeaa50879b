"""tools/analysis/get_flops.py and speed.py: the same numbers as restorelab.benchmark."""
import os

from tool_helpers import REPO, TINY_CONFIG, load_tool, run_tool

PRENET_CONFIG = ("model = dict(type='ImageRestorer', arch=dict(type='PReNet', recurrent_iter=1), "
                 "pixel_loss=dict(type='L1Loss'))\n")


def test_get_flops_equals_hand_counted_macs_of_prenet(tmp_path, capsys):
    config = tmp_path / 'prenet.py'
    config.write_text(PRENET_CONFIG)
    assert load_tool('tools/analysis/get_flops.py').main(
        [str(config), '--shape', '3', '16', '24']) == 0
    out = capsys.readouterr().out
    # One PReNet stage is 3x3 convs only (LSTM gates' products and sigmoids count 0):
    # conv0 6->32, four gates 64->32, ten residual convs 32->32, output 32->3.
    macs = 16 * 24 * 9 * (6 * 32 + 4 * 64 * 32 + 10 * 32 * 32 + 32 * 3)
    assert f'flops: {macs} ' in out and macs == 64696320
    assert f'flops executed: {macs} (0.065 G, no fast path: the same)' in out
    assert 'params: 168963 (0.169 M)' in out and 'input shape: 3x16x24' in out


def test_get_flops_imports_the_plugin_of_a_config(tmp_path):
    config = tmp_path / 'drsformer_tiny.py'
    config.write_text(
        "custom_imports = dict(imports=['projects.drsformer.drsformer'], "
        "allow_failed_imports=False)\n"
        "model = dict(type='ImageRestorer', arch=dict(type='DRSformer', dim=8, "
        "num_blocks=[1, 1, 1, 1], heads=[1, 1, 1, 1]), "
        "pixel_loss=dict(type='L1Loss'))\n")
    # Run from another folder: the tool itself must put the repo root on sys.path.
    res = run_tool([os.path.join(REPO, 'tools/analysis/get_flops.py'), str(config),
                    '--shape', '3', '8', '8'], cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'arch: DRSformer' in res.stdout and 'input shape: 3x8x8' in res.stdout
    assert 'G multiply-accumulates' in res.stdout


def test_get_flops_counts_the_release_formulation_and_the_fast_path(capsys):
    """The tiny Restormer config runs the fast path: 'flops' is the fast=False count (the papers'),
    'flops executed' the fast path's."""
    from restorelab.apis import init_model
    from restorelab.benchmark import count_flops
    assert load_tool('tools/analysis/get_flops.py').main([TINY_CONFIG, '--shape', '3', '16', '16']) == 0
    out = capsys.readouterr().out
    arch = init_model(TINY_CONFIG).arch
    assert arch.fast
    executed = count_flops(arch, (3, 16, 16))
    arch.apply(lambda m: setattr(m, 'fast', False) if hasattr(m, 'fast') else None)
    paper = count_flops(arch, (3, 16, 16))
    assert paper != executed  # the folded attention and the counted F.layer_norm differ
    assert f'flops: {paper} ' in out and f'flops executed: {executed} ' in out and 'the fast path' in out


def test_speed_tool_runs(capsys):
    code = load_tool('tools/analysis/speed.py').main(
        [TINY_CONFIG, '--shape', '3', '16', '16', '--runs', '2', '--warmup', '1'])
    assert code == 0
    out = capsys.readouterr().out
    assert 'arch: Restormer (179107 params), device cpu, input 3x16x16' in out
    assert 'median of 2 runs after 1 warm-up runs' in out and 'peak memory: ' in out
    assert load_tool('tools/analysis/speed.py').main([TINY_CONFIG, '--device', 'tpu']) == 2
    assert "--device 'tpu'" in capsys.readouterr().err
