"""torchrun for restorelab's dist_*.sh scripts: torchrun's options and elastic agent, its own
messages in a log file, and the exit status of the processes (128 + N after a signal, without
a traceback). See restorelab/engine/elastic.py.

    python tools/dist_launch.py [--log-file PATH] TORCHRUN_OPTIONS SCRIPT [ARGS ...]
"""
import sys

from restorelab.engine.elastic import main

if __name__ == '__main__':
    sys.exit(main())
