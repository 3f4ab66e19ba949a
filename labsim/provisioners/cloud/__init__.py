"""The lab code for cloud labs (bouquet2): servers at their providers (`hetzner`), the tailnet (`tailnet`), the DNS
records (`dns`), Talos on the cloud servers (`talos`), the ingress (`ingress`), the round-robin failover watcher
(`watcher`), clients on the internet (`clients`) and backups to S3 (`backup`). Everything goes through the
providers' own clients, which the target hands in (`context.CloudContext`): hcloud, cloudflare, plain HTTP for
Tailscale, boto3, dnspython, the kubernetes client, talosctl and helm.
"""
