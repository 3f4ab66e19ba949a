"""The fake command-line tools behind `labsim/fakes/bin/*`: argv parsed like the real tool, the lab reached through
the control API (`labsim/fakes/control.py`) or, for helm, the cluster's Kubernetes API, output printed as the real
tool prints it. Stdlib and PyYAML only, so a tool starts fast."""
