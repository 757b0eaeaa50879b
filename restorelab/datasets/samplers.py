"""The training sample stream: an infinite, shuffled sequence of dataset indices that a
resumed run can enter at any position in constant time, with one seed per sample.

The stream is global (shared by every process): position ``p`` holds index
``order(p // N)[p % N]`` of a dataset of ``N`` items, where ``order(e)`` is the
permutation of pass ``e`` drawn from its own generator (seeded by the sampler's seed and
``e``), and process ``r`` of ``W`` reads positions ``r, r + W, r + 2W, ...`` from where the
run is. Entering the stream at position ``p`` therefore costs one permutation, whatever
``p`` is. Each position also has its own augmentation seed: :class:`SeededSamples` runs
the pipeline of the sample at ``p`` with numpy's, Python's and torch's generators seeded
from ``(seed, p)``, so its crop and flips do not depend on which worker process loads it,
on how many batches that worker loaded before, or on the number of processes.
:class:`restorelab.engine.loops.IterBasedTrainLoop` reads the stream this way and
records the position in checkpoints.
"""
import contextlib
import random

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Dataset, Sampler

from restorelab.registry import DATA_SAMPLERS

# Independent streams derived from one seed (numpy SeedSequence spawn keys).
_ORDER, _SAMPLE, _MODEL = 0, 1, 2


def derived_seed(seed, *key):
    """A 64-bit seed for ``key`` (a tuple of non-negative ints) derived from ``seed``;
    different keys give independent streams."""
    words = np.random.SeedSequence(int(seed) & (2**64 - 1), spawn_key=key).generate_state(
        2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


@contextlib.contextmanager
def seeded_generators(seed):
    """Run a block with numpy's, Python's and torch's (CPU) global generators seeded from
    ``seed`` (64-bit); their previous states are restored afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    torch_state = torch.get_rng_state()
    np.random.seed([seed & 0xFFFFFFFF, seed >> 32])
    random.seed(seed)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        torch.set_rng_state(torch_state)


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler):
    """An endless shuffled stream of indices, split over processes, that can be entered
    at any position in constant time (see the module doc).

    A drop-in for mmengine's ``InfiniteSampler`` (same arguments; configs in the
    ``restorelab`` scope get this one): iterated directly it yields this process's
    indices from position 0. The stream differs from mmengine's, which draws every
    pass from one generator, so that reaching pass ``e`` would take ``e`` permutations.

    Args:
        dataset (Sized): the dataset.
        shuffle (bool): a new random order every pass (else ``0 .. N-1`` each pass).
        seed (int | None): the stream's seed, the same on every process; None takes
            one from rank 0 (mmengine's ``sync_random_seed``).
    """

    resumable = True

    def __init__(self, dataset, shuffle=True, seed=None):
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.size = len(dataset)
        if self.size == 0:
            raise ValueError('InfiniteSampler: the dataset is empty')
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self._cached = (None, None)  # (pass, its order)

    def order(self, epoch):
        """The dataset indices in the order of pass ``epoch`` (a list)."""
        if self._cached[0] != (epoch, self.seed):
            if self.shuffle:
                gen = torch.Generator().manual_seed(derived_seed(self.seed, _ORDER, epoch))
                indices = torch.randperm(self.size, generator=gen).tolist()
            else:
                indices = list(range(self.size))
            self._cached = ((epoch, self.seed), indices)
        return self._cached[1]

    def index_at(self, position):
        """The dataset index at global stream ``position``."""
        epoch, offset = divmod(position, self.size)
        return self.order(epoch)[offset]

    def sample_seed(self, position):
        """The augmentation seed of the sample at global stream ``position``."""
        return derived_seed(self.seed, _SAMPLE, position)

    def model_seed(self, iteration, rank):
        """The seed of the model's own randomness (dropout, drop path) on process
        ``rank`` at training ``iteration``."""
        return derived_seed(self.seed, _MODEL, iteration, rank)

    def positions(self, start):
        """This process's global stream positions from global position ``start`` on."""
        position = start + self.rank
        while True:
            yield position
            position += self.world_size

    def __iter__(self):
        for position in self.positions(0):
            yield self.index_at(position)

    def __len__(self):
        return self.size

    def set_epoch(self, epoch):
        """Unused: an infinite stream has no epochs (as in mmengine's sampler)."""


class PositionedStream(Sampler):
    """Yields ``(index, augmentation seed)`` for this process's samples of ``sampler``'s
    stream from global position ``start`` on (the items :class:`SeededSamples` takes)."""

    def __init__(self, sampler, start):
        self.sampler = sampler
        self.start = int(start)

    def __iter__(self):
        for position in self.sampler.positions(self.start):
            yield self.sampler.index_at(position), self.sampler.sample_seed(position)

    def __len__(self):
        return len(self.sampler)


class SeededSamples(Dataset):
    """``dataset`` read by ``(index, seed)`` items: ``dataset[index]`` computed with the
    global generators seeded from ``seed`` (so random crops and flips are a function of
    the sample's stream position). Other attributes are ``dataset``'s."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, item):
        index, seed = item
        with seeded_generators(seed):
            return self.dataset[index]

    def __getattr__(self, name):
        if name == 'dataset':  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)
