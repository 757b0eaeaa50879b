"""The released models restorelab knows by name: where each file is, its sha256, the config
and converter that load it, what it was trained for and what its authors published.

A Python module rather than a JSON file: it ships inside the package with no package-data
rule, the facts shared by one repository (commit, licence, source of the published numbers)
are written once, and a comment can sit beside a fact that needs one. ``tools/zoo.py list
--json`` prints the same data as JSON for other programs.

Where a file comes from (``Release.host``):

- ``github``: a file in a public git repository, fetched from
  ``https://raw.githubusercontent.com/<repo>/<commit>/<path>`` (pinned to a commit);
- ``url``: a plain HTTPS download (a GitHub release asset);
- ``gdrive``: a Google Drive file id, fetched through the optional ``gdown`` package
  (``pip install -e '.[zoo]'``);
- ``link only``: weights on Baidu Cloud, OneDrive or a Drive folder whose files are not
  identified one by one: downloaded by hand, converted with :attr:`Release.convert_command`.

How a fetched file is checked (``Release.check``), strongest first: its ``sha256``; its git
``git_blob`` id (what ``git ls-tree`` lists, for files too large to be read from a copy of the
repository here); an ``output_check`` (the converted model reproduces the release's own result
images for sample inputs) with the first download's sha256 recorded in the cache; or the
recorded digest alone (a later download that differs is refused unless the user accepts it).

Every link below was read from the named repository at the named commit, except where the
entry's note says otherwise. Nothing here is downloaded at import.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple
from urllib.parse import quote

RAW_GITHUB = 'https://raw.githubusercontent.com/'


@dataclass(frozen=True)
class Source:
    """A public repository at one commit, and what it says about its licence."""
    repo: str  # 'owner/name' on GitHub
    commit: str  # 40 hex digits
    licence: str


@dataclass(frozen=True)
class OutputCheck:
    """Sample inputs of a release and its own results for them: the converted model must
    reproduce each result to ``min_psnr`` dB after 8-bit rounding. ``samples`` holds
    ``(input path, its git blob id, result path, its git blob id)`` in ``source``."""
    source: Source
    samples: Tuple[Tuple[str, str, str, str], ...]
    min_psnr: float = 50.0


@dataclass(frozen=True)
class Release:
    """One released model. ``path``/``sha256`` are set for downloadable entries only."""
    name: str
    model: str  # the paper's name, e.g. 'PReNet_r'
    trained_for: str  # the benchmark set the weights were trained for, e.g. 'Rain100H'
    config: str  # relative to the repository root
    converter: str  # registered in restorelab.registry.CHECKPOINT_CONVERTERS
    source: Source
    training_data: str
    published: Optional[Tuple[float, float]]  # (PSNR, SSIM) on ``trained_for``'s test set
    published_source: str  # where the numbers are printed, and how they were scored
    path: Optional[str] = None  # file inside ``source.repo`` at ``source.commit``
    sha256: Optional[str] = None
    # The git blob id (SHA-1 of ``blob <size>\0<content>``, as ``git ls-tree`` lists it) of
    # ``path`` at ``source.commit``: the check of a file whose sha256 nobody published and
    # that is too large to be read from a copy of the repository here.
    git_blob: Optional[str] = None
    drive_id: Optional[str] = None  # a Google Drive file id (host 'gdrive')
    asset_url: Optional[str] = None  # a plain HTTPS download, e.g. a GitHub release asset
    output_check: Optional[OutputCheck] = None
    links: Tuple[Tuple[str, str], ...] = field(default=())  # (label, URL) for link-only entries
    # Files of the same repository and commit that must lie beside ``path`` under their own
    # names, as (path, digest): a TensorFlow checkpoint's ``.data-00000-of-00001`` shard beside
    # its ``.index``. The digest is a sha256 (64 hex) or, for a file too large to be read from a
    # copy of the repository here, its git blob id (40 hex).
    companions: Tuple[Tuple[str, str], ...] = field(default=())
    link_file: str = ''  # the file name a link gives, where the release says it
    note: str = ''

    @property
    def host(self):
        """'github', 'url', 'gdrive' or 'link only' (see the module doc)."""
        if self.path and (self.sha256 or self.git_blob):
            return 'github'
        if self.asset_url:
            return 'url'
        if self.drive_id:
            return 'gdrive'
        return 'link only'

    @property
    def check(self):
        """How a fetched file is verified: 'sha256', 'git blob', 'output check' (with the
        recorded digest), 'recorded digest', or None for a link-only entry."""
        if self.host == 'link only':
            return None
        if self.sha256:
            return 'sha256'
        if self.git_blob:
            return 'git blob'
        return 'output check' if self.output_check else 'recorded digest'

    @property
    def downloadable(self):
        return self.host != 'link only'

    @property
    def url(self):
        """Where the file is fetched from (None for link-only entries)."""
        if self.host == 'github':
            # Percent-encoded: some paths have spaces (RCDNet's 'Pretrained Model/...').
            return f'{RAW_GITHUB}{self.source.repo}/{self.source.commit}/{quote(self.path)}'
        if self.host == 'url':
            return self.asset_url
        if self.host == 'gdrive':
            return f'https://drive.google.com/uc?id={self.drive_id}'
        return None

    @property
    def filename(self):
        """The name of the official file (what a manual download is called)."""
        if self.path:
            return self.path.rsplit('/', 1)[-1]
        return self.link_file or 'DOWNLOADED.pth'

    @property
    def convert_command(self):
        """The command that turns the official file into a restorelab checkpoint."""
        return (f'python tools/convert_checkpoint.py {self.converter} {self.filename} '
                f'{self.name}.pth --check-config {self.config}')


# ---------------------------------------------------------------------------------------------
# Repositories. "none stated" = no LICENSE file in the tree and no licence in the README at
# that commit: the weights are public but their terms of use are not given.
PRENET = Source('csdwren/PReNet', '6d908d1e3c7ff5c26fee624112297ad1c8603ca7',
                'none stated (no LICENSE file, none in the README)')
RECDERAIN = Source('csdwren/RecDerain', '5b2ad01d41d3b0cd251d0b4033071b796f234cac',
                   'none stated (no LICENSE file, none in the README)')
AIDNET = Source('cuiyixin555/AIDNet', 'de1a7f0877310e6fcb4a6aa6481926cdc99adf3f',
                'none stated (no LICENSE file, none in the README)')
DRSFORMER = Source('cschenxiang/DRSformer', 'e77bbb4ecc59aaa2cd170a0f8f65b188a9dd77c6',
                   'none stated (no LICENSE file, none in the README)')
RESTORMER = Source('swz30/Restormer', 'df766d5521afd21cce56e24159f300b30ebf3fb0',
                   'Academic Public License (LICENSE.md): non-commercial use only')
UFORMER = Source('ZhendongWang6/Uformer', '65fc970a8ffc09605faca74ed016ee93c9ad8a36', 'MIT (LICENSE)')
IDT = Source('jiexiaou/IDT', 'd72510c53af6d45eac5c22092e7a4dde9c64877f', 'MIT (LICENSE)')
# The authors' web site; at this commit paper/2021/AAAI/code/ holds DualGCN's TensorFlow test
# code and weights (the next commit, 726bc4b, replaces the folder by code.zip).
NERD_RAIN = Source('cschenxiang/NeRD-Rain', '295f4fdfdfadec6db14fc3fa8640ba04a7aef261',
                   'none stated (no LICENSE file, none in the README)')
DUALGCN = Source('xueyangfu/xueyangfu.github.io', '99fe217b116064608821be4907e8b250377d2c8c',
                 'none stated (no LICENSE file; model.py and test.py state none)')
MPRNET = Source('swz30/MPRNet', '43feb2aed45f5e0b9082c78c8c455160e30a3a82',
                'Academic Public License (LICENSE.md): non-commercial use only')
SPDNET = Source('Joyies/SPDNet', 'c03b8d3b7d60705fdcefda73b3a39afc5198dcd4',
                 'none stated (no LICENSE file, none in the README)')
RCDNET = Source('hongwang01/RCDNet', 'c6e1539697590452ce0ceb6d6e3bb897e8f65f90',
                'none stated (no LICENSE file, none in the README)')
FADFORMER = Source('deng-ai-lab/FADformer', '75a883580dfebf29b70a40191a92a6d0d348b263',
                   'none stated (no LICENSE file, none in the README)')
SPANET = Source('stevewongv/SPANet', '82d28899c1793170335fdf2527eb365444533c8b',
                'BSD-3-Clause-style (License.txt): redistribution with the copyright notice, no '
                'endorsement')
# The same web site at an earlier commit: paper/2017/cvpr/ holds DDN's training code archive.
DDN = Source('xueyangfu/xueyangfu.github.io', '5cd918be695654e2048ba3e7ed1b86e3b5474259',
             'none stated (no LICENSE file); the archive\'s readme.txt says "for non-commercial use '
             'only"')
MSPFN = Source('kuijiang94/MSPFN', '26e6073b163ac4f087d6c57bf55eba7ed20751d7',
               'none stated (no LICENSE file, none in the README)')

# Scoring of the PReNet/BRN/AIDNet numbers: the authors' statistic/statistic_rain100{H,L}.m
# (restorelab's 'rcdnet' protocol) on the 481x321 Rain100H/L test images.
_RCDNET_STATISTIC = "statistic/statistic_rain100{H,L}.m, restorelab protocol 'rcdnet'"
_PRENET_README = f'csdwren/PReNet README at {PRENET.commit[:7]} ({_RCDNET_STATISTIC})'
_AIDNET_README = f'cuiyixin555/AIDNet README at {AIDNET.commit[:7]} ({_RCDNET_STATISTIC})'
_RAIN_TRAIN = {
    'Rain100H': 'RainTrainH: the 1800 Rain100H training pairs less the 546 that share '
                'backgrounds with the test set (1254)',
    'Rain100L': 'RainTrainL: the 200 Rain100L training pairs',
}


def _rain100_pair(model, key, source, folder, files, published_source, config_folder=None):
    """The Rain100H and Rain100L releases of one model: ``files`` maps each set to
    ``(sha256, (PSNR, SSIM) published, training data)``; the file is
    ``logs/<set>/<folder>/net_latest.pth`` in ``source``."""
    return [
        Release(
            name=f'{key}_{dataset.lower()}', model=model, trained_for=dataset,
            config=f'configs/{config_folder or key}/{key}_{dataset.lower()}.py', converter=key,
            source=source, path=f'logs/{dataset}/{folder}/net_latest.pth', sha256=sha256,
            training_data=training_data, published=published, published_source=published_source)
        for dataset, (sha256, published, training_data) in files.items()
    ]


def _prenet_family(model, key, folder, sha256s, published):
    """A PReNet variant of csdwren/PReNet: ``sha256s`` and ``published`` for (H, L)."""
    training = [f'{_RAIN_TRAIN[d]} (PReNet README)' for d in ('Rain100H', 'Rain100L')]
    return _rain100_pair(model, key, PRENET, folder,
                         dict(zip(('Rain100H', 'Rain100L'), zip(sha256s, published, training))),
                         _PRENET_README, config_folder='prenet')


_DUALGCN_MODELS = 'paper/2021/AAAI/code/TrainedModel'
_DUALGCN_SETS = {  # set: (config suffix, file stem, .index sha256, .data git blob, Table 1)
    'Rain200H': ('rain200h', 'Rain200H',
                 '9c6b36b93cfb1a60af63f2fb476c63940d1bbe25cb1c8e3bd6f84eac722f3eb0',
                 '1da484c5137082c87f20d00717b47cc3ea65c967', (31.15, 0.9125)),
    'Rain200L': ('rain200l', 'Rain200L',
                 '88cfe20e8d25dd8769666ec2d38d3756f79bea0a9f93710ecf4c7fdff0a31fd8',
                 'a946bd27e06d0e0eac1bff706371b0f667464451', (40.73, 0.9886)),
    'DID-Data': ('did_data', 'DID',
                 'feb3154bec86b99a4700bbd9c66f1570122a0c2604b38182ed3fd51d5a14d364',
                 '80a973d14801482e35288db86768efe025fe08ce', (34.37, 0.9620)),
    'DDN-Data': ('ddn_data', 'DDN',
                 '0ec8ce7ad748f415b6376390f83cdcdcb5462b51ef10c484590540c5d1e6a33f',
                 '4b30d3bb6173db0dc56d01c4e2195df43b4f9c50', (33.01, 0.9489)),
    'SPA-Data': ('spa_data', 'SPA',
                 'd43fc34272ba6ed7428ae1f37d18c66f602888937bdb30c220afbbbfebbc5741',
                 'a3d96058ab36e6d08ac9800e9fd8e7a0c8435591', (44.18, 0.9902)),
}
_DUALGCN_PUBLISHED = ('DRSformer paper (CVPR 2023), Table 1, DualGCN row (the paper evaluates '
                      "methods with released models by their online code); Rain200L/H and SPA-Data "
                      "scored with restorelab "
                      "protocol 'restormer', DID/DDN-Data with 'rcdnet', as the DRSformer entries")

# csdwren/RecDerain's models for the new Rain100H/Rain100L ("RainHeavy*"/"RainLight*",
# restorelab's Rain200H/Rain200L), files logs/Rain{Heavy,Light}/<model>/<file>; the numbers are
# the BRN paper's table on those sets, shown in the README as results/3.jpg.
_RECDERAIN_RAIN200 = {'Rain200H': 'RainHeavy', 'Rain200L': 'RainLight'}
_RECDERAIN_TABLE = (f'csdwren/RecDerain results/3.jpg at {RECDERAIN.commit[:7]} (BRN paper, TIP 2020, '
                    'table on RainHeavy*/RainLight*); statistic/statistic_Rain{Heavy,Light}.m, '
                    "restorelab protocol 'rcdnet'")


def _recderain_rain200(model, key, folder, filename, files, note=''):
    """One model's Rain200H and Rain200L files in csdwren/RecDerain: ``files`` maps each set to
    ``(sha256, (PSNR, SSIM) published)``."""
    return [
        Release(
            name=f'{key}_{dataset.lower()}', model=model, trained_for=dataset,
            config=f'configs/{key}/{key}_{dataset.lower()}.py', converter=key, source=RECDERAIN,
            path=f'logs/{_RECDERAIN_RAIN200[dataset]}/{folder}/{filename}', sha256=sha256,
            training_data=(f'{dataset} ("{_RECDERAIN_RAIN200[dataset]}*" in the RecDerain README): '
                           'the 1800 training pairs its DerainDataset.py reads'),
            published=published, published_source=_RECDERAIN_TABLE, note=note)
        for dataset, (sha256, published) in files.items()
    ]


_RECDERAIN_SPANET = ("trained by the BRN authors (RecDerain ships no SPANet code; its README says "
                     "the competing methods were retrained with their own code: stevewongv/SPANet's "
                     "main.py layout, clock 40,000, lr 5e-3 never decayed); the SPANet release "
                     "itself publishes only its SPA-Data model")


_DOWNLOADABLE = [
    *_prenet_family('PReNet', 'prenet', 'PReNet6',
                    ('127c0098787c5272f1f8583f6c5202e7ef674f750cd145a1691912a6d9e96210',
                     'cb9b743bb33cf6e5c56ba45f8ade93add46266dea9fa582e1934dc5eed942333'),
                    ((29.46, 0.899), (37.48, 0.979))),
    *_prenet_family('PReNet_r', 'prenet_r', 'PReNet6_r',
                    ('ece8127c651cf49026d998fa36857cb9d462c92cf535b640a377fc025f765b5f',
                     '31dd4419cdb0f4da623d974747113d60e2c22803598c39dcf03d789f86a7f62b'),
                    ((28.98, 0.892), (37.10, 0.977))),
    *_prenet_family('PRN', 'prn', 'PRN6',
                    ('f1d56a7df0851eb087652663781d3f34c4c37a4c7ddd9a3f0802abbede1a06c2',
                     'ed4be5b78f76dcec5c781e1655dee48c2a90b56993de555945d72e31848aea99'),
                    ((28.07, 0.884), (36.99, 0.977))),
    *_prenet_family('PRN_r', 'prn_r', 'PRN6_r',
                    ('99242ce096c9c617bd529a5e189797e8955a4b8611d355974c7c1c64a18b9074',
                     '87ee3b1c027b33e7e532a4881c3b077d100cf40c65dd2843690600e3023acee0'),
                    ((27.43, 0.874), (36.11, 0.973))),
    *_rain100_pair('BRN', 'brn', RECDERAIN, 'BRN', {
        'Rain100H': ('46db6bbda038b49bc6c4e00d4af473939f586a6505384682769f8b4d98eda567',
                     (30.47, 0.913), f"{_RAIN_TRAIN['Rain100H']} (RecDerain README)"),
        'Rain100L': ('de9b4bb3e2c076386f8298357e28f5a1d694797a61aadbbafc04f3b7ca93f885',
                     (38.16, 0.982), _RAIN_TRAIN['Rain100L']),
    }, _AIDNET_README),
    *_rain100_pair('AIDNet', 'aidnet', AIDNET, 'AID_location135', {
        'Rain100H': ('dbfab35c87c43bc4cd515563abbc72668fd53a04f9f9c8582ce5c3bce0f077d1',
                     (31.21, 0.921),
                     'RainTrainH (trainH_aid135.py); the README does not say whether the 546 '
                     'pairs sharing backgrounds with the test set were removed'),
        'Rain100L': ('27c70dc92934fce4769938347259e77449403146600b9b3d4f33d3fffb1e56fd',
                     (40.41, 0.988), 'RainTrainL (trainL_aid135.py)'),
    }, _AIDNET_README),
    # DualGCN: one TensorFlow checkpoint per set, TrainedModel/model-<set>.index (read here:
    # sha256) + model-<set>.data-00000-of-00001 (10,924,284 bytes, larger than the copies of the
    # repository here hold: git blob id). The index is the file converted; its shard lies beside.
    *[Release(
        name=f'dualgcn_{suffix}', model='DualGCN', trained_for=dataset,
        config=f'configs/dualgcn/dualgcn_{suffix}.py', converter='dualgcn', source=DUALGCN,
        path=f'{_DUALGCN_MODELS}/model-{stem}.index', sha256=index_sha256,
        companions=((f'{_DUALGCN_MODELS}/model-{stem}.data-00000-of-00001', data_blob),),
        training_data=(f'{dataset} training set (the release says nothing of it; the file name '
                       'is the set)'),
        published=published, published_source=_DUALGCN_PUBLISHED,
        note=('each .index needs its TensorFlow shard model-<set>.data-00000-of-00001 (10,924,284 '
              'bytes, checked by its git blob id: Release.companions) beside it. test.py clips '
              'the output to [0, 1] and saves np.uint8(255 * out) (truncated; restorelab rounds). '
              'The same files are in paper/2021/AAAI/code.zip at later commits of the repository'))
      for dataset, (suffix, stem, index_sha256, data_blob, published) in _DUALGCN_SETS.items()],
    # RESCAN, and the PReNet and BRN models the BRN authors retrained on Rain200H/Rain200L.
    *_recderain_rain200('RESCAN', 'rescan', 'RESCAN', 'latest', {
        'Rain200H': ('237e29616891f599334c236def92ce216ef9662ca1f77437643ac4b1987c58a3',
                     (28.02, 0.862)),
        'Rain200L': ('49bfd63951fc6fde251de82db9af42ef995db9d00113a585cd171c51fb533017',
                     (38.43, 0.982)),
    }, note=("trained by the BRN authors with XiaLiPKU/RESCAN's train.py (its checkpoint layout "
             "{'net', 'clock', 'opt'}, saved at step 19,975 of 20,000; its default model: "
             'ConvGRU, full prediction, 4 stages, depth 7, 24 channels, SE); the release itself '
             'publishes no weights')),
    *_recderain_rain200('PReNet', 'prenet', 'PReNet', 'net_latest.pth', {
        'Rain200H': ('cef889ca3daba79c6e96c7f13ecfd8cf823e105b8acf63efa8296b5020c27bed',
                     (29.36, 0.903)),
        'Rain200L': ('a1df2965e2e99081371210c678f63d95de95c40d87f556deb491dd064cb59a27',
                     (37.93, 0.983)),
    }, note='retrained by the BRN authors, not a file of the PReNet release (csdwren/PReNet)'),
    *_recderain_rain200('BRN', 'brn', 'BRN', 'net_latest.pth', {
        'Rain200H': ('8663ddfb16af5065016f707863af12f45a006ff0f2c88639e85ebc05ff7c75fd',
                     (30.27, 0.917)),
        'Rain200L': ('7683c2227b4b8c12cb039d2643b329a7ec4b2e6bb03ff4ef9d16a308a2527dc5',
                     (38.86, 0.985)),
    }),
    # RCDNet: hongwang01/RCDNet's "Pretrained Model/<set>/model_best.pt" (about 12.7 MB each,
    # too large to be read from a copy of the repository here: checked by git blob id). Each is
    # the best epoch of its training run on the test set, by the release trainer's own PSNR.
    *[Release(
        name=f'rcdnet_{suffix}', model='RCDNet', trained_for=dataset,
        config=f'configs/rcdnet/rcdnet_{suffix}.py', converter='rcdnet', source=RCDNET,
        path=f'Pretrained Model/{folder}/model_best.pt', git_blob=blob,
        training_data=training_data, published=published,
        published_source=("hongwang01/RCDNet_simple README at d2c2401, column 'RCDNet(CVPR2020)' "
                          "(the release's MATLAB statistic.m: restorelab protocol 'rcdnet')"),
        note=('trained on Rain1400 (DDN-Data) with the release\'s for_syn code'
              if suffix == 'ddn_data' else ''))
      for suffix, dataset, folder, blob, training_data, published in (
          ('rain100l', 'Rain100L', 'rain100L', 'f43723a964dd6c9098c3064507ce2676033bc9df',
           'RainTrainL: the 200 Rain100L training pairs (README: --data_range 1-200/1-100)',
           (40.00, 0.9860)),
          ('rain100h', 'Rain100H', 'rain100H', '0b7212d06a62396aed1f66abfc61af212e982fef',
           'RainTrainH: all 1800 Rain100H training pairs (README: 1800 training pairs)',
           (31.28, 0.9093)),
          ('ddn_data', 'DDN-Data', 'rain1400', 'c4bd21a36ef3abbe9e2edfbb355c16168af00e0a',
           'Rain1400 (DDN-Data): 12600 training pairs (README)', (33.04, 0.9472)),
          ('spa_data', 'SPA-Data', 'SPA-Data', 'a0acbb3a5784f1ace919016d4d88860074170555',
           'SPA-Data: 638492 training pairs (README), 1500 batches of 16 per epoch',
           (41.47, 0.9834)),
      )],
    # SPANet: the release's SPA-Data model (real rain), and the models the BRN authors trained
    # on Rain200H/Rain200L with the release's main.py. All three in main.py's layout
    # {'net', 'clock', 'opt'} (RecDerain's saved from DataParallel: 'module.' prefixes).
    Release(
        name='spanet_spa_data', model='SPANet', trained_for='SPA-Data',
        config='configs/spanet/spanet_spa_data.py', converter='spanet', source=SPANET,
        path='model/latest', sha256='3b5d58d0f4569004a0d2dc6f4373463bd60991fc8a04c061361357cf012e5eb0',
        training_data="SPA-Data's real rainy/clean training pairs (real_world.txt)",
        published=(38.53, 0.9875),
        published_source=(f'stevewongv/SPANet README at {SPANET.commit[:7]} ("Performance Change": '
                          'PSNR 38.02 -> 38.53, SSIM 0.9868 -> 0.9875) on SPA-Data\'s '
                          'real_test_1000, scored with skimage.measure compare_psnr/compare_ssim on '
                          'the float outputs clipped to [0, 1], all three channels: no restorelab '
                          'protocol'),
        note=('its optimizer state records clock 40,000, initial lr 5e-4 and lr 5e-5 (main.py '
              'states 5e-3). Committed (f0d982d) two days before the README raised its numbers '
              'from 38.02 / 0.9868 to 38.53 / 0.9875 together with the CUDA IRNN (fb35145); the '
              'release does not say which figure this file gives')),
    *_recderain_rain200('SPANet', 'spanet', 'SPANet', 'step_40000', {
        'Rain200H': ('53c8c823c7138a7bb3c73db1be38a92bdc78e20bd206bbc202b6dfaa7d8e2189',
                     (26.59, 0.869)),
    }, note=_RECDERAIN_SPANET),
    *_recderain_rain200('SPANet', 'spanet', 'SPANet', 'latest', {
        'Rain200L': ('c6c6c10c1371fd31fd620143e79cb786fb02d984c538355372cbeeca00730192',
                     (36.13, 0.975)),
    }, note=_RECDERAIN_SPANET),
    # DDN: Xueyang Fu's TensorFlow re-implementation ships its trained model inside the training
    # code's archive; converter 'ddn' reads the TensorFlow checkpoint in the .zip directly.
    Release(
        name='ddn_ddn_data', model='DDN', trained_for='DDN-Data', config='configs/ddn/ddn_ddn_data.py',
        converter='ddn',
        source=DDN,
        path='paper/2017/cvpr/CVPR17_training_code.zip',
        sha256='74534e2de9cabe0e86df453a6c5b487ad28cbc1fa2e9bc5f829405e595160f57',
        git_blob='78afc294f3f7872b9d44df46577eb51298d6ee99',
        training_data=('not stated: the readme says only that model/trained/model is a pre-trained '
                       'model of this re-implementation; the release\'s data set is the paper\'s '
                       '(DDN-Data, 14 rainy renderings of each clean image)'),
        published=(30.00, 0.9041),
        published_source=('DRSformer paper (CVPR 2023), Table 1, DDN-Data column (numbers DRSformer '
                          "takes from earlier papers; RCDNet's scripts, restorelab protocol 'rcdnet')"),
        note=('the file is the training code\'s archive (966 KB); its '
              'CVPR17_training_code/model/trained/model.{index,data-00000-of-00001} is a TensorFlow '
              'checkpoint, which the converter reads from the archive without TensorFlow. The '
              "paper's own MatConvNet model (CVPR17_testing_code.zip, MATLAB) is not converted")),
]

# ---------------------------------------------------------------------------------------------
# Link-only releases.
_GDRIVE = 'https://drive.google.com/file/d/{}/view?usp=sharing'
_BAIDU = 'https://pan.baidu.com/s/{}'
_DRSFORMER_SETS = {  # set: (config suffix, Google Drive id, Baidu Cloud id + code, paper Table 1)
    'Rain200L': ('rain200l', '1Mm6hWdpjo9eEoNlCHAxd03etY3ks-zyy', '1uj7TWVr4Ys00Xfc8i-AquQ?pwd=kzj5',
                 (41.23, 0.9894)),
    'Rain200H': ('rain200h', '1mt8ydHE540_qtytger4dVcv6xqZ5YMhh', '1paqtkKfdjLGetnRVhDb6LQ?pwd=j10m',
                 (32.17, 0.9326)),
    'DID-Data': ('did_data', '1U_UEGPhYRJ-G10-Dypr7FbwDRGmroAHC', '1xSS5N5gUkpQ_Jl8MUz6wlw?pwd=nact',
                 (35.35, 0.9646)),
    'DDN-Data': ('ddn_data', '1kwPOfufdUf9bCZ-OvwIziw-6ZRdcT2RX', '1RKG-Eel29lgi0nHwdk2JIw?pwd=hj6r',
                 (34.35, 0.9588)),
    'SPA-Data': ('spa_data', '1i33Zmb1YXdLcalJOIP7YTegjnuTsVcC1', '1Jp5sAsFFmJmko7ZwHdKmxQ?pwd=vfvt',
                 (48.54, 0.9924)),
}
# The DRSformer repository's own Rain200H results for three of its sample test inputs
# (Datasets/test/Rain200H/input/k.png -> evaluations/.../results/Rain200H/k.png): the
# converted Rain200H model must reproduce them. No other set ships both inputs and results.
_DRSFORMER_RESULTS = 'evaluations/Evalution_Rain200L_Rain200H_SPA-Data/results/Rain200H'
_DRSFORMER_RAIN200H_CHECK = OutputCheck(DRSFORMER, (
    ('Datasets/test/Rain200H/input/1.png', '349b419a0cfa06619c92e16410f4d360f3c8db3b',
     f'{_DRSFORMER_RESULTS}/1.png', 'd20e222a1fc7e479326759416394823ee9e276e1'),
    ('Datasets/test/Rain200H/input/2.png', '43fa8c73e558a40726d1b753aab4f344e896e1ea',
     f'{_DRSFORMER_RESULTS}/2.png', '420968fe970f91f41d556b113580aa56b0f259d7'),
    ('Datasets/test/Rain200H/input/3.png', '307041f625e4f031dea6881298fcd38fc7f9b0a1',
     f'{_DRSFORMER_RESULTS}/3.png', '853eb138d07562d01bcc939c53d39cd9e5853eb0'),
))
_IDT_SETS = {  # set: (config suffix, README "Full-size Evaluation Results")
    'Rain200H': ('rain200h', (32.10, 0.9343)),
    'Rain200L': ('rain200l', (40.74, 0.9884)),
    'DDN-Data': ('ddn_data', (33.80, 0.9407)),
    'DID-Data': ('did_data', (34.85, 0.9401)),
    'SPA-Data': ('spa_data', (47.34, 0.9929)),
}
_IDT_FOLDER = 'https://drive.google.com/drive/folders/1PrEwOyFPciWKHC_UFe5ZE7x9JqfUkUMP?usp=sharing'
_SPDNET_SETS = {  # set: (config suffix, training data (SPDNet README "Datasets"), DRSformer Table 1)
    'Rain200H': ('rain200h', 'Rain200H: 1800 training pairs (the README\'s training command)',
                 (31.28, 0.9207)),
    'Rain200L': ('rain200l', 'Rain200L: 1800 training pairs', (40.50, 0.9875)),
    'DID-Data': ('did_data', 'Rain1200 (DID-Data): 12000 training pairs', (34.57, 0.9560)),
    'SPA-Data': ('spa_data', 'SPA-Data: 638492 training pairs', (43.20, 0.9871)),
}
_SPDNET_FOLDER = 'https://drive.google.com/drive/folders/1ylON5AkJVayoypOXDaUEkYd76LtMF-lB?usp=sharing'
_FADFORMER_SETS = {  # set: (config suffix, Baidu NetDisk id + code of the README, paper Table 1)
    'Rain200L': ('rain200l', '14-xuieEB4gW6VO5KHCcNFQ?pwd=cozn', (41.80, 0.9906)),
    'Rain200H': ('rain200h', '1kTEeWv6FvicdAa-m49M33A?pwd=qw5d', (32.48, 0.9359)),
    'DID-Data': ('did_data', '12wkegevMjiQCh6yvG8dDXA?pwd=0vcr', (35.48, 0.9657)),
    'DDN-Data': ('ddn_data', '132Qz9TflresThDdjZAzvDA?pwd=c313', (34.42, 0.9602)),
    'SPA-Data': ('spa_data', '1iHbPEjuUMVYt9do7odrtmg?pwd=3s40', (49.21, 0.9934)),
}

# NeRD-Rain's README, "Pre-trained Models": one Google Drive file and one Baidu Cloud link per model
# and set. The paper's Table 1 (figs/table.png of the release).
_NERD_RAIN_SETS = {  # set: (config suffix, {variant: (Google Drive id, Baidu Cloud id + code, Table 1)})
    'Rain200L': ('rain200l', {
        'nerd_rain_s': ('1Grzb8ga_1tZEIMGXhtF_W2cDHS4Dq-Lz', '1pnsPFIzxpIStYnjffQ9oOw?pwd=thga', (41.30, 0.9895)),
        'nerd_rain': ('14pAgjJu8txIy7KD-7iB089U7jysnARrW', '1guDBWLjihXY1ChZuX5keBw?pwd=ub1n', (41.71, 0.9903))}),
    'Rain200H': ('rain200h', {
        'nerd_rain_s': ('1WXjrM50r7m8YjPKZOqmfNeJU57WEjZzc', '1Pl8wuHuRc8Uqt6lrh3IywA?pwd=twg1', (32.06, 0.9315)),
        'nerd_rain': ('1MOG3ZrXQxH-o13O1QWB6EiZhJsXOlUXs', '1S_Yp3bbHJZjgF1nI9qXzCA?pwd=x45q', (32.40, 0.9373))}),
    'DID-Data': ('did_data', {
        'nerd_rain_s': ('12drqRA6tVv_k_y3WCuFVIBEEHKe6KTsr', '1fqqIOwxdKHVhga5FAnGG1g?pwd=bljv', (35.36, 0.9647)),
        'nerd_rain': ('10uvLyC0NjbOWAEfFgB9nDEQDHC_CB8KC', '1Blt5D2nXMFwuC0PcbbDy2g?pwd=n37f', (35.53, 0.9659))}),
    'DDN-Data': ('ddn_data', {
        'nerd_rain_s': ('1oonCvgCEjDQXHuGBRkdZ5DmE33zv6Rt7', '1I3eLobpDrXPQo7_3JMp0Mw?pwd=10ut', (34.25, 0.9578)),
        'nerd_rain': ('1KYiW5lYFrgP5AsImF94-fpXw5B0NdR4K', '1IhXwpNJEqTbLaw7AC88CSg?pwd=01m0', (34.45, 0.9596))}),
    'SPA-Data': ('spa_data', {
        'nerd_rain_s': ('1oO5Q4ZDFF983uXL2isYzzdV3BwPXY0Ru', '1vbS9RTLGrRnsKp6uQ2zt5Q?pwd=p7h9', (48.90, 0.9936)),
        'nerd_rain': ('1c3lLvRQACii_-9hJLA_J4mgZePWNXWLR', '1J5CJ8ehNB0EUqQdtlPdMEA?pwd=mhkn', (49.58, 0.9940))}),
}
_NERD_RAIN_MODELS = {'nerd_rain': 'NeRD-Rain', 'nerd_rain_s': 'NeRD-Rain-S'}

# Releases outside git repositories: Google Drive files (fetched with gdown), release assets,
# and link-only ones (Baidu Cloud, Drive folders whose files are not identified one by one).
_LINK_ONLY = [
    *[Release(
        name=f'drsformer_{suffix}', model='DRSformer', trained_for=dataset,
        config=f'projects/drsformer/configs/drsformer_{suffix}.py', converter='drsformer',
        source=DRSFORMER, training_data=f'{dataset} training set (DRSformer README)',
        published=published,
        published_source=('DRSformer paper (CVPR 2023), Table 1 (the README shows it as '
                          'figs/table.png); Rain200L/H and SPA-Data scored with Restormer\'s '
                          "evaluate_PSNR_SSIM.m (restorelab protocol 'restormer'), DID/DDN-Data "
                          "with RCDNet's scripts ('rcdnet')"),
        links=(('Google Drive', _GDRIVE.format(drive)),
               ('Baidu Cloud (code in the link)', _BAIDU.format(baidu))),
        drive_id=drive, link_file=f'{dataset}.pth',
        output_check=_DRSFORMER_RAIN200H_CHECK if suffix == 'rain200h' else None,
        note=('trained without MEFC (the release\'s DRSformer_arch_200L+SPA.py); the config sets '
              'use_mefc=False' if suffix in ('rain200l', 'spa_data') else ''))
      for dataset, (suffix, drive, baidu, published) in _DRSFORMER_SETS.items()],
    Release(
        name='restormer_rain13k', model='Restormer', trained_for='Rain13K',
        # No Rain13K config exists: the Rain200H config builds the same arch (the release's
        # deraining Restormer) and serves as the --check-config of the conversion.
        config='configs/restormer/restormer_rain200h.py', converter='restormer', source=RESTORMER,
        training_data='Rain13K (Deraining/README.md), one model for the five test sets',
        published=None,
        published_source=('not transcribed: the README gives the deraining results only as an '
                          'image (https://i.imgur.com/mMoqYJi.png)'),
        links=(('Google Drive folder (Deraining/README.md)',
                'https://drive.google.com/drive/folders/1ZEDDEVW0UgkpWi-N4Lj_JUoVChGXCu_u?usp=sharing'),
               ('GitHub release asset v1.0',
                'https://github.com/swz30/Restormer/releases/download/v1.0/deraining.pth')),
        link_file='deraining.pth',  # Deraining/test.py's default --weights
        asset_url='https://github.com/swz30/Restormer/releases/download/v1.0/deraining.pth',
        note=('the README links only the Drive folder; the release-asset URL is the one other '
              'projects download (e.g. the tests of chaiNNer-org/spandrel), not read from a page '
              'of the repository. restorelab has no Rain13K config: the Rain200H config builds '
              'the same arch for --check-config')),
    Release(
        name='uformer_derain', model='Uformer', trained_for='(none)',
        config='configs/uformer/uformer_rain200h.py', converter='uformer', source=UFORMER,
        training_data='no deraining model is released', published=None,
        published_source='no deraining numbers in the README',
        links=(),
        note=('no deraining weights were found: the README ("Pretrained model") releases only '
              'Uformer_B for SIDD denoising and GoPro deblurring (OneDrive links), which the '
              "'uformer' converter reads but which are not deraining models")),
    *[Release(
        name=f'idt_{suffix}', model='IDT', trained_for=dataset,
        config=f'configs/idt/idt_{suffix}.py', converter='idt', source=IDT,
        training_data=f'{dataset} training set (IDT README)', published=published,
        published_source=("jiexiaou/IDT README, \"Full-size Evaluation Results\" (the release's "
                          'evaluaterain.m)'),
        links=(('Google Drive folder "Derain" (README "Pretrained Model")', _IDT_FOLDER),),
        note=('one Drive folder holds the deraining models of every set; the README does not '
              'say which file belongs to which set'))
      for dataset, (suffix, published) in _IDT_SETS.items()],
    # MPRNet: one deraining model (Rain13K), on Google Drive (fetched with gdown).
    Release(
        name='mprnet_rain13k', model='MPRNet', trained_for='Rain13K',
        config='configs/mprnet/mprnet_rain13k.py', converter='mprnet', source=MPRNET,
        training_data=('Rain13K: 13,712 pairs from Rain14000, Rain1800, Rain800 and Rain12 (MPRNet '
                       'paper, Sec. 4.1), one model for the five test sets'),
        published=None,
        published_source=('MPRNet paper (CVPR 2021), Table 1, PSNR/SSIM: Test100 30.27/0.897, '
                          'Rain100H 30.41/0.890, Rain100L 36.40/0.965, Test2800 33.64/0.938, '
                          'Test1200 32.91/0.916 (average 32.73/0.921), scored with the release\'s '
                          "Deraining/evaluate_PSNR_SSIM.m (restorelab protocol 'restormer') on the "
                          'test sets of its Deraining/Datasets/README.md; transcribed from the '
                          'paper, not cross-checked against a copy of it in this project'),
        links=(('Google Drive (README.md "Quick Run", Deraining/README.md)',
                _GDRIVE.format('1O3WEJbcat7eTY6doXWeorAbQ1l_WmMnM')),),
        link_file='model_deraining.pth',  # Deraining/test.py's default --weights
        drive_id='1O3WEJbcat7eTY6doXWeorAbQ1l_WmMnM',
        note=("a {'epoch', 'state_dict', 'optimizer'} file saved from DataParallel; the converter "
              'takes its state_dict')),
    # SPDNet: one Google Drive folder ("The pre-trained model can be available at google
    # drive"), files not listed per set in the README.
    *[Release(
        name=f'spdnet_{suffix}', model='SPDNet', trained_for=dataset,
        config=f'configs/spdnet/spdnet_{suffix}.py', converter='spdnet', source=SPDNET,
        training_data=training_data, published=published,
        published_source=('DRSformer paper (CVPR 2023), Table 1, SPDNet row (its text: models '
                          'of the authors evaluated with their code where released, retrained '
                          "otherwise); scored with RCDNet's scripts ('rcdnet') for DID-Data, "
                          "Restormer's ('restormer') for Rain200L/H and SPA-Data"),
        links=(('Google Drive folder (README "Test")', _SPDNET_FOLDER),),
        link_file='model_best.pt',  # the README's test command: --pre_train .../model_best.pt
        note=('the README links one Drive folder and names no file per set; its test command '
              "is Rain200H's (data_range 1-1800/1-200). The DRSformer authors point to this "
              "release for SPDNet's SPA-Data weights (cschenxiang/DRSformer issue #8)"))
      for dataset, (suffix, training_data, published) in _SPDNET_SETS.items()],
    # FADformer: one model per set, on Baidu NetDisk only (README "Pre-trained Models").
    *[Release(
        name=f'fadformer_{suffix}', model='FADformer', trained_for=dataset,
        config=f'projects/fadformer/configs/fadformer_{suffix}.py', converter='fadformer',
        source=FADFORMER, training_data=f'{dataset} training set (FADformer README, train_*.py)',
        published=published,
        published_source=('FADformer paper (ECCV 2024), Table 1 (the README shows it as figs/result.png); '
                          'per the comments of the release\'s predict_with_metrics.py, Rain200L/H and '
                          'SPA-Data scored by that script ("option2 ... to reproduce the performance table": '
                          'each image restored as four overlapping corner crops of a multiple of 4, averaged; '
                          'Y-channel PSNR of the unrounded outputs, pytorch_msssim SSIM), DID/DDN-Data with '
                          "MATLAB code as DRSformer's (restorelab protocol 'rcdnet')"),
        links=(('Baidu NetDisk (code in the link)', _BAIDU.format(baidu)),),
        link_file='FADformer_Rain200H.pth' if suffix == 'rain200h' else '',
        note=("a {'state_dict'} file saved from DataParallel (train_*.py); the file names inside the "
              'Baidu shares are not stated (predict_with_metrics.py loads FADformer_Rain200H.pth)'))
      for dataset, (suffix, baidu, published) in _FADFORMER_SETS.items()],
    # MSPFN: one Google Drive file (fetched with gdown) holding the TensorFlow checkpoint that
    # test/test_MSPFN.py restores ('../MSPFN/epoch50'); converter 'mspfn' reads it without
    # TensorFlow.
    Release(
        name='mspfn_m17n1_rain13k', model='MSPFN', trained_for='Rain13K',
        config='configs/mspfn/mspfn_m17n1_rain13k.py', converter='mspfn', source=MSPFN,
        training_data=('the 13,712 pairs of Rain14000, Rain1800, Rain800 and Rain12 (README: '
                       '"Download training dataset", Baidu Cloud)'),
        published=None,
        published_source=('not transcribed: the MSPFN paper\'s tables could not be read here; the '
                          'README says the released model is 0.1-0.2 dB below the paper\'s numbers. '
                          'DRSformer\'s Table 1 lists MSPFN retrained per set, not this model'),
        links=(('Google Drive (README "Download the pretrained models")',
                _GDRIVE.format('1nrjZtNs6AJYvfHi9TeCVTs50E57Fxgsc')),
               ('Baidu Cloud (password u5v6)', _BAIDU.format('1vfYbkbygiR4fC1I6eNcpmQ'))),
        link_file='MSPFN',  # the folder test_MSPFN.py reads, once the download is unpacked
        drive_id='1nrjZtNs6AJYvfHi9TeCVTs50E57Fxgsc',
        note=('the network of model/TEST_MSPFN_M17N1.py (17 fine fusion modules, one channel '
              'attention unit per scale). The Drive link is one file, not a folder, while a '
              'TensorFlow checkpoint is two (epoch50.index and epoch50.data-*): an archive, '
              'whose format and contents could not be checked from here. Converter \'mspfn\' '
              'reads a .zip archive holding the checkpoint as it is (the one checkpoint inside, '
              'or the one its TensorFlow checkpoint file names), as it reads the unpacked folder '
              'MSPFN/ or its .index file; an archive of another format must be unpacked first. '
              "A reader of the release's issues (#9) found epoch30 where the test script "
              'restores epoch50')),
    # NeRD-Rain and NeRD-Rain-S: one Google Drive file per model and set.
    *[Release(
        name=f'{variant}_{suffix}', model=_NERD_RAIN_MODELS[variant], trained_for=dataset,
        config=f'projects/nerd_rain/configs/{variant}_{suffix}.py', converter='nerd_rain',
        source=NERD_RAIN, training_data=f'{dataset} training set (NeRD-Rain README)',
        published=published,
        published_source=('NeRD-Rain paper (CVPR 2024), Table 1 (the README shows it as '
                          "figs/table.png); Rain200L/H and SPA-Data scored with the release's "
                          "evaluate_PSNR_SSIM.m (restorelab protocol 'restormer'), DID/DDN-Data "
                          "with its statistic.m ('rcdnet')"),
        links=(('Google Drive', _GDRIVE.format(drive)),
               ('Baidu Cloud (code in the link)', _BAIDU.format(baidu))),
        drive_id=drive,
        note=("the release's test.py derains in 256x256 windows (layers.py window_partitionx): "
              'the published numbers were measured that way; the repository ships no results of '
              'its own for an output check (its evaluations/ folder holds DRSformer\'s)'))
      for dataset, (suffix, variants) in _NERD_RAIN_SETS.items()
      for variant, (drive, baidu, published) in variants.items()],
]

RELEASES = {r.name: r for r in (*_DOWNLOADABLE, *_LINK_ONLY)}
