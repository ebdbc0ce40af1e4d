"""uWSGI exception packets, encoded as core/exceptions.c writes them (for tests)."""
import struct


def item(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<H", len(b)) + b


def kv(k, v):
    return item(k) + item(v)


def packet(vars=None, frames=None, cls="builtins.ValueError", msg="boom", unix="1795553883", wid="1", pid="4242",
           node="vm"):
    vars = vars if vars is not None else {"REQUEST_METHOD": "GET", "REQUEST_URI": "/raise?a=1", "PATH_INFO": "/raise",
                                          "QUERY_STRING": "a=1", "HTTP_HOST": "127.0.0.1:8000",
                                          "HTTP_COOKIE": "sessionid=s3cr3t", "HTTP_AUTHORIZATION": "Basic x",
                                          "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "vm", "SERVER_PORT": "8000"}
    frames = frames if frames is not None else [("/app/wsgi.py", "10", "application", "return view()"),
                                                ("/app/views.py", "20", "view", "raise ValueError('boom')")]
    bt = b"".join(item(f[0]) + item(f[1]) + item(f[2]) + item(f[3]) + item("") for f in frames)
    return (kv("vars", b"".join(kv(k, v) for k, v in vars.items())) + kv("backtrace", bt) + kv("class", cls)
            + kv("msg", msg) + kv("repr", "%s: %s" % (cls, msg)) + kv("unix", unix) + kv("wid", wid)
            + kv("pid", pid) + kv("core", "0") + kv("node", node))


def frame(kind, **fields):
    """A frame as the loader plugin sends it (plugin/sentry/channel.c): "USF1", then
    u8 key length, key, u32le value length, value. `cores` is a list of dicts."""
    out = b"USF1"

    def add(key, value):
        nonlocal out
        k = key.encode()
        v = value if isinstance(value, bytes) else str(value).encode()
        out += bytes([len(k)]) + k + struct.pack("<I", len(v)) + v
    add("kind", kind)
    for key, value in fields.items():
        if key == "cores":
            for c in value:
                add("core", strip_kind(frame("core", **c)[len(b"USF1"):]))
        else:
            add(key, value)
    return out


def strip_kind(encoded):
    """A nested core is items without the kind item frame() puts first."""
    klen = encoded[0]
    vlen = struct.unpack("<I", encoded[1 + klen:5 + klen])[0]
    return encoded[5 + klen + vlen:]
