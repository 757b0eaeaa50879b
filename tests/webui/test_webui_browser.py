"""tools/webui.py as a person uses it: a real headless Chromium uploads, derains, downloads,
stops a long run, and two sessions share the one worker (see conftest.py for what it needs)."""
import os
import re
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch
from webui_helpers import REPO, TINY_CONFIG, Server, new_browser

from restorelab.apis import derain, init_model
from restorelab.apis.compare import score
from restorelab.utils.image_io import imread_image, imwrite_image

WAIT = 180  # seconds; generous for a busy 2-core machine


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, h // 8), max(2, w // 8), 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _rainy(clean):
    rain = clean.astype(np.int64)
    yy, xx = np.mgrid[:clean.shape[0], :clean.shape[1]]
    peak = 255 if clean.dtype == np.uint8 else 65535
    rain[(xx + 2 * yy) % 7 == 0] = int(peak * 0.9)
    return rain.astype(clean.dtype)


def _by(css):
    from selenium.webdriver.common.by import By
    return By.CSS_SELECTOR, css


def _wait(driver, condition, timeout=WAIT, what=''):
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))
    except Exception:
        status = driver.find_element(*_by('#status')).text
        raise AssertionError(f'waited {timeout} s for {what}; the status reads {status!r}') from None


def _status(driver):
    return driver.find_element(*_by('#status')).text


def _progress(driver):
    return driver.find_element(*_by('#progress')).text


def _open(driver, server):
    driver.get(server.url)
    _wait(driver, lambda d: d.find_elements(*_by('#rainy input[type=file]')), what='the page')


def _upload(driver, component, paths):
    field = driver.find_element(*_by(f'#{component} input[type=file]'))
    field.send_keys('\n'.join(str(p) for p in paths))
    names = {os.path.basename(p) for p in paths}
    _wait(driver, lambda d: names <= _listed(d, component), timeout=60, what=f'{names} to upload')


def _listed(driver, component):
    """The file names a file component lists."""
    return {c.get_attribute('aria-label') for c in driver.find_elements(*_by(f'#{component} td.filename'))}


def _clear(driver, component):
    driver.find_element(*_by(f'#{component} button[aria-label="Clear"]')).click()
    _wait(driver, lambda d: d.find_elements(*_by(f'#{component} input[type=file]')),
          what=f'{component} to clear')


def _set_models(driver, labels):
    for label in driver.find_elements(*_by('#models label')):
        box = label.find_element(*_by('input[type=checkbox]'))
        if box.is_selected() != (label.text.strip() in labels):
            label.click()


def _open_options(driver):
    if not driver.find_elements(*_by('#tiling')) or not driver.find_element(*_by('#tiling')).is_displayed():
        button = [b for b in driver.find_elements(*_by('button'))
                  if 'Inference options' in b.text][0]
        button.click()
        _wait(driver, lambda d: d.find_element(*_by('#tiling')).is_displayed(), what='the options')


def _set_options(driver, tiling='auto', tile=256, overlap=32, self_ensemble=False):
    _open_options(driver)
    [label for label in driver.find_elements(*_by('#tiling label')) if label.text == tiling][0].click()
    for component, value in (('tile', tile), ('overlap', overlap)):
        field = driver.find_element(*_by(f'#{component} input'))
        field.clear()
        field.send_keys(str(value))
    box = driver.find_element(*_by('#self_ensemble input[type=checkbox]'))
    if box.is_selected() != self_ensemble:
        box.click()


def _run(driver, done=True):
    before = _status(driver)  # the previous run's summary, until this run's first answer
    driver.find_element(*_by('#run')).click()
    if done:
        _wait(driver, lambda d: _status(d) != before, what='the run to start')
        _wait(driver, lambda d: _status(d).startswith('Done'), what='the run to finish')


def _rows(driver):
    """The results table as a list of rows of cell texts (header excluded)."""
    rows = [[c.text.strip() for c in r.find_elements(*_by('[role=gridcell]'))]
            for r in driver.find_elements(*_by('#results [role=row]'))]
    return [r for r in rows if r]


