"""The node driven by web3.py and eth-account, clients nobody here wrote."""

import json
import urllib.request

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.zkos.system import MESSENGER_ADDRESS, ORACLE_ADDRESS, STABLECOIN_ADDRESS

ERC20_ABI = json.loads("""[
 {"name":"transfer","type":"function","stateMutability":"nonpayable","inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]},
 {"name":"mint","type":"function","stateMutability":"nonpayable","inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]},
 {"name":"balanceOf","type":"function","stateMutability":"view","inputs":[{"name":"a","type":"address"}],"outputs":[{"name":"","type":"uint256"}]},
 {"name":"totalSupply","type":"function","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
 {"name":"decimals","type":"function","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint8"}]},
 {"name":"symbol","type":"function","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"string"}]},
 {"name":"name","type":"function","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"string"}]},
 {"name":"Transfer","type":"event","anonymous":false,"inputs":[{"indexed":true,"name":"from","type":"address"},{"indexed":true,"name":"to","type":"address"},{"indexed":false,"name":"value","type":"uint256"}]}
]""")
ORACLE_ABI = json.loads("""[
 {"name":"setPrice","type":"function","stateMutability":"nonpayable","inputs":[{"name":"feed","type":"bytes32"},{"name":"price","type":"uint256"}],"outputs":[]},
 {"name":"getPrice","type":"function","stateMutability":"view","inputs":[{"name":"feed","type":"bytes32"}],"outputs":[{"name":"","type":"uint256"}]}
]""")
MESSENGER_ABI = json.loads("""[
 {"name":"sendMessage","type":"function","stateMutability":"payable","inputs":[{"name":"destChainId","type":"uint256"},{"name":"to","type":"address"},{"name":"data","type":"bytes"}],"outputs":[{"name":"","type":"bytes32"}]},
 {"name":"messageCount","type":"function","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]}
]""")

DEV = dev_accounts()


@pytest.fixture(scope="module")
def w3(node) -> Web3:
    port = node.profile.chains[0].rpc_port
    return Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))


def rpc(w3: Web3, body: bytes | str) -> object:
    url = w3.provider.endpoint_uri
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def send(w3: Web3, acct_index: int, tx: dict) -> dict:
    acct = Account.from_key(DEV[acct_index].private_key)
    fields = {
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 100_000,
        "value": 0,
        **tx,
    }
    signed = acct.sign_transaction(fields)
    h = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.05)


def test_chain_basics(w3: Web3) -> None:
    assert w3.eth.chain_id == 271
    assert w3.net.version == "271"
    assert w3.client_version.startswith("atlasdev/")
    assert [a.lower() for a in w3.eth.accounts] == ["0x" + a.address.hex() for a in DEV]
    assert w3.eth.get_balance(DEV[9].checksum_address) >= 9_999 * 10**18
    assert w3.eth.gas_price > 0 and w3.eth.max_priority_fee > 0
    hist = w3.eth.fee_history(4, "latest", [50])
    assert len(hist["baseFeePerGas"]) == len(hist["gasUsedRatio"]) + 1


def test_eth_transfer_legacy_and_1559(w3: Web3) -> None:
    to = Web3.to_checksum_address("0x00000000000000000000000000000000000beef1")
    before = w3.eth.get_balance(DEV[1].checksum_address)
    r1 = send(w3, 1, {"to": to, "value": 10**18, "gas": 21_000})
    acct = Account.from_key(DEV[1].private_key)
    legacy = acct.sign_transaction(
        {
            "to": to,
            "value": 5,
            "gas": 21_000,
            "gasPrice": 2 * 10**9,
            "chainId": 271,
            "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        }
    )
    r2 = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(legacy.raw_transaction), timeout=30, poll_latency=0.05
    )
    assert r1.status == 1 and r2.status == 1
    assert w3.eth.get_balance(to) == 10**18 + 5
    fees = r1.gasUsed * r1.effectiveGasPrice + r2.gasUsed * r2.effectiveGasPrice
    assert w3.eth.get_balance(DEV[1].checksum_address) == before - 10**18 - 5 - fees
    tx = w3.eth.get_transaction(r1.transactionHash)
    assert tx["from"] == DEV[1].checksum_address and tx["value"] == 10**18 and tx["type"] == 2
    block = w3.eth.get_block(r1.blockNumber, full_transactions=True)
    assert r1.transactionHash in [t["hash"] for t in block.transactions]
    assert w3.eth.get_block(block.hash).number == block.number
    # historical balance at the block before the transfer
    assert w3.eth.get_balance(to, r1.blockNumber - 1) == 0


