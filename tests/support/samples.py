"""The real sample frames from docs/kis-protocol.md, shared by codec and normalizer tests, and
lines of the bond master file in its fixed-width layout."""

from __future__ import annotations

ORDER_BOOK_SAMPLE = (
    "0|H0BJASP0|001|KR103502GD31^131743^3.012^3.020^10575.00^10560.00^416090^323813^3.011^"
    "3.022^10576.00^10556.00^405284^57^3.010^3.022^10578.00^10555.00^177098^500000^3.009^"
    "3.024^10580.00^10551.00^97637^363079^3.001^3.025^10597.00^10550.00^80000^379920^"
    "1698609^4112382"
)

TRADE_SAMPLE = (
    "0|H0BJCNT0|001|KR103502GD31^국고03250-5303(23-2)^131743^2^5.00^0.05^10575.00^1^10525.00^"
    "10578.00^10525.00^0.00^3.012^3.037^3.010^3.037^6594124^9874082^2"
)

ACK_SAMPLE = (
    '{"header": {"tr_id": "H0BJASP0", "tr_key": "KR103502GD31", "encrypt": "N"}, '
    '"body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS", '
    '"output": {"iv": "0123456789abcdef", "key": "0123456789abcdef0123456789abcdef"}}}'
)


def master_line(isin: str, name: str, maturity: str = "20531210") -> str:
    """A line of the bond master file (bond_code.mst), as KIS lays it out."""
    # [0:2] type, [2:4] class, [4:16] ISIN, name, [-26:-24] interest class, 3 dates
    return f"0101{isin}{name}  01{'20230310'}{'20230310'}{maturity}"


REST_BOOK_SAMPLE = (
    '{"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다.", "output": '
    '{"aspr_acpt_hour": "095958", "bond_askp1": "10575.00", "bond_askp2": "10576.00", '
    '"bond_askp3": "10578.00", "bond_askp4": "10580.00", "bond_askp5": "10597.00", '
    '"bond_bidp1": "10560.00", "bond_bidp2": "10556.00", "bond_bidp3": "10555.00", '
    '"bond_bidp4": "10551.00", "bond_bidp5": "10550.00", "askp_rsqn1": "416090", '
    '"askp_rsqn2": "405284", "askp_rsqn3": "177098", "askp_rsqn4": "97637", '
    '"askp_rsqn5": "80000", "bidp_rsqn1": "323813", "bidp_rsqn2": "57", '
    '"bidp_rsqn3": "500000", "bidp_rsqn4": "363079", "bidp_rsqn5": "379920", '
    '"total_askp_rsqn": "1698609", "total_bidp_rsqn": "4112382", "ntby_aspr_rsqn": "2413773", '
    '"seln_ernn_rate1": "3.012", "seln_ernn_rate2": "3.011", "seln_ernn_rate3": "3.010", '
    '"seln_ernn_rate4": "3.009", "seln_ernn_rate5": "3.001", "shnu_ernn_rate1": "3.020", '
    '"shnu_ernn_rate2": "3.022", "shnu_ernn_rate3": "3.022", "shnu_ernn_rate4": "3.024", '
    '"shnu_ernn_rate5": "3.025"}}'
)
"""A book snapshot answer (장내채권현재가(호가)) as the simulator renders it: the order book
sample's levels at 09:59:58; docs/kis-protocol.md, "The REST book snapshot"."""

REST_REFUSED_SAMPLE = '{"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}'