def test_upload_derain_compare_and_download_16_bit(server, browser, tmp_path, tiny_checkpoint):
    clean = _photo(60, 84).astype(np.uint16) * 257 + 100
    rainy = _rainy(clean)
    imwrite_image(tmp_path / 'rain' / 'street.png', rainy)
    imwrite_image(tmp_path / 'gt' / 'street.png', clean)

    _open(browser, server)
    assert 'Tiny' in browser.find_element(*_by('#models')).text
    _upload(browser, 'rainy', [tmp_path / 'rain' / 'street.png'])
    _upload(browser, 'gts', [tmp_path / 'gt' / 'street.png'])
    _set_models(browser, {'Tiny', 'identity'})
    # The protocol the models' configs score with is the default, and the page says so.
    _open_options(browser)
    assert "'restormer': what the models' test configs score with" in browser.find_element(
        *_by('#protocol')).get_attribute('textContent')
    _run(browser)
    assert "PSNR/SSIM on the 'restormer' protocol" in _status(browser)

    # What the page shows equals what restorelab.apis computes for the same file.
    torch.set_num_threads(1)  # as the server runs (OMP_NUM_THREADS=1)
    expected = derain(init_model(TINY_CONFIG, tiny_checkpoint), str(tmp_path / 'rain' / 'street.png'))
    rows = {r[1]: r for r in _rows(browser)}
    assert set(rows) == {'Tiny', 'identity'}
    tiny = rows['Tiny']
    assert tiny[0] == 'street.png' and tiny[2] == '84x60 RGB 16-bit'
    assert float(tiny[3]) > 0  # seconds
    metrics = score(expected, clean, 'restormer')
    assert abs(float(tiny[4]) - metrics['psnr']) <= 0.011 and abs(float(tiny[5]) - metrics['ssim']) <= 1e-4
    rainy_psnr = score(rainy, clean, 'restormer')['psnr']
    assert abs(float(rows['identity'][4]) - rainy_psnr) <= 0.011

    # Before/after slider and the gallery show images; the pick list names every output.
    _wait(browser, lambda d: len(d.find_elements(*_by('#compare img'))) == 2, what='the slider')
    assert len(browser.find_elements(*_by('#gallery img'))) >= 2
    # The page loaded nothing from outside this server (no web fonts, no CDN).
    loaded = browser.execute_script("return performance.getEntriesByType('resource')"
                                    '.map(e => e.name)')
    assert loaded and all(u.startswith((server.url, 'data:', 'blob:')) for u in loaded), loaded
    browser.save_screenshot(str(tmp_path / 'webui.png'))
    assert os.path.getsize(tmp_path / 'webui.png') > 10000

    # Download the full-resolution 16-bit PNG through its link.
    links = browser.find_elements(*_by('#downloads a[download]'))
    link = [a for a in links if 'Tiny' in a.get_attribute('download')][0]
    assert sorted(a.get_attribute('download') for a in links) == ['street_Tiny.png',
                                                                   'street_identity.png']
    assert server.work_dir in link.get_attribute('href')  # served from the temporary folder
    link.click()
    target = tmp_path / 'downloads' / link.get_attribute('download')
    _wait(browser, lambda d: target.is_file() and target.stat().st_size > 0, what='the download')
    got = imread_image(target)
    assert got.shape == (60, 84, 3) and got.dtype == np.uint16
    assert (got % 257 != 0).any()  # real 16-bit values, not 8-bit ones scaled up
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_a_corrupt_upload_shows_its_error_and_the_page_keeps_working(server, browser, tmp_path):
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n this is not an image')
    imwrite_image(tmp_path / 'gray.jpg', _photo(40, 48)[..., 1])

    _open(browser, server)
    _upload(browser, 'rainy', [tmp_path / 'broken.png'])
    _set_models(browser, {'Tiny'})
    _run(browser)
    status = _status(browser)
    assert 'error' in status and 'broken.png' in status and 'cannot decode image file' in status
    assert _rows(browser)[0][:2] == ['broken.png', 'Tiny']
    # The file is named as uploaded, not by the server's temporary path.
    assert server.work_dir not in status and server.work_dir not in _rows(browser)[0][-1]
    assert 'broken.png' in _rows(browser)[0][-1]

    _clear(browser, 'rainy')
    _upload(browser, 'rainy', [tmp_path / 'gray.jpg'])
    _run(browser)
    assert 'error' not in _status(browser)
    (row, ) = _rows(browser)
    assert row[:3] == ['gray.jpg', 'Tiny', '48x40 gray 8-bit']

    # A checkpoint that does not fit its config fails that model only, in the page.
    _set_models(browser, {'Broken', 'Tiny'})
    _run(browser)
    status = _status(browser)
    assert 'error' in status and 'Broken on gray.jpg' in status and 'does not fit' in status
    rows = {r[1]: r for r in _rows(browser)}
    assert rows['Tiny'][2] == '48x40 gray 8-bit' and rows['Broken'][2] == ''
    assert server.proc.poll() is None


def _slow_job(driver, server, *paths):
    """Upload ``paths`` and start a run of a few thousand tiles (self-ensemble, 32-pixel tiles)."""
    _open(driver, server)
    _upload(driver, 'rainy', list(paths))
    _set_models(driver, {'Tiny'})
    _set_options(driver, tiling='fixed', tile=32, overlap=8, self_ensemble=True)
    _run(driver, done=False)


