# `cloud-init schema --config-file <file>` for several files in one Python process: the CLI's own
# entry point (cloud-init 22.4's console_scripts entry `cloud-init = cloudinit.cmd.main:main`,
# /usr/lib/python3/dist-packages/cloud_init-22.4.2.egg-info/entry_points.txt; upstream
# canonical/cloud-init setup.py) is called once per file with the argv the CLI gets, so the
# parsing, the schema and the messages are exactly the CLI's. Per file it records what that run
# printed on stdout and stderr and its exit status: `main` returns it, or `error()` in
# cloudinit/config/schema.py (partial of cloudinit/util.py error(..., sys_exit=True)) ends the
# run with SystemExit(1) after printing "Error:\n<msg>" to stderr.
# Python warnings shown once per location are shown again for every file (catch_warnings resets
# the once-registry, as a fresh process would start with), and what importing cloud-init printed
# is prepended to every file's output (a fresh process prints it every time).
# Usage: python3 cloudInitSchema.py <file>...; prints one JSON list [{file, code, stdout, stderr}].
import contextlib
import io
import json
import sys
import warnings

out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    from cloudinit.cmd.main import main
    import cloudinit.config.schema  # noqa: F401 (imported by `main` for the schema subcommand)
import_stdout, import_stderr = out.getvalue(), err.getvalue()

results = []
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["cloud-init", "schema", "--config-file", path]) or 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    results.append({"file": path, "code": code, "stdout": import_stdout + out.getvalue(), "stderr": import_stderr + err.getvalue()})
json.dump(results, sys.stdout)
