"""Take docs/images/webui.png: tools/webui.py serving the `make demo` models (run `make demo`
first), one demo test image with its ground truth, four models, in the headless Chromium of
the browser tests. Not a test; run it by hand:

    .venv/bin/python tests/webui/docs_screenshot.py [--image chelsea_1.png] [--out docs/images/webui.png]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_webui_browser import _open, _rows, _run, _set_models, _status, _upload  # noqa: E402
from webui_helpers import REPO, Server, new_browser  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image', default='chelsea_1.png')
    parser.add_argument('--models', default='DRSformer,Restormer,PReNet,identity')
    parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'images', 'webui.png'))
    args = parser.parse_args()
    from PIL import Image
    data = os.path.join(REPO, 'work_dirs', 'demo', 'data', 'test')
    work = tempfile.mkdtemp()
    server = Server([], os.path.join(work, 'server.log'))
    browser = new_browser(('/usr/bin/chromium', '/usr/bin/chromedriver'), work)
    try:
        browser.set_window_size(1400, 1250)
        _open(browser, server)
        _upload(browser, 'rainy', [os.path.join(data, 'input', args.image)])
        _upload(browser, 'gts', [os.path.join(data, 'target', args.image)])
        _set_models(browser, set(args.models.split(',')))
        _run(browser)
        print(_status(browser))
        for row in _rows(browser):
            print(' | '.join(row))
        browser.execute_script('window.scrollTo(0, 0)')
        shot = os.path.join(work, 'shot.png')
        browser.save_screenshot(shot)
    finally:
        browser.quit()
        server.stop()
    # A 256-colour palette keeps the page legible and the file small.
    Image.open(shot).convert('RGB').quantize(256, method=Image.Quantize.MEDIANCUT).save(
        args.out, optimize=True)
    print(f'wrote {args.out} ({os.path.getsize(args.out) // 1024} KB)')


if __name__ == '__main__':
    main()