def test_stablecoin_through_contract_api(w3: Web3) -> None:
    token = w3.eth.contract(address=Web3.to_checksum_address(STABLECOIN_ADDRESS), abi=ERC20_ABI)
    assert token.functions.symbol().call() == "aUSD"
    assert token.functions.decimals().call() == 18
    supply = token.functions.totalSupply().call()
    holder = Web3.to_checksum_address("0x00000000000000000000000000000000000c0ffe")
    data = token.functions.transfer(holder, 12345).build_transaction(
        {"from": DEV[2].checksum_address, "gas": 100_000}
    )["data"]
    r = send(w3, 2, {"to": token.address, "data": data})
    assert r.status == 1
    assert token.functions.balanceOf(holder).call() == 12345
    (ev,) = token.events.Transfer().process_receipt(r)
    assert ev.args["from"] == DEV[2].checksum_address and ev.args.to == holder
    assert ev.args.value == 12345
    logs = w3.eth.get_logs(
        {"fromBlock": r.blockNumber, "toBlock": r.blockNumber, "address": token.address}
    )
    assert [lg["transactionHash"] for lg in logs] == [r.transactionHash]
    mint = token.functions.mint(holder, 5).build_transaction(
        {"from": DEV[2].checksum_address, "gas": 100_000}
    )["data"]
    assert send(w3, 2, {"to": token.address, "data": mint}).status == 1
    assert token.functions.totalSupply().call() == supply + 5
    # eth_sendTransaction with an unlocked dev account, as on anvil
    h = token.functions.transfer(holder, 1).transact({"from": DEV[3].checksum_address})
    assert w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.05).status == 1
    assert token.functions.balanceOf(holder).call() == 12351


def test_failing_transaction_gets_status_0_with_reason(w3: Web3) -> None:
    token = w3.eth.contract(address=Web3.to_checksum_address(STABLECOIN_ADDRESS), abi=ERC20_ABI)
    poor = Account.create()
    w3.provider.make_request("anvil_setBalance", [poor.address, hex(10**18)])
    data = token.functions.transfer(DEV[0].checksum_address, 1).build_transaction(
        {"from": poor.address, "gas": 100_000}
    )["data"]
    signed = poor.sign_transaction(
        {
            "to": token.address,
            "data": data,
            "gas": 100_000,
            "maxFeePerGas": 3 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": 0,
            "chainId": 271,
            "value": 0,
        }
    )
    r = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30, poll_latency=0.05
    )
    assert r.status == 0
    assert r["revertReason"] == "ERC20: transfer amount exceeds balance"
    assert w3.eth.get_transaction_count(poor.address) == 1
    with pytest.raises(ContractLogicError, match="exceeds balance"):
        token.functions.transfer(DEV[0].checksum_address, 1).call({"from": poor.address})
    with pytest.raises(ContractLogicError, match="not a minter"):
        token.functions.mint(poor.address, 1).call({"from": poor.address})


