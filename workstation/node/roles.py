"""The roles of the node's accounts (apart, so the command line names them without
opening the accounts' database machinery)."""

ROLES = ("physician", "observer")
#: Who may acknowledge a critical result: a physician takes responsibility for it.
ACKNOWLEDGING_ROLES = frozenset({"physician"})