def test_stop_ends_the_work_between_tiles(server, browser, tmp_path):
    imwrite_image(tmp_path / 'big.png', _photo(384, 384))  # 16 x 16 tiles x 8 passes = 2048 calls
    imwrite_image(tmp_path / 'a.png', _photo(24, 32))  # done before big.png
    offset = len(server.log())
    _slow_job(browser, server, tmp_path / 'a.png', tmp_path / 'big.png')
    server.wait_for_log(r'^run: ', offset=offset)
    _wait(browser, lambda d: 'big.png: step' in _progress(d), what='progress to show')
    # The progress has its own place: the line from before the run is gone.
    assert _status(browser).startswith('Running:') and 'step' not in _status(browser)
    browser.find_element(*_by('#stop')).click()
    found = server.wait_for_log(r'run cancelled by the user during Tiny on big.png: step (\d+)/(\d+)',
                                timeout=60, offset=offset)
    done, total = int(found.group(1)), int(found.group(2))
    assert total == 2048 and 0 < done < total
    # The work has stopped: the server's CPU time no longer grows.
    before = server.cpu_seconds()
    time.sleep(2.0)
    assert server.cpu_seconds() - before < 0.5
    # The page ends in where the run stopped, with the finished output kept.
    _wait(browser, lambda d: _status(d).startswith('Stopped during Tiny on big.png: step'),
          what='the stop message')
    assert '1 finished output(s) kept' in _status(browser)
    assert [r[:2] for r in _rows(browser)] == [['a.png', 'Tiny']]
    assert len(browser.find_elements(*_by('#downloads a[download]'))) == 1

    # The page and the server go on working.
    _set_options(browser, tiling='auto', self_ensemble=False)
    _clear(browser, 'rainy')
    imwrite_image(tmp_path / 'small.png', _photo(32, 40))
    _upload(browser, 'rainy', [tmp_path / 'small.png'])
    _run(browser)
    assert [r[:3] for r in _rows(browser)] == [['small.png', 'Tiny', '40x32 RGB 8-bit']]
    # A single output is a thumbnail in the gallery, not stretched over its width.
    width = browser.find_element(*_by('#gallery')).rect['width']
    (thumb, ) = browser.find_elements(*_by('#gallery img'))
    assert thumb.rect['width'] < width / 2

    # Leaving the page stops its run as Stop does.
    offset = len(server.log())
    _slow_job(browser, server, tmp_path / 'big.png')
    server.wait_for_log(r'Tiny on big.png: step|^run: ', offset=offset)
    _wait(browser, lambda d: 'big.png: step' in _progress(d), what='progress to show')
    browser.get('about:blank')
    server.wait_for_log(r'run cancelled as the browser closed the page during Tiny on big.png',
                        timeout=60, offset=offset)
    before = server.cpu_seconds()
    time.sleep(2.0)
    assert server.cpu_seconds() - before < 0.5


def test_two_sessions_queue_for_the_one_worker(server, browser_stack, tmp_path):
    imwrite_image(tmp_path / 'first.png', _photo(256, 256))  # 11 x 11 tiles x 8 passes
    imwrite_image(tmp_path / 'second.png', _photo(24, 32))
    (tmp_path / 'd1').mkdir()
    (tmp_path / 'd2').mkdir()
    first, second = new_browser(browser_stack, tmp_path / 'd1'), new_browser(browser_stack,
                                                                             tmp_path / 'd2')
    offset = len(server.log())
    try:
        _slow_job(first, server, tmp_path / 'first.png')
        server.wait_for_log(r'^run: ', offset=offset)  # the first run has started
        _open(second, server)
        _upload(second, 'rainy', [tmp_path / 'second.png'])
        _set_models(second, {'Tiny'})
        assert 'Tiny on first.png:' not in server.log()[offset:]  # and is still going
        _run(second, done=False)
        _wait(first, lambda d: _status(d).startswith('Done'), what='the first run')
        _wait(second, lambda d: _status(d).startswith('Done'), what='the second run')
    finally:
        first.quit()
        second.quit()
    events = re.findall(r'^(run): |^Tiny on (first|second)\.png: ', server.log()[offset:], re.M)
    # One run at a time: the second starts only after the first has finished.
    assert [a or b for a, b in events] == ['run', 'first', 'run', 'second']


def test_the_server_listens_locally_and_removes_its_temporary_folder(browser_stack, tiny_checkpoint,
                                                                      tmp_path):
    srv = Server(['--models', f'{TINY_CONFIG}:{tiny_checkpoint}'], str(tmp_path / 'log.txt'))
    try:
        assert f'Running on local URL:  http://127.0.0.1:{srv.port}' in srv.log()
        assert 'share=True' not in srv.log()  # not an option of tools/webui.py
        assert os.path.isdir(srv.work_dir)
        # a second server on the same port says so and exits 2
        busy = subprocess.run([sys.executable, 'tools/webui.py', '--models',
                               f'{TINY_CONFIG}:{tiny_checkpoint}', '--port', str(srv.port)],
                              cwd=REPO, capture_output=True, text=True, timeout=180)
        assert busy.returncode == 2, busy.stderr[-2000:]
        assert f'error: cannot serve on 127.0.0.1:{srv.port}' in busy.stderr
    finally:
        code = srv.stop()
    assert code == 0, srv.log()[-2000:]
    assert not os.path.exists(srv.work_dir)
    assert srv.log().rstrip().endswith('stopped') and 'Keyboard interruption' not in srv.log()
