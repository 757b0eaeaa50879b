"""What Linux tells a process about itself (``/proc/self``): the one reader of its status file
(:data:`STATUS`) in restorelab, the peak-RSS reset and glibc's heap trim, used by the memory
probes (benchmark cost, ``restorelab/utils/profiling.py``) and the file writer (the umask)."""
import os

STATUS = '/proc/self/status'


def status_value(field, pid='self'):
    """The value of ``field`` in :data:`STATUS` (of process ``pid`` when given) as a string (e.g.
    ``'2048 kB'``, ``'0022'``), or None where it is not available (not Linux, an old kernel, a
    process that has ended)."""
    try:
        with open(STATUS if pid == 'self' else f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        return None
    return None


def status_kb(field, pid='self'):
    """A memory field of :data:`STATUS` (``VmRSS``, ``VmHWM``, ``RssAnon``) in kB, or None."""
    value = status_value(field, pid)
    return int(value.split()[0]) if value else None


def umask():
    """The process's umask, read without changing it where Linux tells it (setting and restoring
    it would briefly affect the files other threads create)."""
    value = status_value('Umask')
    if value:
        return int(value, 8)
    current = os.umask(0)
    os.umask(current)
    return current


def malloc_trim():
    """Return the C heap's free memory to the system (glibc only; elsewhere a no-op)."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss():
    """Reset the peak resident set size (VmHWM) to the current one; False where not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # Linux >= 4.0
        return True
    except OSError:
        return False


def peak_rss_growth_mb(fn):
    """``(result, MB)``: the growth of the peak resident set size during one call of ``fn()``
    (None where Linux does not tell it)."""
    if status_kb('VmRSS') is None or not reset_peak_rss():
        return fn(), None
    before = status_kb('VmRSS')
    result = fn()
    return result, max(0, status_kb('VmHWM') - before) / 1024
