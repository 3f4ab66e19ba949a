"""``python -m labsim.signoff verify BUNDLE [--allowed-signers FILE]``

Recomputes every checksum in BUNDLE/SHA256SUMS and names each file that is modified, missing or extra; when
the bundle is signed (SHA256SUMS.sig), verifies the signature with ``ssh-keygen -Y verify``. Exit 0 only when
all is well, 1 when anything is wrong, 2 on a usage error.

Trust: without --allowed-signers the signature is checked against the public key the bundle itself carries,
which proves integrity only (the files are as signed), not identity (who signed). Pin a key you trust with
--allowed-signers FILE to prove identity.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .verify import verify


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labsim.signoff", description="Lab sign-off bundle tools.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="check a bundle's checksums and signature",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("bundle", type=Path, help="the bundle directory DIR/<run-id>")
    v.add_argument("--allowed-signers", type=Path, default=None,
                   help="ssh allowed_signers file with the key(s) you trust; requires a valid signature")
    args = ap.parse_args(argv)
    if args.cmd == "verify":
        if args.allowed_signers is not None and not args.allowed_signers.is_file():
            print(f"--allowed-signers {args.allowed_signers}: no such file", file=sys.stderr)
            return 2
        res = verify(args.bundle, args.allowed_signers)
        for line in res.lines():
            print(line)
        if res.ok:
            print(f"VERIFIED: {args.bundle} ({res.checked} files match SHA256SUMS; signature {res.signature})")
            return 0
        print(f"FAILED: {args.bundle}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
