"""A local web app: upload rainy photos, derain them with one or more models, compare.

    python tools/webui.py [--models [LABEL=]CONFIG.py:CHECKPOINT.pth | NAME ...]
                          [--bench BENCH_CONFIG] [--host 127.0.0.1] [--port 7860]
                          [--device cpu|cuda]

--models takes restorelab checkpoints with their configs (official weights converted
with tools/convert_checkpoint.py), released models by name (python tools/zoo.py
list) and exported .onnx files; --bench reuses a benchmark config's model list (each model
reference loaded by restorelab.apis.load_restorer). With neither it serves the released
models already in the zoo cache (python tools/zoo.py download NAME adds one) beside the
identity; with none cached, the toy models `make demo` trained (work_dirs/demo), else the
identity alone. Needs `pip install -e .[webui]`.
It listens on 127.0.0.1 only unless --host says otherwise; uploads and results live
in a temporary folder removed when the server stops (Ctrl+C).
"""
import argparse
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
import time

from restorelab.utils.errors import UserInputError, user_error_message

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

DEMO_BENCH = os.path.join('work_dirs', 'demo', 'benchmark_demo.py')
DEMO_INTRO = (
    'These are the toy models `make demo` trained for a minute or two each on synthetic rain '
    '(`{bench}`): they show the app working, not real deraining. For real results start it '
    'with real checkpoints: `python tools/webui.py --models CONFIG.py:CHECKPOINT.pth` '
    '(official weights converted with `tools/convert_checkpoint.py`), a released model by '
    'name (`--models prenet_rain100h`), or a benchmark config\'s list (`--bench BENCH_CONFIG`). '
    'Released models downloaded with `python tools/zoo.py download NAME` are served instead '
    'of these.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Derain photos and compare derainers in a local '
                                     'web app')
    parser.add_argument('--models', nargs='+', default=[], metavar='MODEL',
                        help='[LABEL=]CONFIG.py:CHECKPOINT.pth, or a released model name '
                             '(python tools/zoo.py list)')
    parser.add_argument('--bench', default=None, metavar='BENCH_CONFIG',
                        help="a benchmark config whose `models` list (and `inference` settings) "
                             'the app serves')
    parser.add_argument('--host', default='127.0.0.1',
                        help='interface to listen on (default 127.0.0.1: this machine only; '
                             '0.0.0.0 lets anyone who can reach it upload and run models)')
    parser.add_argument('--port', type=int, default=7860, help='port (default 7860)')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda or cuda:N (default: cuda when present, else cpu)')
    return parser.parse_args(argv)


ADD_MODELS = (
    'Add a released model with `python tools/zoo.py download NAME` (the names: `python '
    'tools/zoo.py list`) and restart the app, or start it with `--models NAME ...`, '
    '`--models CONFIG.py:CHECKPOINT.pth` (official weights converted with '
    '`tools/convert_checkpoint.py`) or a benchmark config\'s list (`--bench BENCH_CONFIG`).')
CACHED_INTRO = ('Released models found in the zoo cache (`{cache}`), beside the identity (the '
                'rainy input as it is, for comparison). ' + ADD_MODELS)
IDENTITY_INTRO = ('No released model is in the zoo cache (`{cache}`) and `make demo` has not '
                  'run, so only the identity (the rainy input as it is) is served. ' + ADD_MODELS)


def cached_released_names():
    """The released models whose weights are already in the zoo cache, in manifest order."""
    from restorelab.apis.zoo import is_cached, list_released
    return [r.name for r in list_released(downloadable=True) if is_cached(r)]


def resolve_models(args):
    """``(choices, inference, intro)`` for the command line. Without --models or --bench:
    the released models in the zoo cache and the identity; with none cached, the demo's
    models; without those, the identity alone."""
    from restorelab.apis.zoo import resolve_cache_dir
    from restorelab.webui import model_choices
    models, bench, intro = list(args.models), args.bench, ''
    if not models and bench is None:
        cache = resolve_cache_dir()
        demo = os.path.join(REPO, DEMO_BENCH)
        models = cached_released_names()
        if models:
            models.append('identity')
            intro = CACHED_INTRO.format(cache=cache)
        elif os.path.isfile(demo):
            bench, intro = demo, DEMO_INTRO.format(bench=os.path.relpath(demo))
        else:
            models, intro = ['identity'], IDENTITY_INTRO.format(cache=cache)
    choices, inference = model_choices(models, bench)
    return choices, inference, intro


def _stop_like_ctrl_c(signum, frame):
    """SIGTERM ends the server as Ctrl+C does (Gradio closes it, the temporary folder goes)."""
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(argv)
    try:
        if importlib.util.find_spec('gradio') is None:
            raise UserInputError('the web app needs gradio, which is not installed: '
                                 "pip install -e '.[webui]'")
        choices, inference, intro = resolve_models(args)
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2

    import torch

    from restorelab.webui import ModelCache
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    work = tempfile.mkdtemp(prefix='restorelab-webui-')
    # Gradio reads its upload folder from the environment when it is imported.
    os.environ['GRADIO_TEMP_DIR'] = os.path.join(work, 'uploads')
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    app = None
    try:
        from restorelab.webui import build_app
        app = build_app(choices, ModelCache(inference, device), os.path.join(work, 'outputs'),
                        intro=intro, log=lambda msg: print(msg, flush=True))
        app.queue(default_concurrency_limit=1)
        print(f'restorelab web app: {len(choices)} model(s) on {device}:', flush=True)
        for c in choices:
            print(f'  {c.label}: {c.describe()}')
        if intro:
            print(intro.replace('`', ''))
        if args.host not in ('127.0.0.1', 'localhost', '::1'):
            print(f'warning: listening on {args.host}: anyone who can reach this machine can '
                  'upload images and run models (there is no login)', file=sys.stderr)
        print(f'uploads and results: {work} (removed when the server stops)', flush=True)
        try:
            # quiet: Gradio's own lines suggest share=True (not an option here) and, on
            # Ctrl+C, a "Keyboard interruption" notice; the app says what it does itself.
            app.launch(server_name=args.host, server_port=args.port, ssr_mode=False,
                       theme=app.restorelab_theme, allowed_paths=[work], footer_links=[],
                       mcp_server=False, show_error=True, quiet=True, prevent_thread_lock=True)
        except OSError as err:
            print(f'error: cannot serve on {args.host}:{args.port}: {err} (is the port in use? '
                  'choose another with --port)', file=sys.stderr)
            return 2
        print(f'Running on local URL:  {app.local_url}', flush=True)
        print('Stop the server with Ctrl+C.', flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM
        if app is not None:
            app.close()
        print('stopped', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
