"""The gateway: verifies every chain's block proofs in order and records what they attest.

`checks.py` is what the gateway requires of one block proof (pure: proof bytes and expectations
in, the attested public values or a rejection with its reason out); `service.py` is the node's
gateway thread that applies those checks to each chain's proofs as the prover stores them.
Interop roots, message routing, Prividium and settlement (issue 6) build on the verified heads.
"""
