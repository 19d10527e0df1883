#!/usr/bin/env python3
"""vpai stand-in: one small HTTP server that plays a service the local
machine cannot run for real (no image reachable, no package), configured by
a data file services/<service>.json.  It serves only the endpoints the
stack touches (health checks, smoke tests, backups, provisioning) and says
it is a stand-in in every answer's Server header.

    standin.py [upstream args...]     serve (args are read like upstream's:
                                      --port, --config, -config.file=...,
                                      --server.http.listen-addr=...)
    standin.py --prepare              (image build) create the service's
                                      user and directories
    standin.py --version

The data file (JSON):
    service, upstream, port, port_env, port_config_key, port_args,
    config_args, config_files, listen_addr_arg, auth {...}, dirs, routes
    [{method, path, auth, handler, status, body, content_type}]
Path patterns use {name} for one segment.  Handlers: text, json, and the
stateful ones named below (qdrant_*, litellm_*, grafana_*, loki_push).
"""

import base64
import datetime
import glob
import hashlib
import hmac
import io
import json
import os
import re
import signal
import sys
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import yaml
except ImportError:  # only needed to read upstream YAML configs
    yaml = None

HOME = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.environ.get("VPAI_STANDIN_SERVICE", "")


def log(msg):
    sys.stderr.write("standin[%s]: %s\n" % (SERVICE, msg))
    sys.stderr.flush()


