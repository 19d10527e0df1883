#!/usr/bin/env python3
# bench/converge-want.py: the Ansible baseline's role set (common, hardening,
# docker_config of ../shared/bench/ansible-baseline) as a vpai desired state,
# and the baseline's check.sh adapted to what vpai writes differently.
#
#	converge-want.py AB_DIR WANT_OUT CHECK_OUT
#
# AB_DIR is a copy of the baseline where render.yml has run (AB_DIR/.rendered
# holds the roles' rendered templates).  Same packages, users, groups,
# memberships, authorized key, directories, the 13 managed files (same bytes,
# owners, modes), line edits, sysctl keys, cron jobs, timezone, hostname and
# services.  What vpai's want cannot say, or says differently:
#  * meta-only file tasks: vpai's files need a content.  The two on files
#    that packages install (sshd_config 0600, /etc/crontab 0600) are left
#    out, and their 2 lines dropped from the adapted check; `touch
#    /var/log/auth.log` (fail2ban's sshd jail needs it) is an empty file
#    root:adm 0640 (nothing writes it in this container: no syslog);
#  * cron marker lines are "#vpai: NAME" (Ansible: "#Ansible: NAME");
#  * the sysctl file is vpai's ("# managed by vpai" + sorted "k = v");
#  * the vpai and deploy groups come from useradd (gid = uid), because a
#    want user has no primary-group key; vpai is a normal user, not a
#    system one (useradd -r would pick a system gid, not 2000), so useradd
#    -m also copies /etc/skel into /opt/vpai;
#  * ~deploy/.ssh and authorized_keys get group root (Ansible: deploy);
#  * no "reload ssh" handler (vpai restarts; sshd is PID 1 in this
#    container, a restart would stop it): ssh is kept started and enabled.
import json
import os
import re
import sys

import yaml

ab, want_out, check_out = sys.argv[1:4]
with open(os.path.join(ab, "group_vars/vpai.yml")) as f:
    v = yaml.safe_load(f)


root = v["vpai_root"]
vu, du = v["vpai_user"], v["deploy_user"]
files = []
for m in v["bench_managed_files"]:
    with open(os.path.join(ab, ".rendered" + m["dest"]), encoding="utf-8") as f:
        content = f.read()
    files.append({"path": m["dest"], "content": content,
                  "mode": "0" + m["mode"], "owner": m["owner"],
                  "group": m["group"],
                  **({"secret": True} if m["dest"].endswith("/.env") else {})})
files.append({"path": "/var/log/auth.log", "content": "", "mode": "0640",
              "owner": "root", "group": "adm"})
sysctls = {"vm.swappiness": "10", "net.core.somaxconn": "65535",
           "fs.file-max": "100000"}
for s in v["hardening_net_sysctls"]:
    sysctls[s["name"]] = str(s["value"])
want = {
    "packages": {"present": v["common_packages"]},
    "timezone": v["common_timezone"],
    "hostname": v["common_hostname"],
    "groups": [{"name": "docker", "system": True}],
    "users": [
        {"name": vu, "uid": v["vpai_uid"], "home": root,
         "shell": "/usr/sbin/nologin", "groups": ["docker"]},
        {"name": du, "uid": v["deploy_uid"], "shell": "/bin/bash",
         "groups": ["sudo"]},
    ],
    "authorized_keys": [{"user": du, "key": v["deploy_pubkey"]}],
    "directories":
        [{"path": d, "owner": vu, "group": vu, "mode": "0750"}
         for d in v["vpai_dirs"]] +
        [{"path": d, "owner": "root", "group": "root", "mode": "0755"}
         for d in ("/etc/docker", "/etc/systemd/system/docker.service.d")] +
        [{"path": "/etc/cron.d", "owner": "root", "group": "root",
          "mode": "0700"}],
    "files": files,
    "lines": [
        {"path": "/etc/login.defs", "regexp": "^UMASK[[:space:]]",
         "line": "UMASK\t\t027"},
        {"path": "/etc/login.defs", "regexp": "^PASS_MAX_DAYS[[:space:]]",
         "line": "PASS_MAX_DAYS\t365"},
        {"path": "/etc/ssh/sshd_config",
         "line": "Include /etc/ssh/sshd_config.d/*.conf"},
        {"path": "/etc/security/limits.conf",
         "regexp": "^\\*[[:space:]]+hard[[:space:]]+core[[:space:]]",
         "line": "*               hard    core            0"},
    ],
    "sysctl": {"file": v["hardening_sysctl_file"], "live": False,
               "values": sysctls},
    "cron": [
        {"name": "vpai-backup", "user": "root", "schedule": "30 3 * * *",
         "job": f"{root}/scripts/backup.sh >> {root}/logs/backup.log 2>&1"},
        {"name": "vpai-prune-backups", "user": "root",
         "schedule": "0 4 * * 0",
         "job": f"find {root}/backups -type f -mtime +14 -delete"},
    ],
    "services": [
        {"name": "cron"},
        {"name": "ssh"},
        {"name": "fail2ban", "restart_on": ["/etc/fail2ban/jail.local"]},
    ],
    "secrets": ["change-me-in-vault"],
}
with open(want_out, "w") as f:
    json.dump(want, f, indent=1)

# The baseline's check.sh, adapted (see above); everything else unchanged.
with open(os.path.join(ab, "check.sh")) as f:
    check = f.read()
check = check.replace("grep -A1 '^#Ansible: vpai-'", "grep -A1 '^#vpai: vpai-'")
check = check.replace("cron #Ansible: ", "cron #vpai: ")
for p in ("/etc/ssh/sshd_config", "/etc/crontab"):
    check = check.replace(" " + p + " ", " ", 1)
    check = re.sub(r"(?m)^meta " + re.escape(p) + r" .*\n", "", check)
check = re.sub(r"(?m)^(meta /home/%s/\.ssh\S* %s) %s " % (du, du, du),
               r"\1 root ", check)
lines = "".join(f"sysctl.d {k} = {sysctls[k]}\n" for k in sorted(sysctls))
check = re.sub(r"(?m)(^sysctl\.d .*\n)+",
               "sysctl.d # managed by vpai: do not edit\n" + lines, check)
check = re.sub(r"(?m)^n=(\d+)$",
               lambda m: "n=%d" % (int(m.group(1)) - 2), check)
with open(check_out, "w") as f:
    f.write(check)
