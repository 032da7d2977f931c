"""Side effects done once: claim, do the effect, record it done (:mod:`.ledger`).

The ledger is the one mechanism behind every email, topic message and post on a network:
what is due is kept in the table (:mod:`.ledger_store`) and a scheduled sweep finishes it.
"""
