"""The released models restorelab knows by name: where each file is, its sha256, the config
and converter that load it, what it was trained for and what its authors published.

A Python module rather than a JSON file: it ships inside the package with no package-data
rule, the facts shared by one repository (commit, licence, source of the published numbers)
are written once, and a comment can sit beside a fact that needs one. ``tools/zoo.py list
--json`` prints the same data as JSON for other programs.

Two kinds of entries:

- *downloadable*: a plain file in a public git repository, fetched from
  ``https://raw.githubusercontent.com/<repo>/<commit>/<path>`` (pinned to a commit) and
  checked against ``sha256`` by :func:`restorelab.apis.zoo.get_released`;
- *link-only*: weights on Google Drive, Baidu Cloud, OneDrive or a GitHub release page,
  which cannot be fetched and hashed here. They list their download links and the one
  command that converts the downloaded file (:attr:`Release.convert_command`).

Every link below was read from the named repository at the named commit, except where the
entry's note says otherwise. Nothing here is downloaded at import.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

RAW_GITHUB = 'https://raw.githubusercontent.com/'


@dataclass(frozen=True)
class Source:
    """A public repository at one commit, and what it says about its licence."""
    repo: str  # 'owner/name' on GitHub
    commit: str  # 40 hex digits
    licence: str


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
    links: Tuple[Tuple[str, str], ...] = field(default=())  # (label, URL) for link-only entries
    link_file: str = ''  # the file name a link gives, where the release says it
    note: str = ''

    @property
    def downloadable(self):
        return self.sha256 is not None or self.git_blob is not None

    @property
    def url(self):
        """The raw.githubusercontent.com URL pinned to the commit (downloadable entries)."""
        if not self.downloadable:
            return None
        return f'{RAW_GITHUB}{self.source.repo}/{self.source.commit}/{self.path}'

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
RCDNET = Source('hongwang01/RCDNet', 'c6e1539697590452ce0ceb6d6e3bb897e8f65f90',
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
_IDT_SETS = {  # set: (config suffix, README "Full-size Evaluation Results")
    'Rain200H': ('rain200h', (32.10, 0.9343)),
    'Rain200L': ('rain200l', (40.74, 0.9884)),
    'DDN-Data': ('ddn_data', (33.80, 0.9407)),
    'DID-Data': ('did_data', (34.85, 0.9401)),
    'SPA-Data': ('spa_data', (47.34, 0.9929)),
}
_IDT_FOLDER = 'https://drive.google.com/drive/folders/1PrEwOyFPciWKHC_UFe5ZE7x9JqfUkUMP?usp=sharing'

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
]

RELEASES = {r.name: r for r in (*_DOWNLOADABLE, *_LINK_ONLY)}
