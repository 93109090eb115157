#!/usr/bin/python3
"""The Debian package, end to end, on this machine (root only; it installs into the system).

  1. lintian (beside steps 2-3): no error or warning; every override in
     deploy/debian/lintian-overrides has a comment; the info tags are printed.
  2. dpkg -i of the .deb (apt-get -f install if Depends are missing): the user honeyman,
     the state directory, the conffile, the generated secret, the enablement symlink; postinst
     run again as an upgrade runs it keeps the secret.
  3. The installed unit: `systemd-analyze verify` is silent; `systemd-analyze security
     --offline` scores it; the man pages name every command and option of the binaries' --help.
  4. The service under a stand-in for systemd (systemd cannot run here): the installed unit's
     [Service] section is read and applied as systemd would as far as this test can (see
     `launch` and deploy/debian/README.md, "What the package test reproduces"); /health answers
     on a free port, the SQLite database appears in /var/lib/honeyman owned by honeyman, the
     README's first-admin command works against the running service (login with its password),
     the web console installed in /usr/share/honeyman/web (when the tree has one, web/) is
     served at / and the app's routes (brotli-coded assets), SIGTERM ends it with status 0.
  5. dpkg --remove keeps the data, the secret and the user; dpkg --purge deletes everything.

Exit 77 (CTest SKIP_RETURN_CODE): not root, no .deb configured, or a real installation of
honeyman (or its user or directories) exists, which this test must not touch. Whatever happens,
the package is purged at the end; a run killed before that (CTest's timeout) leaves MARKER, and
the next run purges what it left before it starts.

Internal stages (the stand-in re-executes this file): --launch SPEC (root, in a new mount
namespace), --seccomp SPEC -- COMMAND (as the service user, just before the server).
"""
import argparse
import errno
import grp
import gzip
import json
import os
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
PACKAGE = "honeyman"
UNIT = "/lib/systemd/system/honeyman.service"
STATE = "/var/lib/honeyman"
ENV_FILE = "/etc/honeyman/honeyman.env"
SECRET = "/etc/honeyman/secret.env"
# Everything the package or its scripts create; none may exist before or after.
LEFTOVERS = ["/usr/bin/honeyman", "/usr/bin/honeyman-load", UNIT, "/etc/honeyman", STATE,
             "/usr/share/doc/honeyman", "/usr/share/honeyman", "/usr/share/man/man1/honeyman.1.gz",
             "/usr/share/man/man1/honeyman-load.1.gz", "/usr/share/lintian/overrides/honeyman",
             "/etc/systemd/system/multi-user.target.wants/honeyman.service",
             "/var/lib/systemd/deb-systemd-helper-enabled/honeyman.service.dsh-also",
             "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/honeyman.service",
             "/var/lib/systemd/deb-systemd-helper-masked/honeyman.service"]
# The web console (cmake/package.cmake installs web/dist there; the server finds it beside
# /usr/bin/honeyman).
WEB = "/usr/share/honeyman/web"
# Present while this test's installation may be on the system: the next run purges it.
MARKER = "/run/honeyman-package-test.installed"
began = time.monotonic()


def log(msg):
    print(f"package_test [{time.monotonic() - began:5.1f} s] {msg}", flush=True)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(cmd, *, ok=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if ok and r.returncode != 0:
        raise Failure(f"{shlex.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def dpkg(*args):
    """dpkg, waiting (up to 120 s) for another dpkg or apt run to end."""
    deadline = time.monotonic() + 120
    while True:
        r = run(["dpkg", *args], ok=False)
        if r.returncode == 0 or "lock" not in r.stderr or time.monotonic() > deadline:
            return r
        time.sleep(1)


def installed():
    r = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE], ok=False)
    return r.returncode == 0 and r.stdout not in ("", "not-installed")


