"""Layer 2: public links, how people outside this machine reach the share server.

Each provider turns the local server (`http://127.0.0.1:PORT`) into a public base URL (no trailing
slash; it may carry a path prefix: the page only uses relative URLs). Providers:

- `none`: the server's own address (loopback, or this machine's LAN address with `--host 0.0.0.0`);
- `url` (`--public-url URL`): a reverse proxy the user runs (jupyter-server-proxy, nginx, a
  company gateway); `{port}` in the URL is replaced by the server's port;
- `ngrok`: pyngrok, token from `NGROK_AUTHTOKEN` or the ngrok config file;
- `cloudflared`: a quick tunnel (no account) through a `cloudflared` binary; when none is
  installed, a pinned release is downloaded and checked against its pinned SHA-256 first
  (download.py);
- `auto`: ngrok when a token is there, else cloudflared when it starts, else `none` with a note
  and the next step toward a public link.

While a tunnel opens it reports each step to a `progress` callback (base.py `Progress`), which
the widget and the CLI show.

A provider that runs a process reports `alive()`; `TunnelKeeper` watches it from a daemon thread
and reopens it when it dies, handing the new URL to the share (widget link and QR follow).
Nothing here may hang the kernel: every wait has a deadline, binary downloads included.

Modules: base.py (the Tunnel interface, TunnelError, Progress), direct.py (none, --public-url,
reach: who can open a link), ngrok.py (and its token), cloudflared.py, download.py (the pinned
cloudflared release), choose.py (auto, make_tunnel), keeper.py (health check, TunnelKeeper).
"""

from .base import Progress, Tunnel, TunnelError, quiet
from .choose import PROVIDERS, AutoTunnel, make_tunnel, uses_process
from .cloudflared import CloudflaredTunnel
from .direct import NoTunnel, PublicUrl, reach
from .keeper import TunnelKeeper, check_reachable
from .ngrok import NgrokTunnel, masked, save_token

__all__ = [
    "PROVIDERS",
    "AutoTunnel",
    "CloudflaredTunnel",
    "NgrokTunnel",
    "NoTunnel",
    "Progress",
    "PublicUrl",
    "Tunnel",
    "TunnelError",
    "TunnelKeeper",
    "check_reachable",
    "make_tunnel",
    "masked",
    "quiet",
    "reach",
    "save_token",
    "uses_process",
]
