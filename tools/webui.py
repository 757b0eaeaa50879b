"""A local web app: upload rainy photos, derain them with one or more models, compare.

    python tools/webui.py [--models [LABEL=]CONFIG.py:CHECKPOINT.pth | NAME ...]
                          [--bench BENCH_CONFIG] [--host 127.0.0.1] [--port 7860]
                          [--device cpu|cuda]

--models takes restorelab checkpoints with their configs (official weights converted
with tools/convert_checkpoint.py), released models by name (python tools/zoo.py
list) and exported .onnx files; --bench reuses a benchmark config's model list (each model
reference loaded by restorelab.apis.load_restorer). With neither it serves the
toy models `make demo` trained (work_dirs/demo). Needs `pip install -e .[webui]`.
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

from restorelab.utils.errors import UserInputError, user_error_message

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

DEMO_BENCH = os.path.join('work_dirs', 'demo', 'benchmark_demo.py')
DEMO_INTRO = (
    'These are the toy models `make demo` trained for a minute or two each on synthetic rain '
    '(`{bench}`): they show the app working, not real deraining. For real results start it '
    'with real checkpoints: `python tools/webui.py --models CONFIG.py:CHECKPOINT.pth` '
    '(official weights converted with `tools/convert_checkpoint.py`), a released model by '
    'name (`--models prenet_rain100h`), or a benchmark config\'s list (`--bench BENCH_CONFIG`).')


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


def resolve_models(args):
    """``(choices, inference, intro)`` for the command line; the demo's models by default."""
    from restorelab.webui import model_choices
    bench, intro = args.bench, ''
    if not args.models and bench is None:
        bench = os.path.join(REPO, DEMO_BENCH)
        if not os.path.isfile(bench):
            raise UserInputError(
                f'no models given, and {bench} (the models `make demo` trains) does not exist. '
                'Run `make demo` first, or give --models CONFIG.py:CHECKPOINT.pth (or a released '
                'model name such as prenet_rain100h) or --bench BENCH_CONFIG.')
        intro = DEMO_INTRO.format(bench=os.path.relpath(bench))
    choices, inference = model_choices(args.models, bench)
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
            app.launch(server_name=args.host, server_port=args.port, ssr_mode=False,
                       theme=app.restorelab_theme, allowed_paths=[work], footer_links=[],
                       mcp_server=False, show_error=True, quiet=False)
        except OSError as err:
            print(f'error: cannot serve on {args.host}:{args.port}: {err} (is the port in use? '
                  'choose another with --port)', file=sys.stderr)
            return 2
    except KeyboardInterrupt:  # Ctrl+C or SIGTERM before Gradio's own loop took over
        if app is not None:
            app.close()
        print('stopped', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
