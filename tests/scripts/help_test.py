"""Every script of the repository (scripts/, bench/, deploy/) answers --help with its
documentation, exit 0, quickly, and changes nothing: no file in the work tree, no process left.
A newcomer's first command must be safe (issue #13). Standard library only."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# dpkg's interface, not a user's: called by dpkg with its own arguments, and as root they would
# act on the system (deploy/debian/).
MAINTAINER_SCRIPTS = {"preinst", "postinst", "prerm", "postrm"}


def scripts():
    for folder in ("scripts", "bench", "deploy"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in sorted(set(names) - MAINTAINER_SCRIPTS):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    shebang = f.read(2) == b"#!"
                if shebang and os.access(path, os.X_OK):
                    yield path


def tree_state():
    """The work tree's files with their sizes and times (what a side effect would change)."""
    state = {}
    for folder in ("scripts", "bench", "deploy", "src", "tests", "docs"):
        for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                state[p] = (st.st_size, st.st_mtime_ns)
    return state


def main():
    failures, checked = [], 0
    before = tree_state()
    for path in scripts():
        rel = os.path.relpath(path, ROOT)
        began = time.monotonic()
        try:
            r = subprocess.run([path, "--help"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            failures.append(f"{rel}: --help did not return within 10 s (it ran the script?)")
            continue
        took = time.monotonic() - began
        checked += 1
        if r.returncode != 0:
            failures.append(f"{rel}: --help exited {r.returncode}: {r.stderr.strip()[:200]}")
        elif len(r.stdout.strip().splitlines()) < 2:
            failures.append(f"{rel}: --help printed no documentation: {r.stdout!r}")
        elif took > 3:
            failures.append(f"{rel}: --help took {took:.1f} s (it did work?)")
    after = tree_state()
    changed = sorted(set(before.items()) ^ set(after.items()))
    if changed:
        failures.append("files changed by --help: " + ", ".join(sorted({p for p, _ in changed})))
    for f in failures:
        print("FAIL", f)
    print(f"{checked} scripts checked; {checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