def test_oracle_and_messages(w3: Web3) -> None:
    oracle = w3.eth.contract(address=Web3.to_checksum_address(ORACLE_ADDRESS), abi=ORACLE_ABI)
    feed = b"ETH/USD".ljust(32, b"\0")
    data = oracle.functions.setPrice(feed, 3_000 * 10**8).build_transaction(
        {"from": DEV[4].checksum_address, "gas": 100_000}
    )["data"]
    assert send(w3, 4, {"to": oracle.address, "data": data}).status == 1
    assert oracle.functions.getPrice(feed).call() == 3_000 * 10**8

    messenger = w3.eth.contract(
        address=Web3.to_checksum_address(MESSENGER_ADDRESS), abi=MESSENGER_ABI
    )
    before = w3.eth.get_balance(DEV[5].checksum_address)
    data = messenger.functions.sendMessage(
        272, DEV[6].checksum_address, b"hello"
    ).build_transaction({"from": DEV[5].checksum_address, "gas": 200_000, "value": 7})["data"]
    r = send(w3, 5, {"to": messenger.address, "data": data, "value": 7, "gas": 200_000})
    assert r.status == 1 and r["messageHash"]
    assert len(r.logs) == 1 and r.logs[0]["topics"][1] == (272).to_bytes(32, "big")
    spent = before - w3.eth.get_balance(DEV[5].checksum_address)
    assert spent == 7 + r.gasUsed * r.effectiveGasPrice
    assert messenger.functions.messageCount().call() >= 1
    block = w3.eth.get_block(r.blockNumber)
    assert block["messageRoot"] != "0x" + "00" * 32


def test_batch_requests(w3: Web3) -> None:
    answer = rpc(
        w3,
        json.dumps(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
                {"jsonrpc": "2.0", "id": 3, "method": "no_such_method", "params": []},
            ]
        ),
    )
    assert isinstance(answer, list) and [a["id"] for a in answer] == [1, 2, 3]
    assert answer[0]["result"] == "0x10f"
    assert answer[2]["error"]["code"] == -32601


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ("{not json", -32700, "parse error"),
        ("[]", -32600, "empty batch"),
        (
            '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xzz","latest"]}',
            -32602,
            "hex",
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xf8"]}',
            -32602,
            "decode",
        ),
        ('{"jsonrpc":"2.0","id":1,"method":"eth_nope","params":[]}', -32601, "does not exist"),
        ('{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}', -32602, "parameters"),
    ],
)
def test_bad_input_gets_error_objects(w3: Web3, body: str, code: int, fragment: str) -> None:
    answer = rpc(w3, body)
    assert answer["error"]["code"] == code, answer
    assert fragment in answer["error"]["message"]
    assert w3.eth.block_number >= 0  # still healthy


def _signed(w3: Web3, **overrides) -> bytes:
    acct = Account.from_key(DEV[7].private_key)
    fields = {
        "to": DEV[8].checksum_address,
        "value": 1,
        "gas": 21_000,
        "chainId": 271,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        **overrides,
    }
    return bytes(acct.sign_transaction(fields).raw_transaction)


def test_transaction_rejections(w3: Web3) -> None:
    with pytest.raises(Web3RPCError, match="invalid chain id"):
        w3.eth.send_raw_transaction(_signed(w3, chainId=999))
    send(w3, 7, {"to": DEV[8].checksum_address, "value": 1, "gas": 21_000})
    with pytest.raises(Web3RPCError, match="nonce too low"):
        w3.eth.send_raw_transaction(_signed(w3, nonce=0))
    with pytest.raises(Web3RPCError, match="insufficient funds"):
        w3.eth.send_raw_transaction(_signed(w3, value=10**30))
    with pytest.raises(Web3RPCError, match="intrinsic gas too low"):
        w3.eth.send_raw_transaction(_signed(w3, gas=20_000))
    assert w3.eth.block_number >= 1


def test_dev_methods(w3: Web3) -> None:
    addr = Account.create().address
    w3.provider.make_request("anvil_setBalance", [addr, hex(123)])
    assert w3.eth.get_balance(addr) == 123
    before = w3.eth.block_number
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.block_number > before
    assert w3.eth.estimate_gas({"from": DEV[0].checksum_address, "to": addr, "value": 1}) == 21000
