"""The VLAN fabric: layer-2 intent (from the lab file) and the neutral model and trace shared with the
fabric verifier (which builds the same model from what the devices report)."""

# labsim.provisioners.lab imports its checks lazily, so this import is cheap and cannot meet a half-initialised
# package; it stays so that `import labsim.provisioners.fabric.<x>` always has the lab package ready.
import labsim.provisioners.lab  # noqa: F401
