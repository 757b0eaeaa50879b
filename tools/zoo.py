"""Released models by name: list them, fetch them into the cache, verify the cache.

    python tools/zoo.py list [--json | --markdown]
    python tools/zoo.py download NAME [NAME ...] [--all] [--force] [--accept-new-digest]
    python tools/zoo.py verify

`list` shows every release restorelab knows, with its host (GitHub file, HTTPS, Google Drive,
or link only), the check its file gets (sha256, git blob id, output check, recorded digest)
and whether it is in the cache. The cache is $RESTORELAB_ZOO_CACHE (default
~/.cache/restorelab/zoo); $RESTORELAB_ZOO_MIRROR replaces https://raw.githubusercontent.com/
with another URL or a folder of repository copies (see docs/released_weights.md). Google Drive files
need gdown (pip install -e '.[zoo]'). `python tools/derain.py NAME INPUT` and
`init_model(NAME)` fetch on first use; this tool is for looking, fetching ahead (e.g. before
going offline) and checking.
Exit status: 0 ok, 1 when verify finds a damaged file, 2 for a user mistake or failed download.
"""
import argparse
import json
import sys

from restorelab.utils.errors import UserInputError, user_error_message


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    listing = sub.add_parser('list', help='the released models')
    fmt = listing.add_mutually_exclusive_group()
    fmt.add_argument('--json', action='store_true', help='the whole manifest as JSON')
    fmt.add_argument('--markdown', action='store_true', help="docs/released_weights.md's tables")
    download = sub.add_parser('download', help='fetch and verify into the cache')
    download.add_argument('names', nargs='*', metavar='NAME')
    download.add_argument('--all', action='store_true', help='every downloadable model')
    download.add_argument('--force', action='store_true', help='download again')
    download.add_argument('--accept-new-digest', action='store_true',
                          help='for a release checked by its recorded digest: accept a download '
                          'that differs from the first one (and record it)')
    for p in (download, sub.add_parser('verify', help='re-hash the cached files')):
        p.add_argument('--cache-dir', default=None,
                       help='cache folder (default: $RESTORELAB_ZOO_CACHE or ~/.cache/restorelab/zoo)')
    return parser.parse_args(argv)


def _list(args, zoo):
    if args.json:
        print(json.dumps([zoo.release_to_dict(r) for r in zoo.list_released()], indent=2))
        return 0
    if args.markdown:
        print(zoo.markdown_tables(), end='')
        return 0
    width = max(len(r.name) for r in zoo.list_released()) + 1
    print(f'{"name":<{width}} {"model":<10} {"trained for":<12} {"published":<16} '
          f'{"host":<12} {"check":<16} cached')
    for r in zoo.list_released():
        published = f'{r.published[0]:.2f} / {r.published[1]:g}' if r.published else '-'
        host = zoo_hosts.get(r.host, r.host)
        check = r.check or ('see links' if r.links else 'no release found')
        cached = 'yes' if zoo.is_cached(r) else '-'
        print(f'{r.name:<{width}} {r.model:<10} {r.trained_for:<12} {published:<16} {host:<12} '
              f'{check:<16} {cached}')
    print('\nchecks: ' + '; '.join(f'{k}: {v}' for k, v in zoo.CHECKS.items()))
    print(f'cache: {zoo.resolve_cache_dir()}; links, files and digests: python tools/zoo.py '
          'list --json')
    return 0


zoo_hosts = dict(github='GitHub file', url='HTTPS', gdrive='Google Drive')


def main(argv=None):
    args = parse_args(argv)
    from restorelab.apis import zoo

    try:
        if args.command == 'list':
            return _list(args, zoo)
        if args.command == 'download':
            names = [r.name for r in zoo.list_released(True)] if args.all else args.names
            if not names:
                raise UserInputError('name the models to download (python tools/zoo.py list), '
                                     'or pass --all')
            for name in names:
                released = zoo.get_released(name, cache_dir=args.cache_dir, force=args.force,
                                            accept_new_digest=args.accept_new_digest)
                print(f'{name}: {released.checkpoint} ({released.release.check} checked)')
            return 0
        bad = 0
        for release, path, state in zoo.verify_cache(args.cache_dir):
            print(f'{release.name:<20} {state:<16} {path}')
            bad += state not in ('ok', 'missing')
        if bad:
            print(f'error: {bad} cached file(s) do not match the manifest: delete them or run '
                  'python tools/zoo.py download NAME --force', file=sys.stderr)
            return 1
        return 0
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
