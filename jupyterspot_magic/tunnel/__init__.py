"""Layer 2: public links, how people outside this machine reach the share server.

Each provider turns the local server (`http://127.0.0.1:PORT`) into a public base URL (no trailing
slash; it may carry a path prefix: the page only uses relative URLs). Providers:

- `none`: the server's own address (loopback, or this machine's LAN address with `--host 0.0.0.0`);
- `url` (`--public-url URL`): a reverse proxy the user runs (jupyter-server-proxy, nginx, a
  company gateway); `{port}` in the URL is replaced by the server's port;
- `ngrok`: pyngrok, token from `NGROK_AUTHTOKEN` or the ngrok config file;
- `cloudflared`: a quick tunnel (no account) through a `cloudflared` binary;
- `auto`: ngrok when a token is there, else cloudflared when it starts, else `none` with a note.

A provider that runs a process reports `alive()`; `TunnelKeeper` watches it from a daemon thread
and reopens it when it dies, handing the new URL to the share (widget link and QR follow).
Nothing here may hang the kernel: every wait has a deadline, binary downloads included.

Modules: base.py (the Tunnel interface, TunnelError), direct.py (none, --public-url), ngrok.py,
cloudflared.py, choose.py (auto, make_tunnel), keeper.py (health check, TunnelKeeper).
"""

from .base import Tunnel, TunnelError
from .choose import PROVIDERS, AutoTunnel, make_tunnel, uses_process
from .cloudflared import CloudflaredTunnel
from .direct import NoTunnel, PublicUrl
from .keeper import TunnelKeeper, check_reachable
from .ngrok import NgrokTunnel

__all__ = [
    "PROVIDERS",
    "AutoTunnel",
    "CloudflaredTunnel",
    "NgrokTunnel",
    "NoTunnel",
    "PublicUrl",
    "Tunnel",
    "TunnelError",
    "TunnelKeeper",
    "check_reachable",
    "make_tunnel",
    "uses_process",
]
