"""The simulated MikroTik RouterOS device: API wire server (codec, login, queries) and menu engine."""
