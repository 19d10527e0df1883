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
Grafana's admin credential is persisted (auth.persist in the data
directory): set from GF_SECURITY_ADMIN_PASSWORD(__FILE) on the first boot
only, changed through the admin API afterwards, as in Grafana.
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
        self.admin = None
        self.admin_path = None
        self.init_admin()

    # -- a persisted admin credential (Grafana) ----------------------------
    def basic_user(self):
        auth = self.spec.get("auth") or {}
        for env in auth.get("user_env", []):
            if os.environ.get(env):
                return os.environ[env]
        return auth.get("user", "admin")

    def data_dir(self):
        env = self.spec.get("state_dir_env")
        return (os.environ.get(env) if env else None) or self.state_dir

    @staticmethod
    def hash_password(password, salt):
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10000).hex()

    def init_admin(self):
        """Like Grafana: the admin user and its password are created on the
        first boot from the env (or __FILE) variable, stored hashed in the
        data directory, and later boots ignore the variable."""
        auth = self.spec.get("auth") or {}
        if not auth.get("persist") or self.data_dir() is None:
            return
        self.admin_path = os.path.join(self.data_dir(), auth["persist"])
        try:
            with open(self.admin_path, encoding="utf-8") as f:
                self.admin = json.load(f)
            log("admin user '%s' from %s (the env password is ignored)" % (self.admin["login"], self.admin_path))
            return
        except FileNotFoundError:
            pass
        self.set_admin(self.basic_user(), self.secret or "admin")
        log("first boot: admin user '%s' created in %s" % (self.admin["login"], self.admin_path))

    def set_admin(self, login, password):
        salt = os.urandom(16)
        now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        adm = {"id": 1, "login": login, "salt": salt.hex(), "hash": self.hash_password(password, salt),
               "created": (self.admin or {}).get("created", now), "updated": now}
        tmp = self.admin_path + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(adm, f)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.admin_path)
        except OSError as e:
            raise SystemExit("standin: cannot write %s: %s" % (self.admin_path, e.strerror))
        self.admin = adm

    def admin_ok(self, login, password):
        a = self.admin
        return (a is not None and hmac.compare_digest(login.encode(), a["login"].encode()) and
                hmac.compare_digest(self.hash_password(password, bytes.fromhex(a["salt"])).encode(),
                                    a["hash"].encode()))

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
            if self.svc.admin is not None:
                return self.svc.admin_ok(user, pw)
            if user == self.svc.basic_user():
                got.append(pw)
        return any(hmac.compare_digest(g.encode(), want.encode()) for g in got)

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

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = lambda self: self.dispatch()

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

    # Recovery (POST .../snapshots/upload, PUT .../snapshots/recover): like
    # Qdrant, the collection is created or overwritten from the snapshot.
    # A stand-in collection snapshot is a tar holding one <collection>.json.
    def recover_from(self, name, data, checksum=None):
        p = self.coll_path(name)
        if p is None:
            return self.q_err(400, "bad collection name")
        if checksum and hashlib.sha256(data).hexdigest() != checksum.lower():
            return self.q_err(400, "Snapshot checksum mismatch: expected %s" % checksum)
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".json")]
                if len(members) != 1:
                    return self.q_err(400, "Snapshot is not a collection snapshot (%d collections)" % len(members))
                doc = json.load(tar.extractfile(members[0]))
        except (tarfile.TarError, ValueError, OSError) as e:
            return self.q_err(400, "Invalid snapshot: %s" % e)
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            return self.q_err(400, "Invalid snapshot: no collection config")
        doc["name"] = name
        with self.svc.lock:
            with open(p + ".tmp", "w", encoding="utf-8") as f:
                json.dump(doc, f)
            os.rename(p + ".tmp", p)
        self.q_ok(True)

    def query(self):
        from urllib.parse import parse_qs, urlsplit
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def h_qdrant_snapshot_upload(self, r, name):
        import email.parser
        import email.policy
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return self.q_err(400, "Content type must be multipart/form-data")
        raw = self.body()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        data = None
        for part in msg.iter_parts() if msg.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "snapshot":
                data = part.get_payload(decode=True)
        if data is None:
            return self.q_err(400, "No snapshot file in the form (field 'snapshot')")
        self.recover_from(name, data, self.query().get("checksum"))

    def h_qdrant_snapshot_recover(self, r, name):
        body = self.json_body()
        loc = body.get("location") if isinstance(body, dict) else None
        if not isinstance(loc, str):
            return self.q_err(400, "Json deserialize error: missing field `location`")
        if loc.startswith("file://"):
            path = os.path.realpath(loc[len("file://"):])
            base = os.path.realpath(self.svc.snapshot_dir)
            if not path.startswith(base + os.sep):
                return self.q_err(400, "Snapshot file path %s is outside the snapshots directory" % loc)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                return self.q_err(404, "Snapshot file %s does not exist" % loc)
        elif loc.startswith("http://") or loc.startswith("https://"):
            import urllib.request
            import urllib.error
            req = urllib.request.Request(loc, headers={"api-key": body.get("api_key") or ""})
            try:
                with urllib.request.urlopen(req, timeout=60) as f:
                    data = f.read()
            except (urllib.error.URLError, OSError) as e:
                return self.q_err(400, "Failed to download snapshot from %s: %s" % (loc, e))
        else:
            return self.q_err(400, "Snapshot location must be a file:// or http(s):// URL")
        self.recover_from(name, data, body.get("checksum"))

    # Points, enough to seed and compare data: upsert, get, scroll, count.
    def load_coll(self, name):
        p = self.coll_path(name)
        if p is None or not os.path.exists(p):
            return None, None
        with open(p, encoding="utf-8") as f:
            return p, json.load(f)

    def h_qdrant_points_upsert(self, r, name):
        body = self.json_body()
        pts = body.get("points") if isinstance(body, dict) else None
        if not isinstance(pts, list):
            return self.q_err(400, "Json deserialize error: missing field `points`")
        with self.svc.lock:
            p, doc = self.load_coll(name)
            if p is None:
                return self.q_err(404, "Not found: Collection `%s` doesn't exist!" % name)
            store = doc.setdefault("point_data", {})
            for pt in pts:
                if not isinstance(pt, dict) or not isinstance(pt.get("id"), (int, str)):
                    return self.q_err(400, "Bad point: an id is required")
                store[str(pt["id"])] = {"id": pt["id"], "vector": pt.get("vector"),
                                        "payload": pt.get("payload") or {}}
            doc["points"] = len(store)
            doc["op"] = doc.get("op", 0) + 1
            with open(p + ".tmp", "w", encoding="utf-8") as f:
                json.dump(doc, f)
            os.rename(p + ".tmp", p)
        self.q_ok({"operation_id": doc["op"], "status": "completed"})

    def h_qdrant_point_get(self, r, name, pid):
        p, doc = self.load_coll(name)
        if p is None:
            return self.q_err(404, "Not found: Collection `%s` doesn't exist!" % name)
        pt = doc.get("point_data", {}).get(pid)
        if pt is None:
            return self.q_err(404, "Not found: No point with id %s found" % pid)
        self.q_ok(pt)

    def h_qdrant_points_scroll(self, r, name):
        body = self.json_body() or {}
        p, doc = self.load_coll(name)
        if p is None:
            return self.q_err(404, "Not found: Collection `%s` doesn't exist!" % name)
        pts = sorted(doc.get("point_data", {}).values(), key=lambda x: str(x["id"]))[:int(body.get("limit", 10))]
        if not body.get("with_vector"):
            pts = [{"id": x["id"], "payload": x["payload"]} for x in pts]
        self.q_ok({"points": pts, "next_page_offset": None})

    def h_qdrant_points_count(self, r, name):
        p, doc = self.load_coll(name)
        if p is None:
            return self.q_err(404, "Not found: Collection `%s` doesn't exist!" % name)
        self.q_ok({"count": len(doc.get("point_data", {}))})

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
        """uid -> (dashboard, provisioned): provisioned files, then imports."""
        out = {uid: (d, True) for uid, d in self.provisioned().items()}
        if self.svc.data_dir():
            for uid, doc in self.imported().items():
                out.setdefault(uid, (doc["dashboard"], False))
        return out

    def provisioned(self):
        out = {}
        roots = list(self.svc.spec.get("dashboard_dirs", []))
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
        for i, (uid, (d, _)) in enumerate(sorted(self.dashboards().items())):
            res.append({"id": i + 1, "uid": uid, "title": d.get("title", uid), "type": "dash-db",
                        "uri": "db/" + uid, "url": "/d/" + uid, "tags": d.get("tags", []),
                        "isStarred": False})
        self.send(200, res)

    def h_grafana_dashboard(self, r, uid):
        d, prov = self.dashboards().get(uid, (None, False))
        if d is None:
            return self.send(404, {"message": "Dashboard not found"})
        self.send(200, {"dashboard": d, "meta": {"type": "db", "slug": uid, "provisioned": prov,
                                                 "canSave": not prov, "folderTitle": "General"}})

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

    # grafana: the admin user (persisted, see Service.init_admin) and
    # dashboards imported through the API, kept in the data directory.
    def g_msg(self, code, msg, **extra):
        body = {"message": msg}
        body.update(extra)
        self.send(code, body)

    def h_grafana_user(self, r):
        a = self.svc.admin or {"login": self.svc.basic_user(), "created": "", "updated": ""}
        self.send(200, {"id": 1, "uid": "admin", "email": "admin@localhost", "name": "", "login": a["login"],
                        "theme": "", "orgId": 1, "isGrafanaAdmin": True, "isDisabled": False,
                        "isExternal": False, "isExternallySynced": False, "authLabels": [],
                        "updatedAt": a.get("updated", ""), "createdAt": a.get("created", ""),
                        "avatarUrl": ""})

    def new_password_error(self, pw):
        if not isinstance(pw, str) or len(pw) < 4:
            return "New password is too short"
        return None

    def h_grafana_change_password(self, r):
        # PUT /api/user/password {oldPassword, newPassword, confirmNew}
        body = self.json_body()
        if not isinstance(body, dict):
            return self.g_msg(400, "bad request data")
        old, new = body.get("oldPassword"), body.get("newPassword")
        if not isinstance(old, str) or not self.svc.admin_ok(self.svc.admin["login"], old):
            return self.g_msg(401, "Invalid old password")
        err = self.new_password_error(new)
        if err:
            return self.g_msg(400, err)
        with self.svc.lock:
            self.svc.set_admin(self.svc.admin["login"], new)
        self.g_msg(200, "User password changed")

    def h_grafana_admin_password(self, r, user_id):
        # PUT /api/admin/users/:id/password {password}
        body = self.json_body()
        if not isinstance(body, dict):
            return self.g_msg(400, "bad request data")
        if user_id != "1":
            return self.g_msg(404, "user not found")
        err = self.new_password_error(body.get("password"))
        if err:
            return self.g_msg(400, err)
        with self.svc.lock:
            self.svc.set_admin(self.svc.admin["login"], body["password"])
        self.g_msg(200, "User password updated")

    def imported_dir(self):
        d = os.path.join(self.svc.data_dir(), "vpai-standin-dashboards")
        os.makedirs(d, exist_ok=True)
        return d

    def imported(self):
        out = {}
        for p in sorted(glob.glob(os.path.join(self.imported_dir(), "*.json"))):
            try:
                with open(p, encoding="utf-8") as f:
                    doc = json.load(f)
                out[doc["dashboard"]["uid"]] = doc
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    def h_grafana_dashboard_import(self, r):
        # POST /api/dashboards/db {dashboard, folderUid, message, overwrite}
        body = self.json_body()
        d = body.get("dashboard") if isinstance(body, dict) else None
        if not isinstance(d, dict):
            return self.g_msg(400, "bad request data")
        uid = d.get("uid") or base64.b32encode(os.urandom(5)).decode().lower().rstrip("=")
        if not re.match(r"^[A-Za-z0-9_-]{1,40}$", uid):
            return self.g_msg(400, "uid contains illegal characters")
        if not d.get("title"):
            return self.g_msg(400, "Dashboard title cannot be empty")
        if uid in self.provisioned():
            return self.g_msg(400, "Cannot save provisioned dashboard")
        with self.svc.lock:
            have = self.imported()
            cur = have.get(uid)
            if cur is not None and not body.get("overwrite"):
                return self.g_msg(412, "A dashboard with the same uid already exists", status="name-exists")
            ident = cur["id"] if cur else 1000 + len(have)
            version = (cur["version"] + 1) if cur else 1
            d = dict(d, uid=uid, id=ident, version=version)
            doc = {"dashboard": d, "id": ident, "version": version, "folderUid": body.get("folderUid", "")}
            p = os.path.join(self.imported_dir(), uid + ".json")
            with open(p + ".tmp", "w", encoding="utf-8") as f:
                json.dump(doc, f)
            os.rename(p + ".tmp", p)
        slug = re.sub(r"[^a-z0-9]+", "-", d["title"].lower()).strip("-")
        self.send(200, {"id": ident, "uid": uid, "url": "/d/%s/%s" % (uid, slug), "status": "success",
                        "version": version, "slug": slug, "folderUid": doc["folderUid"]})

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
