"""labsim-dnswatch: keeps a round-robin DNS name at Cloudflare equal to the Kubernetes workers whose ingress answers.

bouquet2's owners designed "a Deployment that watches over Ingress resources" which removes the DNS record of a node
that "has failed to provide resources (unstable/down)"; this is that Deployment. See README.md ("The round-robin
DNS failover watcher") for deploying it and its settings.
"""
__version__ = "0.1.0"