def load_spec(service):
    path = os.path.join(HOME, "services", service + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dig(doc, dotted):
    cur = doc
    for k in dotted.split("."):
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def read_secret_file(path):
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


class Service:
    """The resolved runtime settings: port, config, secret, state."""

    def __init__(self, spec, argv):
        self.spec = spec
        self.name = spec["service"]
        self.lock = threading.Lock()
        self.config_path = None
        self.port = spec.get("port")
        args = self.parse_args(argv)
        self.config = self.load_config(args.get("config"))
        key = spec.get("port_config_key")
        if key and dig(self.config, key):
            self.port = int(dig(self.config, key))
        env = spec.get("port_env")
        if env and os.environ.get(env):
            self.port = int(os.environ[env])
        if args.get("port"):
            self.port = int(args["port"])
        self.bind = "0.0.0.0"
        if args.get("listen"):
            host, _, port = args["listen"].rpartition(":")
            self.bind = host or "0.0.0.0"
            self.port = int(port)
        self.secret = self.resolve_secret(spec.get("auth"))
        self.state_dir = spec.get("state_dir")
        if self.state_dir and spec.get("state_dir_config_key"):
            self.state_dir = dig(self.config, spec["state_dir_config_key"]) or self.state_dir
        self.snapshot_dir = spec.get("snapshot_dir")
        if self.snapshot_dir and spec.get("snapshot_dir_config_key"):
            self.snapshot_dir = (dig(self.config, spec["snapshot_dir_config_key"])
                                 or self.snapshot_dir)
        self.pushed = 0

    def parse_args(self, argv):
        out = {}
        it = iter(range(len(argv)))
        names = {}
        for a in self.spec.get("port_args", []):
            names[a] = "port"
        for a in self.spec.get("config_args", []):
            names[a] = "config"
        if self.spec.get("listen_addr_arg"):
            names[self.spec["listen_addr_arg"]] = "listen"
        for i in it:
            a = argv[i]
            if "=" in a and a.split("=", 1)[0] in names:
                out[names[a.split("=", 1)[0]]] = a.split("=", 1)[1]
            elif a in names and i + 1 < len(argv):
                out[names[a]] = argv[i + 1]
                next(it, None)
        return out

    def load_config(self, path):
        paths = [path] if path else self.spec.get("config_files", [])
        for p in paths:
            if p and os.path.exists(p):
                self.config_path = p
                if yaml is None:
                    log("no yaml module: ignoring %s" % p)
                    return {}
                with open(p, encoding="utf-8") as f:
                    doc = yaml.safe_load(f) or {}
                log("config %s" % p)
                return doc
            if path:
                raise SystemExit("standin: config file '%s' not found" % p)
        return {}

    def resolve_secret(self, auth):
        """The credential clients must present, or None (no auth)."""
        if not auth:
            return None
        for env in auth.get("file_env", []):
            if os.environ.get(env):
                return read_secret_file(os.environ[env])
        for env in auth.get("env", []):
            if os.environ.get(env):
                return os.environ[env]
        key = auth.get("config_key")
        if key:
            val = dig(self.config, key)
            if isinstance(val, str) and val.startswith("os.environ/"):
                val = os.environ.get(val[len("os.environ/"):])
            if val:
                return str(val)
        return auth.get("default")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    svc = None  # set in main
    routes = []

    def version_string(self):
        return "vpai-standin/%s (replaces %s)" % (self.svc.name, self.svc.spec.get("upstream", "?"))

    def log_message(self, fmt, *args):
        # Method, path and status only: never headers (credentials).
        if os.environ.get("VPAI_STANDIN_QUIET") != "1":
            log("%s %s" % (self.address_string(), fmt % args))

    # -- plumbing --------------------------------------------------------
    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Vpai-Standin", self.svc.name)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def json_body(self):
        raw = self.body()
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def authorized(self):
        auth = self.svc.spec.get("auth") or {}
        want = self.svc.secret
        if want is None:
            return True
        got = []
        for h in auth.get("headers", []):
            if self.headers.get(h):
                got.append(self.headers.get(h))
        authz = self.headers.get("Authorization", "")
        if auth.get("bearer") and authz.startswith("Bearer "):
            got.append(authz[7:])
        if auth.get("basic") and authz.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
            except ValueError:
                user, pw = "", ""
            if user == self.basic_user():
                got.append(pw)
        return any(hmac.compare_digest(g.encode(), want.encode()) for g in got)

    def basic_user(self):
        auth = self.svc.spec.get("auth") or {}
        for env in auth.get("user_env", []):
            if os.environ.get(env):
                return os.environ[env]
        return auth.get("user", "admin")

    def dispatch(self):
        path = self.path.split("?", 1)[0]
        for r in self.routes:
            if r["method"] != self.command and not (self.command == "HEAD" and r["method"] == "GET"):
                continue
            m = r["re"].match(path)
            if not m:
                continue
            if r.get("auth", True) and not self.authorized():
                a = self.svc.spec.get("auth") or {}
                return self.send(401, a.get("denied", {"error": "unauthorized"}),
                                 headers=a.get("denied_headers"))
            h = r.get("handler", "json")
            fn = getattr(self, "h_" + h)
            return fn(r, **m.groupdict())
        return self.send(404, {"error": "not served by the vpai stand-in for %s" % self.svc.name,
                               "path": path})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = lambda self: self.dispatch()

    # -- generic handlers ------------------------------------------------
    def h_text(self, r):
        self.send(r.get("status", 200), r.get("body", ""), r.get("content_type", "text/plain; charset=utf-8"))

    def h_json(self, r):
        self.send(r.get("status", 200), r.get("body", {}))

    def h_redirect(self, r):
        self.send(r.get("status", 302), "", "text/html", {"Location": r["location"]})

    # -- qdrant ----------------------------------------------------------
    def q_ok(self, result, status=200):
        self.send(status, {"result": result, "status": "ok", "time": 0.000_1})

    def q_err(self, status, msg):
        self.send(status, {"status": {"error": msg}, "time": 0.000_1})

    def coll_dir(self):
        d = os.path.join(self.svc.state_dir, "collections")
        os.makedirs(d, exist_ok=True)
        return d

    def coll_path(self, name):
        if not re.match(r"^[A-Za-z0-9_.-]{1,255}$", name) or name.startswith("."):
            return None
        return os.path.join(self.coll_dir(), name + ".json")

    def h_qdrant_list_collections(self, r):
        names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(self.coll_dir(), "*.json")))
        self.q_ok({"collections": [{"name": n} for n in names]})

    def h_qdrant_create_collection(self, r, name):
        p = self.coll_path(name)
        body = self.json_body()
        if p is None or body is None:
            return self.q_err(400, "bad collection name or body")
        if os.path.exists(p):
            return self.q_err(409, "Collection `%s` already exists!" % name)
        with self.svc.lock:
            tmp = p + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"name": name, "config": body, "points": 0}, f)
            os.rename(tmp, p)
        self.q_ok(True)

    def h_qdrant_get_collection(self, r, name):
        p = self.coll_path(name)
        if p is None or not os.path.exists(p):
            return self.q_err(404, "Collection `%s` doesn't exist!" % name)
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        self.q_ok({"status": "green", "optimizer_status": "ok", "points_count": doc.get("points", 0),
                   "config": {"params": doc.get("config", {})}})

    def h_qdrant_delete_collection(self, r, name):
        p = self.coll_path(name)
        if p is not None and os.path.exists(p):
            os.unlink(p)
        self.q_ok(True)

    def snap_dir(self, name=None):
        d = self.svc.snapshot_dir if name is None else os.path.join(self.svc.snapshot_dir, name)
        os.makedirs(d, exist_ok=True)
        return d

    def snap_info(self, path):
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return {"name": os.path.basename(path), "size": st.st_size, "checksum": digest,
                "creation_time": datetime.datetime.utcfromtimestamp(st.st_mtime).strftime("%Y-%m-%dT%H:%M:%S")}

    def make_snapshot(self, dest_dir, prefix, files):
        stamp = datetime.datetime.utcnow().strftime("%Y-%m-%d-%H-%M-%S")
        name = "%s-%s-%d.snapshot" % (prefix, stamp, int(time.time() * 1000) % 1000)
        path = os.path.join(dest_dir, name)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for f in files:
                tar.add(f, arcname=os.path.basename(f))
        with open(path + ".tmp", "wb") as f:
            f.write(buf.getvalue())
        os.rename(path + ".tmp", path)
        return self.snap_info(path)

    def h_qdrant_snapshot_create(self, r, name=None):
        if name is None:
            files = sorted(glob.glob(os.path.join(self.coll_dir(), "*.json")))
            info = self.make_snapshot(self.snap_dir(), "full-snapshot", files)
        else:
            p = self.coll_path(name)
            if p is None or not os.path.exists(p):
                return self.q_err(404, "Collection `%s` doesn't exist!" % name)
            info = self.make_snapshot(self.snap_dir(name), name, [p])
        self.q_ok(info)

    def h_qdrant_snapshot_list(self, r, name=None):
        if name is not None:
            p = self.coll_path(name)
            if p is None or not os.path.exists(p):
                return self.q_err(404, "Collection `%s` doesn't exist!" % name)
        d = self.snap_dir(name)
        self.q_ok([self.snap_info(p) for p in sorted(glob.glob(os.path.join(d, "*.snapshot")))])

    def h_qdrant_snapshot_download(self, r, snap, name=None):
        if not re.match(r"^[A-Za-z0-9_.-]+\.snapshot$", snap):
            return self.q_err(400, "bad snapshot name")
        p = os.path.join(self.snap_dir(name), snap)
        if not os.path.exists(p):
            return self.q_err(404, "Snapshot %s not found" % snap)
        with open(p, "rb") as f:
            data = f.read()
        self.send(200, data, "application/octet-stream")

    # -- litellm ---------------------------------------------------------
    def models(self):
        return [m.get("model_name") for m in (self.svc.config.get("model_list") or [])
                if isinstance(m, dict) and m.get("model_name")]

    def h_litellm_models(self, r):
        now = int(time.time())
        self.send(200, {"object": "list", "data": [
            {"id": m, "object": "model", "created": now, "owned_by": "openai"} for m in self.models()]})

    def h_litellm_health(self, r):
        eps = [{"model": m, "vpai_standin": True} for m in self.models()]
        self.send(200, {"healthy_endpoints": eps, "unhealthy_endpoints": [],
                        "healthy_count": len(eps), "unhealthy_count": 0})

    # -- grafana ---------------------------------------------------------
    def dashboards(self):
        out = {}
        roots = self.svc.spec.get("dashboard_dirs", [])
        prov = os.path.join(os.environ.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"), "dashboards")
        if yaml is not None:
            for y in glob.glob(os.path.join(prov, "*.y*ml")):
                try:
                    with open(y, encoding="utf-8") as f:
                        doc = yaml.safe_load(f) or {}
                    for p in doc.get("providers") or []:
                        path = (p.get("options") or {}).get("path")
                        if path:
                            roots.append(path)
                except (OSError, yaml.YAMLError):
                    pass
        for root in roots:
            for p in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
                try:
                    with open(p, encoding="utf-8") as f:
                        d = json.load(f)
                except (OSError, ValueError):
                    continue
                if isinstance(d, dict) and d.get("uid"):
                    out[d["uid"]] = d
        return out

    def h_grafana_search(self, r):
        res = []
        for i, (uid, d) in enumerate(sorted(self.dashboards().items())):
            res.append({"id": i + 1, "uid": uid, "title": d.get("title", uid), "type": "dash-db",
                        "uri": "db/" + uid, "url": "/d/" + uid, "tags": d.get("tags", []),
                        "isStarred": False})
        self.send(200, res)

    def h_grafana_dashboard(self, r, uid):
        d = self.dashboards().get(uid)
        if d is None:
            return self.send(404, {"message": "Dashboard not found"})
        self.send(200, {"dashboard": d, "meta": {"type": "db", "slug": uid, "provisioned": True,
                                                 "canSave": False, "folderTitle": "General"}})

    def h_grafana_datasources(self, r):
        out = []
        prov = os.path.join(os.environ.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning"), "datasources")
        if yaml is not None:
            for y in sorted(glob.glob(os.path.join(prov, "*.y*ml"))):
                try:
                    with open(y, encoding="utf-8") as f:
                        doc = yaml.safe_load(f) or {}
                except (OSError, yaml.YAMLError):
                    continue
                for ds in doc.get("datasources") or []:
                    out.append({"id": len(out) + 1, "uid": ds.get("uid", ""), "name": ds.get("name"),
                                "type": ds.get("type"), "url": ds.get("url"),
                                "isDefault": bool(ds.get("isDefault"))})
        self.send(200, out)

    # -- loki ------------------------------------------------------------
    def h_loki_push(self, r):
        data = self.body()
        with self.svc.lock:
            self.svc.pushed += len(data)
        self.send(204, b"", "text/plain")


def compile_routes(spec):
    out = []
    for r in spec.get("routes", []):
        r = dict(r)
        pat = re.sub(r"\{([a-z_]+)\}", r"(?P<\1>[^/]+)", re.escape(r["path"]).replace(r"\{", "{").replace(r"\}", "}"))
        r["re"] = re.compile("^" + pat + "$")
        out.append(r)
    return out


def prepare(spec):
    """At image build time: the service's user and directories."""
    uid, gid = int(os.environ.get("VPAI_UID", "0")), int(os.environ.get("VPAI_GID", "0"))
    import grp
    import pwd
    import subprocess
    if gid != 0:
        try:
            grp.getgrgid(gid)
        except KeyError:
            subprocess.run(["groupadd", "-g", str(gid), spec.get("user", spec["service"])], check=True)
    if uid != 0:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            subprocess.run(["useradd", "-u", str(uid), "-g", str(gid), "-M", "-d",
                            spec.get("home", "/nonexistent"), "-s", "/usr/sbin/nologin",
                            spec.get("user", spec["service"])], check=True)
    for d in spec.get("dirs", []):
        os.makedirs(d, exist_ok=True)
        os.chown(d, uid, gid)


def main(argv):
    if not SERVICE:
        raise SystemExit("standin: VPAI_STANDIN_SERVICE is not set")
    spec = load_spec(SERVICE)
    if argv[:1] == ["--version"]:
        print("%s stand-in 1 (vpai; replaces %s)" % (SERVICE, spec.get("upstream", "?")))
        return 0
    if argv[:1] == ["--prepare"]:
        prepare(spec)
        return 0
    # PID 1 ignores signals without a handler: stop on TERM/INT.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    svc = Service(spec, argv)
    if svc.port is None:
        log("no HTTP port: staying up (%s)" % spec.get("note", ""))
        while True:
            signal.pause()
    Handler.svc = svc
    Handler.routes = compile_routes(spec)
    httpd = ThreadingHTTPServer((svc.bind, svc.port), Handler)
    httpd.daemon_threads = True
    log("listening on %s:%d (stand-in for %s)" % (svc.bind, svc.port, spec.get("upstream")))
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
