"""How a distributed run ends (restorelab/engine/elastic.py): the status a stopped process asks
for, signals as an exception, the launcher's exit status for failed processes and its log."""
import logging
import os
import signal
from types import SimpleNamespace

import pytest

from restorelab.engine import elastic


def test_a_stopped_process_asks_the_launcher_for_128_plus_n(tmp_path, monkeypatch):
    monkeypatch.delenv(elastic.STATUS_FILE_ENV, raising=False)
    assert elastic.exit_status_after_stop('SIGINT') == 130  # no launcher: the status itself
    path = str(tmp_path / 'status.json')
    monkeypatch.setenv(elastic.STATUS_FILE_ENV, path)
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert elastic.exit_status_after_stop('SIGTERM') == 0 and not os.path.exists(path)
    monkeypatch.setenv('LOCAL_RANK', '0')  # the first process of the machine tells the launcher
    assert elastic.exit_status_after_stop('SIGTERM', iteration=7, checkpoint='w/iter_7.pth') == 0
    assert elastic._read_status(path) == dict(status=143, signal='SIGTERM', iteration=7,
                                              checkpoint='w/iter_7.pth')


def test_stop_on_signals_raises_in_the_block_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(elastic.SignalStop) as info:
        with elastic.stop_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 1)  # let the handler run
    assert info.value.signame == 'SIGTERM'
    assert signal.getsignal(signal.SIGTERM) is before


def _failed(*codes):
    return SimpleNamespace(failures={rank: SimpleNamespace(exitcode=code, pid=100 + rank)
                                     for rank, code in enumerate(codes)})


def test_launcher_exit_status_of_failed_processes(capsys):
    assert elastic._failure_status(_failed(1, 1), 'w/torchrun.log') == 1
    assert elastic._failure_status(_failed(2, 2), None) == 2  # every process: bad input
    assert capsys.readouterr().err == ''  # those printed their own message
    assert elastic._failure_status(_failed(1, -signal.SIGKILL), 'w/torchrun.log') == 1
    err = capsys.readouterr().err.strip()
    assert err == ('error: rank 1 (pid 101) was killed by SIGKILL (the out-of-memory killer sends '
                   "it: see `dmesg`); torchrun's report is in w/torchrun.log")
    # torchrun stopped rank 0 with SIGTERM after rank 1's own error: rank 1's status, no line.
    assert elastic._failure_status(_failed(-signal.SIGTERM, 2), 'w/torchrun.log') == 2
    assert capsys.readouterr().err == ''
    # SIGTERM without another process's error is reported.
    assert elastic._failure_status(_failed(-signal.SIGTERM, 0), 'w/torchrun.log') == 1
    assert 'rank 0 (pid 100) was killed by SIGTERM' in capsys.readouterr().err


def test_launcher_log_takes_torchs_own_stderr_handlers(tmp_path, capfd):
    import torch.distributed.run  # noqa: F401 - gives torch's loggers their stderr handlers
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    saved = {lg: list(lg.handlers) for lg in loggers}
    level = logging.getLogger().level
    path = str(tmp_path / 'torchrun.log')
    try:
        handler = elastic._log_to(path)
        logging.getLogger('torch.distributed.elastic.agent.server.api').warning('agent says hi')
        logging.getLogger('somewhere.else').warning('plain logger')
    finally:
        for lg in loggers:
            lg.handlers[:] = saved[lg]
        logging.getLogger().setLevel(level)
        logging.captureWarnings(False)
        handler.close()
    out, err = capfd.readouterr()
    assert 'agent says hi' not in err + out and 'plain logger' not in err + out
    text = open(path).read()
    assert 'agent says hi' in text and 'plain logger' in text
