"""Packaging for restorelab.

torch is required as ``torch>=2.1`` so that an installed torch is kept; the
Makefile installs ``torch==2.13.0`` (a CPU wheel) first when none is importable,
because an unpinned torch resolves to a multi-GB CUDA build.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version():
    text = (HERE / 'restorelab' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


setup(
    name='restorelab',
    version=read_version(),
    description='Registry-driven image restoration (deraining) framework on mmengine',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['restorelab', 'restorelab.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.1',
        'mmengine>=0.10.4',
        # mmcv-lite provides `import mmcv` (image io, transforms base) without
        # compiled ops; nothing in restorelab needs mmcv.ops.
        'mmcv-lite>=2.1',
        'einops',
        'numpy',
        'opencv-python-headless',
        'addict',
        'tensorboard',
        'scikit-image',
    ],
    extras_require={
        'test': ['pytest>=7', 'pytest-timeout'],
        # tools/webui.py: the local web app (Gradio, one major version).
        'webui': ['gradio>=6,<7'],
        # tests/webui: drive the app in Debian's chromium (apt-get install chromium chromium-driver).
        'browser-test': ['selenium>=4.20,<5'],
        # restorelab.deploy, tools/deploy/export_onnx.py, tools/derain.py --backend onnxruntime:
        # onnx (metadata, checks) and ONNX Runtime. torch's TorchScript exporter writes the graph,
        # so onnxscript (the dynamo exporter's) is not needed.
        'deploy': ['onnx>=1.17,<2', 'onnxruntime>=1.20,<2'],
        # Released weights hosted on Google Drive (tools/zoo.py download, init_model(NAME)):
        # gdown follows Drive's large-file confirmation page. Weights in git repositories and
        # on plain HTTPS need nothing beyond the standard library.
        'zoo': ['gdown>=5,<7'],
    },
)
