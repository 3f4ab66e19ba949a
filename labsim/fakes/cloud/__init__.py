"""The clouds of a simulated lab: the providers' APIs (Hetzner Cloud, Cloudflare, Tailscale, an S3 endpoint), the
servers they run with Talos on them, the internet and the tailnet between them, and the zone's nameserver.

    world.py       the cloud world: servers, public addresses, firewalls, the tailnet overlay, DNS zone, reachability
    machine.py     a cloud server as the Talos layer sees it (disks, memory, its boot image and user data)
    hetzner.py     the Hetzner Cloud API (hcloud)           cloudflare.py  the Cloudflare API v4 (cloudflare)
    tailscale.py   the Tailscale API (devices, keys)        s3.py          moto's S3 server (boto3)
    nameserver.py  the zone's authoritative DNS over UDP    ingress.py     each node's public HTTPS (Traefik)
    pods.py        the failover watcher's real code as the process of a simulated pod
    http.py        the HTTPS server the API faces share
"""
