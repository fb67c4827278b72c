"""Autorelay: the node executes every message whose destination has imported its root.

supersim's convention: a devnet relays messages itself unless told not to (`atlasdev up
--no-autorelay`; then `atlasdev msg relay` or any client sending the `relay` call that
`atlasdev_getMessage` returns). For each chain the relayer looks at the messages sent to it;
once one reaches the "imported" stage it submits the messenger's `relayMessage` with the
message's proof, signed by dev account #9 (funded on every chain at genesis), like any relayer
paying gas. The destination's STF checks the proof; a relay that loses a race with a user's
(the message was executed meanwhile) just fails with "already executed".
"""

from __future__ import annotations

import logging

from eth_account import Account
from eth_utils import to_checksum_address

from ..accounts import dev_accounts
from ..chain import BASE_FEE_WEI, Chain
from ..chain_worker import ChainWorker
from ..store import Store
from ..zkos.system import MESSENGER_ADDRESS
from .messages import status

RELAYER_INDEX = 9
TIP_WEI = 1_000_000_000
GAS_MARGIN = 20_000  # over the simulated gas: the witness may differ by the block it lands in

log = logging.getLogger("atlasdev.relayer")


class Relayer(ChainWorker):
    name = "relayer"
    idle_s = 0.5

    def __init__(self, store: Store, chains: dict[int, Chain]) -> None:
        super().__init__(list(chains))
        self.store = store
        self.chains = chains
        self.account = dev_accounts()[RELAYER_INDEX]
        self.done: set[bytes] = set()  # messages relayed here or seen executed

    def step(self, chain_id: int) -> bool:
        """Relay every message for ``chain_id`` that has become relayable."""
        worked = False
        for m in self.store.messages_to(chain_id):
            if m.hash in self.done:
                continue
            found = status(self.store, m.hash)
            if found.stage == "executed":
                self.done.add(m.hash)
                continue
            relay = found.relay()
            if found.stage != "imported" or relay is None:
                continue
            chain = self.chains[chain_id]
            try:
                tx_hash = chain.submit(self._signed(chain, relay.calldata()))
            except Exception as exc:  # the mempool's or the signer's refusal: try again later
                log.warning("relay of message 0x%s… refused: %s", m.hash.hex()[:16], exc)
                continue
            self.done.add(m.hash)
            log.info("relayed message 0x%s… in tx 0x%s…", m.hash.hex()[:16], tx_hash.hex()[:16])
            worked = True
        return worked

    def _signed(self, chain: Chain, data: bytes) -> bytes:
        sender = self.account.address
        gas = chain.call(sender, MESSENGER_ADDRESS, data, 0).gas_used + GAS_MARGIN
        fields = {
            "type": 2,
            "chainId": chain.chain_id,
            "nonce": chain.pending_nonce(sender),
            "to": to_checksum_address(MESSENGER_ADDRESS),
            "value": 0,
            "data": data,
            "gas": gas,
            "maxFeePerGas": 2 * BASE_FEE_WEI + TIP_WEI,
            "maxPriorityFeePerGas": TIP_WEI,
        }
        return bytes(Account.sign_transaction(fields, self.account.private_key).raw_transaction)
