"""Stage code: the manifest of the code each stage script runs (``manifests/<script>.md5``), which its stage depends
on instead of every module it imports; see :mod:`faceleak.code_manifest`."""

from faceleak.code_manifest import write_manifests
from faceleak.stage import note_timing, start

start()
note_timing(manifests=len(write_manifests()))
