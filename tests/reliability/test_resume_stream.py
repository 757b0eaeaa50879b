"""Resume without reading the data again: the training stream, entered at a recorded
position, feeds a resumed run exactly the batches (order, crops, flips) of an
uninterrupted one; a dead DataLoader worker is named with its files; restarted runs
resume by themselves."""
import importlib
import os.path as osp
import re
import types

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner.loops import IterBasedTrainLoop as MMEngineLoop

from helpers import (AtIteration, assert_same_weights, build_runner, captured_log,
                     make_rain200_folder, tiny_cfg, weights)
from restorelab.datasets import PairedImageDataset
from restorelab.datasets.samplers import InfiniteSampler, PositionedStream
from restorelab.engine import launch
from restorelab.engine.checkpoint import safe_torch_load
from restorelab.utils.errors import DataLoaderWorkerError
from restorelab.engine.loops import IterBasedTrainLoop

OPTS = {'train_cfg.max_iters': 6, 'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 3}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_rain200_folder(str(tmp_path_factory.mktemp('rain')), n_train=5)


class RecordBatches(Hook):
    """{iteration (1-based): (stacked inputs, keys)} of every trained batch."""

    def __init__(self):
        self.batches = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.batches[runner.iter + 1] = (
            torch.stack(data_batch['inputs']).clone(),
            [s.metainfo['key'] for s in data_batch['data_samples']])


def _sampler(size, rank=0, world_size=1, seed=3, shuffle=True):
    sampler = InfiniteSampler(range(size), shuffle=shuffle, seed=seed)
    sampler.rank, sampler.world_size = rank, world_size
    return sampler


def test_stream_is_a_sequence_of_passes_entered_anywhere():
    size = 7
    stream = [_sampler(size).index_at(p) for p in range(6 * size)]
    for epoch in range(5):  # each pass is a permutation, the passes differ
        assert sorted(stream[epoch * size:(epoch + 1) * size]) == list(range(size))
    assert len({tuple(stream[e * size:(e + 1) * size]) for e in range(5)}) > 1
    # Entered at any position, with a fresh sampler: the same stream from there on.
    for start in (0, 3, 7, 30):
        tail = PositionedStream(_sampler(size), start)
        got = [item for item, _ in zip(tail, range(6))]
        assert [i for i, _ in got] == stream[start:start + 6]
        assert [s for _, s in got] == [_sampler(size).sample_seed(p)
                                       for p in range(start, start + 6)]
    # Three processes read interleaved positions: together they read the stream.
    per_rank = [list(zip(range(4), _sampler(size, r, 3)))[:4] for r in range(3)]
    merged = [per_rank[p % 3][p // 3][1] for p in range(12)]
    assert merged == stream[:12]
    # Iterated directly (what mmengine's own loop does) it is the stream from 0.
    assert [i for i, _ in zip(_sampler(size), range(9))] == stream[:9]
    assert [i for i, _ in zip(_sampler(size, shuffle=False), range(9))] == [
        0, 1, 2, 3, 4, 5, 6, 0, 1]
    # Augmentation seeds differ between positions and with the stream's seed.
    assert len({_sampler(size).sample_seed(p) for p in range(100)}) == 100
    assert _sampler(size, seed=4).sample_seed(0) != _sampler(size).sample_seed(0)


def test_resume_reads_only_new_batches_and_feeds_the_same_ones(root, tmp_path, monkeypatch):
    # Uninterrupted, with 2 worker processes.
    straight_rec = RecordBatches()
    straight = build_runner(tiny_cfg(root, tmp_path / 'a', {
        **OPTS, 'train_dataloader.num_workers': 2,
        'train_dataloader.persistent_workers': True}), [straight_rec])
    straight.train()
    loop = straight.train_loop
    assert isinstance(loop, IterBasedTrainLoop) and loop.resumable
    assert isinstance(loop.sampler, InfiniteSampler)
    stream = safe_torch_load(osp.join(tmp_path, 'a', 'iter_3.pth'))[
        'message_hub']['runtime_info']['train_data']
    assert stream == dict(position=3 * 2, seed=loop.sampler.seed)

    # Resumed at iteration 3 in the main process, counting every sample it reads.
    reads = []
    prepare = PairedImageDataset.prepare_data

    def counted_prepare(self, idx):
        if not self.test_mode:
            reads.append(idx)
        return prepare(self, idx)

    monkeypatch.setattr(PairedImageDataset, 'prepare_data', counted_prepare)
    resumed_rec = RecordBatches()
    cfg = tiny_cfg(root, tmp_path / 'b', OPTS)
    cfg.resume, cfg.load_from = True, osp.join(tmp_path, 'a', 'iter_3.pth')
    resumed = build_runner(cfg, [resumed_rec])
    with captured_log() as log:
        resumed.train()
    # mmengine's loop would have read the 3 trained batches (6 samples) first.
    assert len(reads) == 3 * 2
    assert not any('Advance dataloader' in line for line in log)
    assert any('continues at position 6 of its stream' in line for line in log)
    # Same samples, same crops and flips (other worker count), same weights.
    assert sorted(resumed_rec.batches) == [4, 5, 6]
    for it, (inputs, keys) in resumed_rec.batches.items():
        assert keys == straight_rec.batches[it][1], it
        assert torch.equal(inputs, straight_rec.batches[it][0]), it
    assert_same_weights(weights(resumed), weights(straight), atol=0)

    # A checkpoint without the stream's position (written by mmengine's loop) resumes
    # at iteration x batch x processes, saying that the order is not the original's.
    ckpt = safe_torch_load(osp.join(tmp_path, 'a', 'iter_3.pth'))
    del ckpt['message_hub']['runtime_info']['train_data']
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(ckpt, legacy)
    cfg = tiny_cfg(root, tmp_path / 'c', {**OPTS, 'train_cfg.max_iters': 4})
    cfg.resume, cfg.load_from = True, legacy
    run = build_runner(cfg)
    with captured_log() as log:
        run.train()
    assert any('records no training-stream position' in line and 'position 6' in line
               for line in log)


def test_other_samplers_keep_mmengine_replay(root, tmp_path):
    cfg = tiny_cfg(root, tmp_path / 'w', {**OPTS, 'train_cfg.max_iters': 1})
    cfg.train_dataloader.sampler = dict(type='mmengine.InfiniteSampler', shuffle=True)
    runner = build_runner(cfg)
    runner.train()
    assert not runner.train_loop.resumable
    assert isinstance(runner.train_loop, MMEngineLoop)
    with pytest.raises(RuntimeError, match='InfiniteSampler'):
        runner.train_loop.restart_data()


def test_dead_worker_is_named_with_its_files_and_the_checkpoint(root, tmp_path):
    marker = str(tmp_path / 'crash-now')
    importlib.import_module('tests.reliability.fault_hooks')  # registers CrashWorkerAfter
    cfg = tiny_cfg(root, tmp_path / 'w', {
        **OPTS, 'train_cfg.max_iters': 50, 'train_dataloader.num_workers': 2})
    cfg.train_dataloader.dataset.pipeline.insert(
        0, dict(type='CrashWorkerAfter', marker=marker))
    # From iteration 4 on (after iter_3.pth), the next sample a worker loads kills it.
    runner = build_runner(cfg, [AtIteration(4, lambda r, b: open(marker, 'w').close())])
    with pytest.raises(DataLoaderWorkerError) as info:
        runner.train()
    msg = str(info.value)
    named = re.search(r'^DataLoader worker \d \(pid (\d+)\) of the training data died \(killed by '
                      r'SIGSEGV\)\. It was loading the batch(es)? of iteration \d+ \(', msg)
    assert named, msg
    # Both workers may die; the message names the one noticed first, with its own file.
    crashed_on = open(f'{marker}.crashed.{named.group(1)}').read()
    assert crashed_on in msg
    assert 'crash in native code' in msg
    newest = osp.join(str(tmp_path / 'w'), 'iter_3.pth')
    assert f'The newest complete checkpoint is {newest!r}' in msg
    assert 'tools/train.py CONFIG --resume' in msg


def test_restarted_run_resumes_by_itself(tmp_path, monkeypatch):
    from mmengine.config import Config
    cfg = Config(dict(work_dir=str(tmp_path)))
    for var in ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT'):
        monkeypatch.delenv(var, raising=False)
    assert launch.restart_count() == 0
    assert launch.resume_after_restart(cfg, None) is None
    monkeypatch.setenv('TORCHELASTIC_RESTART_COUNT', '1')
    with captured_log() as log:  # restarted before the first checkpoint: from the start
        assert launch.resume_after_restart(cfg, None) is None
    assert any('no complete checkpoint' in line for line in log)
    torch.save({'state_dict': {}}, tmp_path / 'iter_4.pth')
    assert launch.resume_after_restart(cfg, None) == 'auto'
    assert launch.resume_after_restart(cfg, 'x.pth') == 'x.pth'  # an explicit choice stays
    monkeypatch.setenv('TORCHELASTIC_RESTART_COUNT', '0')
    monkeypatch.setenv('SLURM_RESTART_COUNT', '2')  # a requeued Slurm job
    assert launch.restart_count() == 2
    assert launch.resume_after_restart(cfg, None) == 'auto'


def test_progressive_learning_needs_the_stream_loop():
    from restorelab.engine.hooks import ProgressiveLearningHook
    hook = ProgressiveLearningHook([2], [8], [1])
    loop = types.SimpleNamespace(resumable=False, dataloader=types.SimpleNamespace(sampler=None))
    with pytest.raises(ValueError, match="restorelab's IterBasedTrainLoop"):
        hook.before_train(types.SimpleNamespace(train_loop=loop))
