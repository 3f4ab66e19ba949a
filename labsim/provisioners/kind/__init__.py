"""The kind tier: the mesh's clusters as local kind clusters with Cilium ClusterMesh, for the cluster and
mesh features on real Kubernetes where Docker is available (`make kind-verify`). Configs: `config`;
the run: `python -m labsim.provisioners.kind verify LABFILE` (`run`)."""
