"""Layer 2: public links: ngrok, cloudflared, a reverse proxy, none."""
