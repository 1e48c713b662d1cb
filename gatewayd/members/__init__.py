"""Members and loyalty (会员): registration and lookup, tiers, points, stored value, coupons.

    config.py   the `[members]` TOML table (tiers, points, top-up bonus, coupons, rewards)
    core.py     pure rules: mask_phone, code kinds, tier_for, points_for, topup_bonus
    ledger.py   every write, as functions over an open store transaction (Tx): the sale
                service's hooks call them inside the sale's own transaction
    service.py  MemberService: indexed lookups, views (phones masked), async writes
    checkout.py the members' part in a sale (MemberParticipant: completion, void, refund,
                pricing, stored value and points tenders) and MemberCheckout (sale.member,
                sale.coupon, member scans). The methods are gatewayd/api/members.py

Tables: store/sql/0006_members.sql. Design notes:

* Points and stored value are projections (`members.points`, `members.balance`) of the
  journal's `member.points` / `member.balance` events, each with delta, before and after;
  CHECK constraints and the ledger keep both >= 0. `ledger.replay` rebuilds them from the
  journal alone (the crash test compares the two).
* Stored value and points are taken as tenders at tender time (like a card charge) and
  given back if the sale is voided; points are earned at completion, in the completing
  transaction, on what was paid outside excluded categories and outside points/voucher
  tenders, x the tier's multiplier; a refund reverses them in proportion, and is refused
  (nothing changed) if the member has already spent them.
* Points expire by lots (`points_expire_days`, FIFO), swept on every spend/earn and by
  `members.recompute`.
* Tiers follow the spend of the last `tier_window_days` (refunds count negative): recomputed
  after every member sale/refund (upgrade or downgrade) and for everyone by
  `members.recompute` (run it daily: spend ages out of the window without any sale).
* Birthday benefit: on the member's first visit (sale.member) in their birthday month of a
  year, the `birthday_coupon` is issued once for that year.
* Referral: a member registered with `referrer` gives the referrer `referral_points` (and
  itself an optional `referral_coupon`) on its first completed purchase; not reversed by a
  later refund.
* Phones: the journal, events, sale wire, receipt and display carry `mask_phone` only; the
  full phone is in `members` and in the member's own view (member.get by phone, or for a
  supervisor).
"""

from gatewayd.members.core import mask_phone
from gatewayd.members.service import MemberService

__all__ = ["MemberService", "mask_phone"]