def status():
    return run(["dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE], ok=False).stdout


def user_exists():
    try:
        pwd.getpwnam(PACKAGE)
        return True
    except KeyError:
        pass
    try:
        grp.getgrnam(PACKAGE)
        return True
    except KeyError:
        return False


def mode_owner(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


# --- 1. lintian -------------------------------------------------------------------------------

def lintian_start(deb):
    """lintian runs beside the installation (it only reads the .deb): the longest step alone."""
    return subprocess.Popen(["lintian", "--display-info", "--pedantic", "--display-experimental",
                             deb], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lintian_check(proc, source_dir):
    overrides = open(os.path.join(source_dir, "deploy/debian/lintian-overrides")).read()
    previous = ""
    for line in overrides.splitlines():
        if line.strip() and not line.startswith("#"):
            check(previous.startswith("#"), f"lintian override without a comment above it: {line}")
        previous = line
    stdout, stderr = proc.communicate(timeout=180)
    tags = [t for t in stdout.splitlines() if re.match(r"^[EWIPXO]: ", t)]
    bad = [t for t in tags if t[0] in "EW"]
    for t in tags:
        log(f"lintian: {t}")
    check(proc.returncode == 0 and not bad,
          f"lintian (exit {proc.returncode}) reports errors or warnings:\n" + "\n".join(bad)
          + stderr)
    log(f"lintian: no error or warning ({len(tags)} info/pedantic tags above)")


# --- 2. installation --------------------------------------------------------------------------

def install(deb):
    """dpkg -i; when Depends are missing (dpkg leaves the package unconfigured), apt-get fetches
    them and finishes the configuration."""
    r = dpkg("-i", os.path.abspath(deb))
    if r.returncode != 0:
        check("dependency problems" in r.stderr, f"dpkg -i {deb}:\n{r.stdout}{r.stderr}")
        log("dpkg -i: Depends missing; apt-get -f install")
        run(["apt-get", "install", "-f", "-y", "-q", "--no-install-recommends",
             "-o", "DPkg::Lock::Timeout=120"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    check(status() == "installed", f"dpkg lists honeyman as {status()!r}, not installed")


def check_installation(deb):
    version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    out = run(["/usr/bin/honeyman", "--version"]).stdout.strip()
    check(out == version, f"honeyman --version says {out!r}, the package {version!r}")
    user = pwd.getpwnam(PACKAGE)
    check(user.pw_uid < 1000 and user.pw_shell == "/usr/sbin/nologin" and user.pw_dir == STATE,
          f"user honeyman is not a system user with no shell and home {STATE}: {user}")
    check(grp.getgrgid(user.pw_gid).gr_name == PACKAGE, "honeyman's primary group is not honeyman")
    check(mode_owner(STATE) == (0o700, PACKAGE, PACKAGE), f"{STATE}: {mode_owner(STATE)}")
    check(mode_owner(ENV_FILE) == (0o640, "root", PACKAGE), f"{ENV_FILE}: {mode_owner(ENV_FILE)}")
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE]).stdout
    check(ENV_FILE in conffiles, f"{ENV_FILE} is not a conffile: {conffiles!r}")
    env_text = open(ENV_FILE).read()
    check(not re.search(r"^\s*SECRET_KEY\s*=", env_text, re.M), f"{ENV_FILE} sets SECRET_KEY")
    check(re.search(r"^DATABASE_URL=sqlite:////var/lib/honeyman/honeyman\.db$", env_text, re.M),
          f"{ENV_FILE} does not put the database in {STATE}")
    check(mode_owner(SECRET) == (0o640, "root", PACKAGE), f"{SECRET}: {mode_owner(SECRET)}")
    keys = re.findall(r"^SECRET_KEY=([0-9a-f]+)$", open(SECRET).read(), re.M)
    check(len(keys) == 1 and len(keys[0]) == 64, f"{SECRET} does not hold one 64-hex-digit key")
    check(SECRET not in conffiles, f"{SECRET} must not be a conffile")
    wants = "/etc/systemd/system/multi-user.target.wants/honeyman.service"
    check(os.path.islink(wants) and os.readlink(wants) == UNIT,
          f"postinst did not enable the unit ({wants})")
    log(f"installed {version}: user honeyman (uid {user.pw_uid}), {STATE} 0700, conffile and "
        "secret 0640 root:honeyman, unit enabled")
    return keys[0]


# --- 3. the unit and the man pages ------------------------------------------------------------

def verify_unit():
    r = run(["systemd-analyze", "verify", UNIT], ok=False)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          f"systemd-analyze verify {UNIT} (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    r = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT], ok=False)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout)
    check(score, f"systemd-analyze security gave no score:\n{r.stdout}{r.stderr}")
    log(f"systemd-analyze verify: silent; security --offline: exposure {score[1]} {score[2]}")
    # 10 is unhardened; Debian's hardened daemons score 1-2. Losing a hardening line shows here.
    check(float(score[1]) <= 2.0, f"exposure {score[1]} above 2.0:\n{r.stdout}")


def help_tree(binary, path=()):
    """{command path: options} from the binary's --help, recursively (CLI11's format)."""
    text = run([binary, *path, "--help"]).stdout
    section, options, subcommands = None, set(), []
    for line in text.splitlines():
        if line in ("Options:", "Subcommands:", "Positionals:"):
            section = line
        elif section == "Options:" and line.startswith("  -"):
            options.update(re.findall(r"--[a-z0-9-]+", line.split("  ")[1]))
        elif section == "Subcommands:" and re.match(r"^  [a-z]", line):
            subcommands.append(line.split()[0])
    tree = {path: options - {"--help"}}
    for sub in subcommands:
        tree.update(help_tree(binary, path + (sub,)))
    return tree


def check_man_pages():
    for binary in ("honeyman", "honeyman-load"):
        roff = gzip.open(f"/usr/share/man/man1/{binary}.1.gz", "rt").read()
        text = re.sub(r"\\f[BIRP]|\\\(..", "", roff).replace("\\-", "-")
        missing = []
        for path, options in help_tree(f"/usr/bin/{binary}").items():
            if path and " ".join(path) not in text:
                missing.append(" ".join(path))
            missing += [f"{' '.join(path)} {o}" for o in sorted(options) if o not in text]
        check(not missing, f"{binary}(1) does not describe: {', '.join(missing)}")
        r = run(["man", "--warnings", "-l", f"/usr/share/man/man1/{binary}.1.gz"],
                env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"), ok=False)
        check(r.returncode == 0 and not r.stderr.strip(), f"man {binary}: {r.stderr}")
    log("man pages: every command and option of both binaries' --help is described")


# --- 4. the service under a stand-in for systemd ----------------------------------------------

def parse_unit(path):
    service, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            service.setdefault(key.strip(), []).append(value.strip())
    return service


def systemd_env_file(path):
    """KEY=value lines as systemd's EnvironmentFile= reads them (comments, optional quotes)."""
    env = {}
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def can_raise_nofile(value):
    r = subprocess.run(["prlimit", f"--nofile={value}:{value}", "true"], capture_output=True)
    return r.returncode == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_spec(port):
    """What systemd would do for the installed unit, as data for the --launch stage."""
    unit = parse_unit(UNIT)

    def one(key, default=None):  # the last assignment counts; systemd's default otherwise
        return unit[key][-1] if unit.get(key) else default

    check(one("Type", "simple") in ("simple", "exec"), "the test runs Type=simple/exec only")
    user = pwd.getpwnam(one("User", "root"))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
           "SHELL": user.pw_shell, "LANG": "C.UTF-8"}
    for entry in unit.get("EnvironmentFile", []):
        optional = entry.startswith("-")
        path = entry.lstrip("-")
        if os.path.exists(path) or not optional:
            env.update(systemd_env_file(path))
    env["PORT"] = str(port)  # the one change: a free port instead of the configured 8000
    nofile = int(one("LimitNOFILE", resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if nofile > hard and not can_raise_nofile(nofile):
        log(f"LimitNOFILE={nofile} cannot be reproduced here (hard limit {hard}, no "
            f"CAP_SYS_RESOURCE in this container): the server gets {hard}")
        nofile = hard
    state = [os.path.join("/var/lib", d) for d in one("StateDirectory", "").split()]
    return {"argv": shlex.split(one("ExecStart")), "env": env, "uid": user.pw_uid,
            "gid": grp.getgrnam(one("Group", user.pw_name)).gr_gid, "user": user.pw_name,
            "state": state, "state_mode": int(one("StateDirectoryMode", "0755"), 8),
            "cwd": one("WorkingDirectory", "/"), "umask": int(one("UMask", "0022"), 8),
            "nofile": nofile,
            "families": one("RestrictAddressFamilies", "").split(),
            "syscalls": sorted(allowed_syscalls(unit.get("SystemCallFilter", []))),
            "errno": one("SystemCallErrorNumber", "kill"),
            # An allow-list (the first line not ~...) is what this stand-in reproduces.
            "filtered": bool(unit.get("SystemCallFilter")),
            "unit": {k: v[-1] for k, v in unit.items()}}


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def inaccessible(path, tmp):
    """Hide a path as systemd does (an inaccessible, empty file or directory mounted over it)."""
    if not os.path.lexists(path) or os.path.islink(path):
        return
    src = os.path.join(tmp, "inaccessible-dir" if os.path.isdir(path) else "inaccessible-file")
    mount("--bind", src, path)
    mount("-o", "remount,bind,ro", path)


_SELF_COPY = []


def self_copy():
    """This script, copied where the service user can read it inside the sandbox: the source
    tree may be under /tmp (PrivateTmp hides it) or /root (ProtectHome, mode 0700)."""
    if not _SELF_COPY:
        folder = tempfile.mkdtemp(prefix="honeyman-package-test-", dir="/run")
        os.chmod(folder, 0o755)
        target = os.path.join(folder, "package_test.py")
        shutil.copyfile(os.path.abspath(__file__), target)
        os.chmod(target, 0o644)
        _SELF_COPY.append(target)
    return _SELF_COPY[0]


def launch(spec):
    """Root, in a private mount namespace (unshare --mount): the unit's sandbox, then setpriv."""
    u = spec["unit"]
    mount("--make-rprivate", "/")
    for path in spec["state"]:  # StateDirectory=: created, owned by the user, its mode
        os.makedirs(path, exist_ok=True)
        os.chown(path, spec["uid"], spec["gid"])
        os.chmod(path, spec["state_mode"])
    # Beside the test's copy of itself, so the test's cleanup removes it.
    tmp = tempfile.mkdtemp(prefix="honeyman-sandbox-", dir=os.path.dirname(spec["self"]))
    os.mkdir(os.path.join(tmp, "inaccessible-dir"), 0o000)
    open(os.path.join(tmp, "inaccessible-file"), "w").close()
    os.chmod(os.path.join(tmp, "inaccessible-file"), 0o000)
    if u.get("ProtectProc") == "invisible":  # a proc instance of its own: hidepid=invisible
        mount("-t", "proc", "-o", "nosuid,nodev,noexec,hidepid=invisible", "proc", "/proc")
    if u.get("PrivateTmp") == "yes":
        for path in ("/tmp", "/var/tmp"):
            mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", path)
    if u.get("PrivateDevices") == "yes":  # a /dev with the pseudo devices only
        dev = os.path.join(tmp, "dev")
        os.mkdir(dev)
        mount("-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", dev)
        for node in ("null", "zero", "full", "random", "urandom", "tty"):
            open(os.path.join(dev, node), "w").close()
            mount("--bind", f"/dev/{node}", os.path.join(dev, node))
        for d in ("shm", "pts"):
            os.mkdir(os.path.join(dev, d))
        mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", os.path.join(dev, "shm"))
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, os.path.join(dev, name))
        mount("--move", dev, "/dev")
    if u.get("ProtectHome") == "yes":
        for path in ("/home", "/root", "/run/user"):
            inaccessible(path, tmp)
    if u.get("ProtectKernelLogs") == "yes":
        inaccessible("/proc/kmsg", tmp)
    if u.get("ProtectKernelModules") == "yes":
        for path in ("/lib/modules", "/usr/lib/modules"):
            inaccessible(path, tmp)
    if u.get("ProtectKernelTunables") == "yes":
        for path in ("/proc/kallsyms", "/proc/kcore"):
            inaccessible(path, tmp)
        for path in ("/proc/sys", "/proc/sysrq-trigger"):
            if os.path.exists(path):
                mount("--bind", path, path)
    # ProtectSystem=strict (and ProtectKernelTunables' /proc/sys, /sys; ProtectControlGroups'
    # /sys/fs/cgroup): every mount read-only except /dev, /proc itself and the sandbox's tmpfs,
    # then the state directories writable again.
    if u.get("ProtectSystem") == "strict":
        writable = {"/dev", "/dev/shm", "/dev/pts", "/proc", "/tmp", "/var/tmp"}
        targets = [line.split()[4] for line in open("/proc/self/mountinfo")]
        for target in targets:
            target = target.replace("\\040", " ")
            if target in writable or target.startswith(tmp) or target.startswith("/dev/"):
                continue
            subprocess.run(["mount", "-o", "remount,bind,ro", target], stderr=subprocess.DEVNULL)
        for path in spec["state"]:
            mount("--bind", path, path)
            mount("-o", "remount,bind,rw", path)
    resource.setrlimit(resource.RLIMIT_NOFILE, (spec["nofile"], spec["nofile"]))
    os.umask(spec["umask"])
    os.chdir(spec["cwd"])
    setpriv = ["setpriv", f"--reuid={spec['uid']}", f"--regid={spec['gid']}", "--init-groups",
               "--bounding-set=-all", "--inh-caps=-all"]
    if u.get("NoNewPrivileges") == "yes":
        setpriv.append("--no-new-privs")
    # The seccomp stage's argument: no environment (SECRET_KEY) in a command line.
    filters = {k: spec[k] for k in ("unit", "syscalls", "families", "errno", "filtered")}
    os.execve("/usr/bin/setpriv", setpriv + [sys.executable, spec["self"],
                                             "--seccomp", json.dumps(filters), "--", *spec["argv"]],
              spec["env"])


def syscall_groups():
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter", "--no-pager"]).stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names, groups):
    out = set()
    for name in names:
        out |= expand(groups[name], groups) if name.startswith("@") else {name}
    return out


def allowed_syscalls(entries):
    """SystemCallFilter= lines as systemd combines them: @default, plus the allow-lists, minus
    the ~deny-lists, groups expanded as `systemd-analyze syscall-filter` lists them."""
    groups = syscall_groups()
    allowed = set(groups["@default"])
    for entry in entries:
        if entry.startswith("~"):
            allowed -= expand(entry[1:].split(), groups)
        else:
            allowed |= expand(entry.split(), groups)
    return allowed


def apply_seccomp(spec):
    """As the service user, after NoNewPrivileges: the unit's seccomp filters, as systemd builds
    them (SystemCallFilter= allow-list minus ~deny lists, SystemCallErrorNumber=,
    RestrictAddressFamilies=, MemoryDenyWriteExecute=, RestrictNamespaces=, RestrictRealtime=,
    RestrictSUIDSGID=, native architecture only; not LockPersonality=, whose rule needs two
    comparisons of one argument, which libseccomp refuses). Several filters: the kernel applies
    the strictest answer."""
    import seccomp  # python3-seccomp
    u = spec["unit"]
    filters = []
    denied = seccomp.KILL_PROCESS if spec["errno"] == "kill" else seccomp.ERRNO(
        getattr(errno, spec["errno"]))
    f = seccomp.SyscallFilter(defaction=denied if spec["filtered"] else seccomp.ALLOW)
    for name in spec["syscalls"] if spec["filtered"] else []:
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a system call of this architecture
    filters.append(f)

    families = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10}
    allow = sorted(families[name] for name in spec["families"])
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EAFNOSUPPORT)
    if allow:  # RestrictAddressFamilies= unset: any family
        f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.LT, allow[0]))
        f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.GT, allow[-1]))
        for family in range(allow[0] + 1, allow[-1]):
            if family not in allow:
                f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.EQ, family))
    filters.append(f)

    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    eperm = seccomp.ERRNO(errno.EPERM)
    if u.get("MemoryDenyWriteExecute") == "yes":  # systemd's rules, PROT_WRITE=2, PROT_EXEC=4
        f.add_rule(eperm, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, 6, 6))
        f.add_rule(eperm, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 4, 4))
        f.add_rule(eperm, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, 4, 4))
        f.add_rule(eperm, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, 0o100000, 0o100000))
    if u.get("RestrictNamespaces") == "yes":
        for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                     0x40000000, 0x00000080):  # CLONE_NEWNS, CGROUP, UTS, IPC, USER, PID, NET, TIME
            f.add_rule(eperm, "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
            f.add_rule(eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        f.add_rule(eperm, "setns")
        # clone3's flags are in memory a filter cannot read: systemd answers ENOSYS, so that
        # glibc falls back to clone(), which the rules above see.
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    if u.get("RestrictRealtime") == "yes":
        for policy in (1, 2, 6):  # SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
            f.add_rule(eperm, "sched_setscheduler", seccomp.Arg(1, seccomp.MASKED_EQ, 0xff, policy))
    if u.get("RestrictSUIDSGID") == "yes":  # no set-user/group-ID file made
        for bit in (0o4000, 0o2000):
            mode = lambda n: seccomp.Arg(n, seccomp.MASKED_EQ, bit, bit)  # noqa: E731
            creating = lambda n: seccomp.Arg(n, seccomp.MASKED_EQ, os.O_CREAT, os.O_CREAT)  # noqa
            f.add_rule(eperm, "chmod", mode(1))
            f.add_rule(eperm, "fchmod", mode(1))
            f.add_rule(eperm, "fchmodat", mode(2))
            f.add_rule(eperm, "creat", mode(1))
            f.add_rule(eperm, "open", creating(1), mode(2))
            f.add_rule(eperm, "openat", creating(2), mode(3))
    filters.append(f)
    # The allow-list last, as systemd does: it does not allow seccomp() itself.
    for f in filters[1:] + filters[:1]:
        f.load()


# --- the service, started, checked, stopped ---------------------------------------------------

def http(port, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, json.loads(r.read() or b"null")


def fetch(port, path, headers=None):
    """A GET as a browser sends it: status, headers and the body's bytes as they came (a coded
    body is not decoded)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.headers, r.read()


def check_console_installed():
    index = os.path.join(WEB, "index.html")
    check(os.path.isfile(index), f"{index} is not installed (cmake/package.cmake, web/dist)")
    assets = os.listdir(os.path.join(WEB, "assets"))
    scripts = [a for a in assets if a.endswith(".js")]
    check(scripts and all(f"{a}.br" in assets and f"{a}.gz" in assets for a in scripts),
          f"{WEB}/assets: scripts without their .br and .gz: {sorted(assets)}")
    check(not any(name.startswith(".") for _, _, files in os.walk(WEB) for name in files),
          f"{WEB} holds dotfiles")
    log(f"web console installed: {index}, {len(scripts)} scripts with their .br and .gz")


def check_console_served(port):
    """The installed binary finds the installed console by itself (no WEB_DIR in the conffile)."""
    code, headers, page = fetch(port, "/threats?severity=high")  # one of the app's own routes
    check(code == 200 and headers.get("Content-Type") == "text/html; charset=utf-8"
          and b'name="honeyman-api-prefix" content="/api/v2"' in page,
          f"GET /threats: {code} {headers.get('Content-Type')} {page[:200]!r}")
    csp = headers.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "unsafe" not in csp, f"the page's policy: {csp!r}")
    check(page == open(os.path.join(WEB, "index.html"), "rb").read(),
          f"GET / is not {WEB}/index.html")
    script = re.search(rb'src="(/assets/[^"]+\.js)"', page)
    check(script, f"index.html names no script under /assets/: {page[:400]!r}")
    path = script[1].decode()
    code, headers, body = fetch(port, path, {"Accept-Encoding": "br, gzip"})
    check(code == 200 and headers.get("Content-Encoding") == "br"
          and "immutable" in headers.get("Cache-Control", "")
          and body == open(WEB + path + ".br", "rb").read(),
          f"GET {path}: {code} {dict(headers)}")
    log(f"GET / and the app's routes serve {WEB}/index.html; {path} comes brotli-coded, immutable")


def status_fields(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


PROBE = """
import ctypes, errno, mmap, socket
libc = ctypes.CDLL(None, use_errno=True)
def refused(what, call):
    try:
        call()
    except OSError as e:
        return print(what, errno.errorcode[e.errno])
    print(what, "allowed")
refused("AF_NETLINK", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
refused("W+X", lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC))
print("ptrace", "allowed" if libc.ptrace(0, 0, 0, 0) == 0 else errno.errorcode[ctypes.get_errno()])
"""


def check_stand_in(spec):
    """The stand-in's seccomp filters refuse what the unit forbids (a broken stand-in would let
    the service pass unconfined): a probe under the same filters, as the service user."""
    filters = {k: spec[k] for k in ("unit", "syscalls", "families", "errno", "filtered")}
    r = run(["setpriv", f"--reuid={spec['uid']}", f"--regid={spec['gid']}", "--init-groups",
             "--no-new-privs", sys.executable, self_copy(), "--seccomp",
             json.dumps(filters), "--", sys.executable, "-c", PROBE], cwd="/")
    want = "AF_NETLINK EAFNOSUPPORT\nW+X EPERM\nptrace EPERM\n"
    check(r.stdout == want, f"the stand-in's filters: {r.stdout!r}, expected {want!r}")
    log("stand-in self-check: AF_NETLINK socket, W+X mapping and ptrace refused under its filters")


def run_service(workdir, console):
    port = free_port()
    spec = service_spec(port)
    spec["self"] = self_copy()
    check_stand_in(spec)
    logfile = open(os.path.join(workdir, "journal.log"), "w+")
    spec_file = os.path.join(workdir, "spec.json")  # holds SECRET_KEY: 0600, not in argv
    with open(os.open(spec_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump(spec, f)
    log(f"starting {shlex.join(spec['argv'])} as {spec['user']} (PORT={port}) in the stand-in")
    started = time.monotonic()
    proc = subprocess.Popen(["unshare", "--mount", "--", sys.executable, os.path.abspath(__file__),
                             "--launch", spec_file],
                            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    try:
        deadline = time.monotonic() + 20
        while True:
            check(proc.poll() is None, f"the service exited {proc.returncode} before answering")
            try:
                if http(port, "/health")[0] == 200:
                    break
            except OSError:
                pass
            check(time.monotonic() < deadline, "no answer on /health within 20 s")
            time.sleep(0.1)
        log(f"/health answers 200 after {time.monotonic() - started:.1f} s")
        # serve writes its log lines in batches (up to 50 ms late; later on a loaded machine).
        deadline = time.monotonic() + 10
        while True:
            logfile.seek(0)
            if f"listening on http://0.0.0.0:{port}" in logfile.read():
                break
            check(time.monotonic() < deadline,
                  "the log does not say 'listening on http://0.0.0.0:PORT' within 10 s")
            time.sleep(0.05)

        st = status_fields(proc.pid)
        ids = str(spec["uid"])
        check(st["Uid"].split() == [ids] * 4 and st["Gid"].split()[0] == str(spec["gid"]),
              f"the server does not run as honeyman: Uid {st['Uid']} Gid {st['Gid']}")
        check(st["NoNewPrivs"] == "1" and st["Seccomp"] == "2" and int(st["Seccomp_filters"]) >= 3,
              f"no-new-privs / seccomp not in force: {st['NoNewPrivs']} {st['Seccomp']}")
        check(int(st["CapBnd"], 16) == 0 and int(st["CapEff"], 16) == 0, "capabilities remain")
        mounts = {line.split()[4]: line.split()[5] for line in open(f"/proc/{proc.pid}/mountinfo")}
        check(mounts["/"].startswith("ro") and mounts[STATE].startswith("rw"),
              f"/ is not read-only or {STATE} not writable in the server's namespace")
        check(os.readlink(f"/proc/{proc.pid}/cwd") == STATE, "working directory")
        limits = open(f"/proc/{proc.pid}/limits").read()
        nofile = re.search(r"^Max open files\s+(\d+)\s+(\d+)", limits, re.M)
        check(nofile and int(nofile[1]) == int(nofile[2]) == spec["nofile"], f"limits: {limits}")

        db = os.path.join(STATE, "honeyman.db")
        check(os.path.exists(db), f"{db} was not created")
        check(mode_owner(db) == (0o600, PACKAGE, PACKAGE), f"{db}: {mode_owner(db)}")
        log(f"runs as honeyman, no-new-privs, {st['Seccomp_filters']} seccomp filters, no "
            f"capabilities, / read-only, {db} 0600 honeyman")

        # The first admin, exactly as deploy/debian/README.md says, against the running service.
        add = ["runuser", "-u", "honeyman", "--", "honeyman", "--env-file", ENV_FILE,
               "user", "add", "admin", "--role", "admin"]
        # From a clean environment: settings in the test's own (e.g. DATABASE_URL) would win.
        out = run(add, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}).stdout
        password = re.search(r"password[^:]*: (\S+)", out)
        check(password, f"{shlex.join(add)} printed no password:\n{out}")
        code, body = http(port, "/api/v2/auth/login",
                          {"username": "admin", "password": password[1]})
        code, me = http(port, "/api/v2/auth/me", token=body["token"]["access_token"])
        check(code == 200 and me.get("role") == "admin", f"/auth/me: {code} {me}")
        check(mode_owner(db)[1] == PACKAGE, "the admin command changed the database's owner")
        log("first admin (runuser ... user add admin --role admin) logs in to the service")
        if console:
            check_console_served(port)

        stop = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        timeout = float(spec["unit"].get("TimeoutStopSec", "90"))
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"SIGTERM: still running after TimeoutStopSec={timeout:g}")
        check(code == 0, f"SIGTERM: exit status {code}")
        log(f"SIGTERM: exit 0 after {time.monotonic() - stop:.2f} s")
        logfile.seek(0)
        journal = logfile.read()
        check(not re.search(r"\b(Operation not permitted|EPERM|Read-only file system)\b", journal),
              "the sandbox refused something the server tried:\n" + journal)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        logfile.seek(0)
        if sys.exc_info()[0] is not None:
            print("--- the service's output ---\n" + logfile.read(), flush=True)


# --- 5. remove and purge ----------------------------------------------------------------------

def remove_and_purge():
    r = dpkg("--remove", PACKAGE)
    check(r.returncode == 0, f"dpkg --remove: {r.stdout}{r.stderr}")
    check(not os.path.exists("/usr/bin/honeyman") and not os.path.exists(UNIT),
          "dpkg --remove left the binary or the unit")
    check(os.path.exists(os.path.join(STATE, "honeyman.db")) and os.path.exists(SECRET)
          and user_exists(), "dpkg --remove deleted data, the secret or the user")
    check(f"{STATE} (database)" in r.stdout + r.stderr, "dpkg --remove did not say what it kept")
    log("dpkg --remove: binaries gone; database, secret and user kept, and it says so")
    r = dpkg("--purge", PACKAGE)
    check(r.returncode == 0, f"dpkg --purge: {r.stdout}{r.stderr}")
    check("purge: deleting /var/lib/honeyman" in r.stdout + r.stderr,
          "dpkg --purge did not say what it deletes")
    left = [p for p in LEFTOVERS if os.path.lexists(p)]
    check(not left and not user_exists() and not installed(),
          f"dpkg --purge left {left}, user/group: {user_exists()}, package: {installed()}")
    log("dpkg --purge: nothing left (files, state, secret, user, group, enablement)")


def cleanup():
    if installed():
        r = dpkg("--purge", PACKAGE)
        log(f"cleanup: dpkg --purge honeyman: exit {r.returncode}")
    if user_exists():
        run(["deluser", "--system", PACKAGE], ok=False)
        run(["delgroup", "--system", PACKAGE], ok=False)
    for path in (STATE, "/etc/honeyman"):
        if os.path.isdir(path):
            subprocess.run(["rm", "-rf", path])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deb", default="")
    parser.add_argument("--source-dir", default=os.path.join(os.path.dirname(__file__), "../.."))
    args = parser.parse_args()
    if not args.deb:
        print("package_test: SKIP: no .deb configured (HONEYMAN_PACKAGE_DEB; scripts/test builds "
              "it with cpack -G DEB in the Release build)")
        return SKIP
    if os.geteuid() != 0:
        print("package_test: SKIP: needs root (it installs the package into this system)")
        return SKIP
    if os.path.exists(MARKER):  # a run killed before its cleanup (e.g. by CTest's timeout)
        log(f"{MARKER} exists: purging what an interrupted run of this test left")
        cleanup()
        os.unlink(MARKER)
    if installed() or user_exists() or any(os.path.lexists(p) for p in LEFTOVERS):
        print("package_test: SKIP: honeyman is installed here (or its user, /etc/honeyman or "
              f"{STATE} exists); this test installs and purges it, so it leaves them alone")
        return SKIP
    check(os.path.isfile(args.deb), f"{args.deb}: no such package (configured, not built?)")
    # The package ships the console when the tree has one (cmake/package.cmake).
    console = os.path.isfile(os.path.join(args.source_dir, "web", "package.json"))
    with tempfile.TemporaryDirectory(prefix="honeyman-package-test-") as workdir:
        open(MARKER, "w").close()
        lintian = lintian_start(args.deb)
        try:
            install(args.deb)
            key = check_installation(args.deb)
            # What an upgrade from this version runs after unpacking (a whole second dpkg -i
            # cost 10-40 s on a loaded machine, mostly man-db's trigger): the secret stays.
            run(["/var/lib/dpkg/info/honeyman.postinst", "configure", run(
                ["dpkg-query", "-W", "-f=${Version}", PACKAGE]).stdout])
            check(check_installation(args.deb) == key, "postinst configure (upgrade) changed "
                  "SECRET_KEY")
            log("postinst configure <old version> (an upgrade's) kept SECRET_KEY")
            verify_unit()
            check_man_pages()
            lintian_check(lintian, args.source_dir)
            if console:
                check_console_installed()
            run_service(workdir, console)
            remove_and_purge()
        finally:
            if lintian.poll() is None:
                lintian.kill()
                lintian.wait()
            cleanup()
            os.unlink(MARKER)
            for copy in _SELF_COPY:
                shutil.rmtree(os.path.dirname(copy), ignore_errors=True)
    log("passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--launch":
        launch(json.load(open(sys.argv[2])))
    elif len(sys.argv) > 3 and sys.argv[1] == "--seccomp" and sys.argv[3] == "--":
        apply_seccomp(json.loads(sys.argv[2]))
        os.execv(sys.argv[4], sys.argv[4:])
    else:
        try:
            sys.exit(main())
        except Failure as e:
            print(f"package_test: FAILED: {e}", flush=True)
            sys.exit(1)
