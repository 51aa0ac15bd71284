# Runs a Python console script (a Debian package's /usr/bin/<name> written by setuptools, e.g.
# cloud-init, patroni) once per argv inside one Python process: start-up (the interpreter and the
# program's imports, ~0.3-0.5 s of CPU) is paid once instead of once per run.
# Each run does what the installed script does (its "EASY-INSTALL-ENTRY-SCRIPT" body): load the
# entry point named in the distribution's entry_points metadata (importlib.metadata), set
# sys.argv, call it, and take its return value or SystemExit as the exit status (sys.exit(None)
# is 0, a non-int is printed and gives 1, as in CPython's sys.exit). Per run it records what the
# run printed to stdout and stderr (sys.stdout/sys.stderr are swapped, which is where print(),
# logging's last-resort handler and the warnings module write). Python warnings shown once per
# location are shown again in every run (catch_warnings resets the once-registry, as a fresh
# process starts without one), and what loading the entry point printed is prepended to every
# run's output (a fresh process prints it every time).
# Usage: python3 consoleScriptBatch.py <distribution> <group> <name> <argv0> '<JSON list of argument lists>'
# Prints one JSON list: [{"code": int, "stdout": str, "stderr": str}, ...] in the order of the argument lists.
import contextlib
import io
import json
import sys
import warnings
from importlib.metadata import distribution

dist, group, name, argv0, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    entry = next(e for e in distribution(dist).entry_points if e.group == group and e.name == name).load()
load_stdout, load_stderr = out.getvalue(), err.getvalue()

results = []
for args in runs:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [argv0, *args]
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = entry()
        except SystemExit as e:
            code = e.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    results.append({"code": code or 0, "stdout": load_stdout + out.getvalue(), "stderr": load_stderr + err.getvalue()})
json.dump(results, sys.__stdout__)
